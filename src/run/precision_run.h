/* precision_run.h: a training step under an emulated precision (train
 * --precision, --bn-variance): the loss scale around backward, and the
 * events the run records (skipped steps, loss-scale changes, one-pass
 * BatchNorm variances that cancelled).  train.c calls these only when the
 * precision or the variance is not the default. */
#ifndef NANPROBE_PRECISION_RUN_H
#define NANPROBE_PRECISION_RUN_H

#include <stddef.h>

#include "loss_scale.h"
#include "model.h"
#include "probe.h"

typedef struct precision_step {
    float scale;       /* the loss scale this step used; 0: none */
    int skipped;       /* non-finite gradients: no update */
    loss_scale_change change;
    char message[900]; /* the event's text when skipped or changed */
} precision_step;

/* After the loss gradient, before model_backward (ps NULL: no probes, as in a replay). */
void precision_before_backward(model *m, probe_session *ps, const loss_scale *ls, precision_step *st);
/* After model_backward: decides the update (unscaling the gradients when
 * it goes ahead) and moves the loss scale.  Returns whether to update. */
int precision_after_backward(model *m, probe_session *ps, loss_scale *ls, long step, precision_step *st);
/* One-pass BatchNorm variances of the last forward: an event text when any
 * went negative (returns 1), naming the count and the first layer. */
int precision_bn_variance_message(const model *m, long step, char *out, size_t size);

#endif
