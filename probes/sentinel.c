/* sentinel.c: naming the first non-finite value of a run (see sentinel.h). */
#include "sentinel.h"

#include <stdio.h>
#include <string.h>

#include "finite.h"

void sentinel_init(sentinel *st, const model *m)
{
    memset(st, 0, sizeof *st);
    st->m = m;
}

void sentinel_locate(sentinel *st, long step, int epoch, const long *sample_ids, int batch)
{
    st->step = step;
    st->epoch = epoch;
    st->sample_ids = sample_ids;
    st->batch = batch;
}

/* Splits a flat index into the axes of the tensor it came from.  Layer
 * outputs are (N, D, H, W, C) or (N, F); conv kernels (kd, kh, kw, Cin,
 * Cout) report the taps as d, h, w and Cout as the channel. */
static void locate_element(nonfinite_event *e, long long index, int rank, const int *shape, int is_activation)
{
    e->sample = e->d = e->h = e->w = e->channel = -1;
    long long rest = index;
    int coords[TENSOR_MAX_RANK] = {0};
    for (int a = rank - 1; a >= 0; a--) {
        coords[a] = (int)(rest % shape[a]);
        rest /= shape[a];
    }
    if (is_activation) {
        e->sample = coords[0];
        if (rank == 5) {
            e->d = coords[1];
            e->h = coords[2];
            e->w = coords[3];
        }
        e->channel = coords[rank - 1];
    } else if (rank == 5) {
        e->d = coords[0];
        e->h = coords[1];
        e->w = coords[2];
        e->channel = coords[4];
    } else {
        e->channel = coords[rank - 1];
    }
}

/* v is the first non-finite element: never finite. */
static value_class value_class_of(float v)
{
    switch (float_class(v)) {
    case FLOAT_POSITIVE_INF: return VALUE_POSITIVE_INF;
    case FLOAT_NEGATIVE_INF: return VALUE_NEGATIVE_INF;
    default: return VALUE_NAN;
    }
}

static const char *const pass_phrases[] = {
    [PASS_INPUT] = "the input batch",
    [PASS_FORWARD] = "the forward pass",
    [PASS_MOVING_STATISTICS] = "the moving-statistics update",
    [PASS_LOSS] = "the loss",
    [PASS_BACKWARD] = "the backward pass",
    [PASS_OPTIMIZER_STATE] = "Adam's state update",
    [PASS_UPDATE] = "the weight update",
    [PASS_VALIDATION] = "validation",
    [PASS_LOADED] = "the loaded checkpoint",
};
_Static_assert(sizeof pass_phrases / sizeof pass_phrases[0] == PASS_COUNT, "one phrase per probe_pass");

static const char *pass_phrase(probe_pass pass)
{
    return pass_phrases[pass];
}

/* Records the first non-finite value of the run when s has one.  data is the
 * tensor (for the bad element's value), is_activation says whether axis 0
 * is the batch, inputs_finite whether everything it was computed from was. */
static void describe_event(const sentinel *st, nonfinite_event *e, const tensor_stats *s, const float *data,
                           int layer_index, probe_pass pass, const char *tensor_name, int rank, const int *shape,
                           int is_activation, int inputs_finite)
{
    memset(e, 0, sizeof *e);
    const layer *l = &st->m->layers[layer_index];
    e->step = st->step;
    e->epoch = st->epoch;
    e->layer = layer_index;
    e->pass = pass;
    snprintf(e->tensor, sizeof e->tensor, "%s", tensor_name);
    e->element = s->first_nonfinite;
    e->value_class = value_class_of(data[s->first_nonfinite]);
    locate_element(e, s->first_nonfinite, rank, shape, is_activation);
    e->sample_id = -1;
    if (e->sample >= 0 && st->sample_ids && e->sample < st->batch) e->sample_id = st->sample_ids[e->sample];
    e->is_origin = inputs_finite;

    char where[160] = "";
    if (is_activation && rank == 5)
        snprintf(where, sizeof where, " at sample %d (clip %ld), d=%d h=%d w=%d channel %d", e->sample, e->sample_id,
                 e->d, e->h, e->w, e->channel);
    else if (is_activation)
        snprintf(where, sizeof where, " at sample %d (clip %ld), unit %d", e->sample, e->sample_id, e->channel);
    else if (rank == 5)
        snprintf(where, sizeof where, " at kernel tap d=%d h=%d w=%d, filter %d (element %lld)", e->d, e->h, e->w,
                 e->channel, e->element);
    else
        snprintf(where, sizeof where, " at element %lld", e->element);
    int nonfinite = (int)stats_nonfinite(s);
    snprintf(e->message, sizeof e->message,
             "step %ld (epoch %d): first non-finite value (%s) in %s, %s of %s (%s)%s; %d of %lld values non-finite; %s",
             e->step, e->epoch, value_class_names[e->value_class], pass_phrase(pass), tensor_name, l->name, l->path,
             where, nonfinite, (long long)s->count,
             inputs_finite ? "every input of this tensor was finite, so it originated here"
                           : "some input of this tensor was already non-finite, so it propagated here");
}

void sentinel_check(sentinel *st, const tensor_stats *s, const float *data, int layer_index, probe_pass pass,
                    const char *tensor_name, int rank, const int *shape, int is_activation, int inputs_finite)
{
    if (stats_nonfinite(s) == 0) return;
    if (st->absorb_backward && pass == PASS_BACKWARD) {
        if (!st->has_absorbed)
            describe_event(st, &st->absorbed, s, data, layer_index, pass, tensor_name, rank, shape, is_activation,
                           inputs_finite);
        st->has_absorbed = 1;
        return;
    }
    st->step_nonfinite = 1;
    if (st->has_first) return;
    describe_event(st, &st->first, s, data, layer_index, pass, tensor_name, rank, shape, is_activation,
                   inputs_finite);
    st->has_first = 1;
    st->first_this_step = 1;
}
