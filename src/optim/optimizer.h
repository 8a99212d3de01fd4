/* optimizer.h: one Adam step over every trainable parameter of the model,
 * with the L2 penalty's gradient folded in, and, when asked, each
 * parameter's statistics computed in the same pass over memory.
 *
 * The update touches 63.5M parameters per step of ResNet3D-34 (28 bytes
 * each: w, g, m, v read, w, m, v written), so it is memory-bound; the
 * statistics of the value, gradient, applied update, m and v are taken
 * chunk by chunk while the chunk is still in L1 and cost little on top. */
#ifndef NANPROBE_OPTIMIZER_H
#define NANPROBE_OPTIMIZER_H

#include "adam.h"
#include "model.h"
#include "stats.h"
#include "tap_sums.h"

typedef struct parameter_step_stats {
    tensor_stats value;    /* after the update */
    tensor_stats gradient; /* of the data loss, without the L2 part */
    tensor_stats update;   /* the change actually applied: new - old */
    tensor_stats adam_m, adam_v;
    double old_sum_squares; /* sum of w^2 before the update */
    float max_ratio;        /* max |m| / (sqrt(v) + eps) */
    float step_size;        /* alpha */
    tap_sums taps;          /* kernels the probes split into data/padding taps (issue 23) */
} parameter_step_stats;

/* Updates every trainable parameter (L2 lambda on the regularized ones) for
 * step t >= 1.  stats, when not NULL, has one entry per model parameter
 * (entries of non-trainable ones are left alone).  Returns the sum of w^2
 * over regularized kernels after the update, so the next step's penalty
 * lambda * sum(w^2) needs no extra pass. */
double optimizer_step(model *m, const adam_config *c, float learning_rate, long t, float lambda,
                      parameter_step_stats *stats);

#endif
