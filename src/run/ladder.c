/* ladder.c: the precision ladder (see ladder.h). */
#include "ladder.h"

#include <stdio.h>
#include <stdlib.h>

#include "finite.h"
#include "model_precision.h"

enum { SLOT_OUTPUT, SLOT_BATCH_VARIANCE, SLOT_MOVING_VARIANCE, SLOT_OUTPUT_GRAD, SLOT_KERNEL_GRAD, SLOT_COUNT };
static const char *const slot_names[] = {"output", "batch_variance", "moving_variance", "output_grad", "kernel.grad"};
_Static_assert(sizeof slot_names / sizeof slot_names[0] == SLOT_COUNT, "one name per watched slot");

typedef struct watch {
    model *m;
    ladder_rung *rung;
    unsigned char *zero_in_float32; /* [layer][slot]: 1 when float32's tensor was all zero */
    int is_float32, first_bad_in_backward;
} watch;

static void look_at(watch *w, int layer_index, int slot, const real *x, size_t n, int backward)
{
    if (!x || n == 0) return;
    ladder_rung *r = w->rung;
    size_t zeros = 0, first_bad = n;
    for (size_t i = 0; i < n; i++) {
        zeros += x[i] == 0.0f;
        if (first_bad == n && !float_is_finite(x[i])) first_bad = i;
    }
    unsigned char *zero32 = &w->zero_in_float32[layer_index * SLOT_COUNT + slot];
    if (w->is_float32) *zero32 = zeros == n;
    else if (zeros == n && !*zero32 && r->lost_layer < 0) {
        r->lost_layer = layer_index;
        snprintf(r->lost_tensor, sizeof r->lost_tensor, "%s", slot_names[slot]);
    }
    if (first_bad == n) return;
    if (r->bad_layer >= 0) return;
    w->first_bad_in_backward = backward;
    r->bad_layer = layer_index;
    snprintf(r->bad_tensor, sizeof r->bad_tensor, "%s", slot_names[slot]);
    int c = float_class(x[first_bad]);
    r->bad_value = c == FLOAT_POSITIVE_INF   ? VALUE_POSITIVE_INF
                   : c == FLOAT_NEGATIVE_INF ? VALUE_NEGATIVE_INF
                                             : VALUE_NAN;
}

static void watch_hook(void *context, int index, model_event event)
{
    watch *w = context;
    const layer *l = &w->m->layers[index];
    if (event == MODEL_AFTER_FORWARD && l->kind == LAYER_BATCHNORM) {
        /* before the output: a variance past FLT_MAX leaves a finite output (1/sqrt(inf) = 0) */
        const int channels = l->output.shape[l->output.rank - 1];
        look_at(w, index, SLOT_BATCH_VARIANCE, l->batch_stats.variance, (size_t)channels, 0);
        look_at(w, index, SLOT_MOVING_VARIANCE, w->m->params[l->first_param + 3].value.data, (size_t)channels, 0);
    }
    if (event == MODEL_AFTER_FORWARD) look_at(w, index, SLOT_OUTPUT, l->output.data, l->output.count, 0);
    if (event == MODEL_BEFORE_BACKWARD)
        look_at(w, index, SLOT_OUTPUT_GRAD, l->output_gradient, l->output.count, 1);
    if (event == MODEL_AFTER_BACKWARD && (l->kind == LAYER_CONV3D || l->kind == LAYER_DENSE)) {
        const parameter *k = &w->m->params[l->first_param];
        look_at(w, index, SLOT_KERNEL_GRAD, k->gradient, k->value.count, 1);
    }
}

static void describe(const model *m, ladder_rung *r)
{
    char bad[200] = "every value stayed finite", lost[200] = "";
    if (r->bad_layer >= 0)
        snprintf(bad, sizeof bad, "first non-finite (%s): %s of %s (%s)", value_class_names[r->bad_value],
                 r->bad_tensor, m->layers[r->bad_layer].name, m->layers[r->bad_layer].path);
    if (r->lost_layer >= 0)
        snprintf(lost, sizeof lost, "; all digits lost first in %s of %s (%s)", r->lost_tensor,
                 m->layers[r->lost_layer].name, m->layers[r->lost_layer].path);
    snprintf(r->message, sizeof r->message, "%s: %s; %s%s", precision_names[r->precision],
             r->failed ? "fails" : r->skipped ? "skipped by the loss scale (no NaN reaches the weights)" : "holds",
             bad, lost);
}

/* One rung: the step from `start` in precision p. */
static int run_rung(replay_session *s, long step, const snapshot *start, watch *w, ladder_rung *r, float loss_scale,
                    error *err)
{
    memset(r, 0, sizeof *r);
    r->bad_layer = r->lost_layer = -1;
    r->loss_scale = precision_scales_loss(w->m->precision) ? loss_scale : 0.0f;
    r->precision = w->m->precision;
    w->rung = r;
    w->first_bad_in_backward = 0;
    snapshot_restore(start, s->m, s->state);
    s->m->hook = watch_hook;
    s->m->hook_context = w;
    replay_batch b;
    int rc = s->stepper->run_step(s->stepper->context, step, NULL, NULL, &b, err);
    s->m->hook = NULL;
    if (rc) return -1;
    r->loss = b.loss;
    r->skipped = r->loss_scale > 0 && r->bad_layer >= 0 && w->first_bad_in_backward && float_is_finite((float)b.loss);
    r->failed = !r->skipped && (r->bad_layer >= 0 || !float_is_finite((float)b.loss));
    describe(s->m, r);
    return 0;
}

int ladder_run(replay_session *s, long step, const precision_kind *precisions, int count, float loss_scale,
               ladder_rung *rungs, error *err)
{
    model *m = s->m;
    const precision_kind run_precision = m->precision;
    model_hook hook = m->hook;
    void *hook_context = m->hook_context;
    snapshot before, start;
    memset(&before, 0, sizeof before);
    memset(&start, 0, sizeof start);
    watch w = {.m = m, .zero_in_float32 = calloc((size_t)m->layer_count * SLOT_COUNT, 1)};
    int n = 0, rc = !w.zero_in_float32 ? error_set(err, "out of memory for the precision ladder") : 0;
    if (rc == 0) rc = snapshot_init(&before, m, err) || snapshot_init(&start, m, err);
    if (rc == 0) {
        snapshot_take(&before, m, s->state);
        rc = replay_fast_forward(s, step, err);
    }
    if (rc == 0) snapshot_take(&start, m, s->state);
    precision_kind order[LADDER_MAX_RUNGS] = {PRECISION_FLOAT32};
    int wanted = 1;
    for (int i = 0; i < count && wanted < LADDER_MAX_RUNGS; i++)
        if (precisions[i] != PRECISION_FLOAT32 && precisions[i] < PRECISION_FLOAT64) order[wanted++] = precisions[i];
    for (int i = 0; rc == 0 && i < wanted; i++) {
        w.is_float32 = order[i] == PRECISION_FLOAT32;
        rc = model_set_precision(m, order[i], err) || run_rung(s, step, &start, &w, &rungs[n], loss_scale, err);
        if (rc == 0) n++;
    }
    error ignored;
    model_set_precision(m, run_precision, &ignored);
    if (before.weights) snapshot_restore(&before, m, s->state);
    snapshot_free(&before);
    snapshot_free(&start);
    free(w.zero_in_float32);
    m->hook = hook;
    m->hook_context = hook_context;
    return rc ? -1 : n;
}
