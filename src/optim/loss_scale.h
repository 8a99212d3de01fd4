/* loss_scale.h: Keras' dynamic loss scaling for mixed_float16.
 *
 * The numbers and rules are tf.keras 2.x's (the user's TensorFlow), in
 * /work/tf-env's tf_keras 2.21, src/mixed_precision/loss_scale_optimizer.py:
 *   - initial scale 2^15          (_DEFAULT_INITIAL_SCALE, line 320)
 *   - growth every 2000 steps     (_DEFAULT_GROWTH_STEPS, line 321)
 *     of finite gradients, by a multiplier of 2 (multiplier=2, line 666),
 *     when counter + 1 >= growth_steps (line 296), and only if the doubled
 *     scale is finite (_assign_if_finite, lines 82-88, 289-291); the
 *     counter goes back to 0;
 *   - a step with any non-finite gradient (_is_all_finite, lines 57-62) is
 *     skipped (should_apply_gradients = is_finite, line 315), the counter
 *     goes to 0 and the scale to max(scale / 2, 1) (lines 304-305);
 *   - gradients are unscaled by multiplying with 1 / scale (line 742-744).
 * Keras 3.15 (keras/src/optimizers/loss_scale_optimizer.py) has the same
 * initial scale (line 49), growth steps (line 50), doubling (lines 227-238,
 * at step_counter == growth_steps - 1, the same step) and halving (lines
 * 241-244), and divides by the scale (line 220), which for a power of two
 * is the same value; it has no floor at 1 (line 244) and no finiteness
 * check on growth: the two sequences differ only once the scale would fall
 * below 1 or grow past float32's range. */
#ifndef NANPROBE_LOSS_SCALE_H
#define NANPROBE_LOSS_SCALE_H

#include "model.h"

#define LOSS_SCALE_INITIAL 32768.0f
#define LOSS_SCALE_GROWTH_STEPS 2000
#define LOSS_SCALE_MULTIPLIER 2.0f
#define LOSS_SCALE_FLOOR 1.0f

typedef struct loss_scale {
    float scale;
    long counter;      /* finite steps since the last change */
    long growth_steps; /* LOSS_SCALE_GROWTH_STEPS unless a test shortens it */
} loss_scale;

typedef enum loss_scale_change { LOSS_SCALE_KEPT, LOSS_SCALE_GREW, LOSS_SCALE_HALVED } loss_scale_change;

void loss_scale_init(loss_scale *ls);
/* Whether every trainable parameter's gradient is finite. */
int loss_scale_gradients_finite(const model *m);
/* Every trainable gradient times 1 / scale. */
void loss_scale_unscale(model *m, float scale);
/* The scale after a step whose gradients were (not) finite. */
loss_scale_change loss_scale_update(loss_scale *ls, int finite);

#endif
