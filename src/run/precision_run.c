/* precision_run.c: loss scaling and precision events of a training step (see precision_run.h). */
#include "precision_run.h"

#include <stdio.h>

#include "model_precision.h"

void precision_before_backward(model *m, probe_session *ps, const loss_scale *ls, precision_step *st)
{
    st->scale = precision_scales_loss(m->precision) ? ls->scale : 0.0f;
    st->skipped = 0;
    st->change = LOSS_SCALE_KEPT;
    st->message[0] = '\0';
    if (precision_storage_format(m->precision) != ROUND_NONE)
        model_precision_scale_logits_gradient(m, st->scale > 0 ? st->scale : 1.0f);
    if (ps) probe_absorb_backward(ps, st->scale > 0);
}

int precision_after_backward(model *m, probe_session *ps, loss_scale *ls, long step, precision_step *st)
{
    if (st->scale == 0) return 1;
    int finite = loss_scale_gradients_finite(m);
    if (finite) loss_scale_unscale(m, st->scale);
    st->skipped = !finite;
    st->change = loss_scale_update(ls, finite);
    const nonfinite_event *first = ps ? probe_absorbed(ps) : NULL;
    if (ps) probe_absorb_backward(ps, 0);
    if (!finite)
        snprintf(st->message, sizeof st->message,
                 "step %ld skipped: a non-finite gradient with loss scale %g (%s); loss scale %s %g",
                 step, (double)st->scale, first ? first->message : "in a parameter gradient",
                 st->change == LOSS_SCALE_HALVED ? "halved to" : "stays at its floor", (double)ls->scale);
    else if (st->change == LOSS_SCALE_GREW)
        snprintf(st->message, sizeof st->message, "step %ld: %ld finite steps in a row, loss scale doubled to %g",
                 step, ls->growth_steps, (double)ls->scale);
    return finite;
}

int precision_bn_variance_message(const model *m, long step, char *out, size_t size)
{
    int cancelled, negative, first;
    model_bn_variance_counts(m, &cancelled, &negative, &first);
    if (negative == 0) return 0;
    const layer *l = &m->layers[first];
    snprintf(out, size,
             "step %ld: the one-pass BatchNorm variance E[x^2]-E[x]^2 in float32 cancelled in %d channels and went "
             "negative in %d, first in %s (%s), down to %g",
             step, cancelled, negative, l->name, l->path, (double)l->batch_stats.most_negative);
    return 1;
}
