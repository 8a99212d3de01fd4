/* probe_mechanism.c: the init x L2 x Adam mechanism metrics (run_names.h's
 * probe_mechanism_metric): each kernel split into data and padding-only
 * taps with the L2 penalty of each part, the data taps' effective and
 * angular step and the share of coordinates where L2 outweighs the data
 * gradient; and per BatchNorm layer how far the training batch statistics
 * are from the moving statistics inference uses. */
#include "kernel_taps.h"
#include "probe_session.h"

#include <math.h>
#include <stdlib.h>

static void add(probe_session *ps, int layer_index, probe_mechanism_metric metric, double value)
{
    step_record_add_metric(ps->current, layer_index, probe_mechanism_names[metric], value);
}

/* The taps of parameter p's kernel: a Conv3D's from its geometry, a Dense
 * kernel as one tap of data; 0 for anything else. */
static size_t kernel_tap_count(const model *m, const parameter *p)
{
    const layer *l = &m->layers[p->layer];
    if (!p->regularized) return 0;
    if (l->kind == LAYER_DENSE) return 1;
    if (l->kind != LAYER_CONV3D) return 0;
    size_t taps = (size_t)l->conv.kernel[0] * (size_t)l->conv.kernel[1] * (size_t)l->conv.kernel[2];
    return taps <= KERNEL_TAPS_MAX ? taps : 0;
}

int probe_split_kernel_taps(probe_session *ps, parameter_step_stats *stats, error *err)
{
    const model *m = ps->m;
    if (!stats) return 0;
    free(ps->tap_masks);
    ps->tap_masks = calloc((size_t)m->param_count, KERNEL_TAPS_MAX);
    if (!ps->tap_masks) return error_set(err, "out of memory for the kernels' tap split");
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        size_t taps = kernel_tap_count(m, p);
        unsigned char *mask = ps->tap_masks + (size_t)i * KERNEL_TAPS_MAX;
        stats[i].taps.is_data = NULL;
        if (taps == 0) continue;
        if (taps == 1) mask[0] = 1;
        else kernel_taps_split(&m->layers[p->layer].conv, mask);
        stats[i].taps.is_data = mask;
        stats[i].taps.per_tap = p->value.count / taps;
    }
    return 0;
}

void probe_kernel_taps(probe_session *ps, const parameter *p, const parameter_step_stats *s)
{
    size_t taps = kernel_tap_count(ps->m, p);
    if (taps == 0 || !s->taps.is_data) return;
    const double lambda = ps->config.l2;
    kernel_tap_metrics k;
    kernel_taps_finish(&s->taps, taps, 2.0 * lambda, &k);
    add(ps, p->layer, PROBE_MECH_DATA_NORM, sqrt(k.data_sum_squares));
    add(ps, p->layer, PROBE_MECH_DATA_L2_PENALTY, lambda * k.data_sum_squares);
    if (k.padding_taps > 0) {
        add(ps, p->layer, PROBE_MECH_PADDING_NORM, sqrt(k.padding_sum_squares));
        add(ps, p->layer, PROBE_MECH_PADDING_L2_PENALTY, lambda * k.padding_sum_squares);
    }
    add(ps, p->layer, PROBE_MECH_DATA_UPDATE_RATIO, k.data_update_ratio);
    add(ps, p->layer, PROBE_MECH_DATA_ANGLE, k.data_angle);
    add(ps, p->layer, PROBE_MECH_DATA_L2_GRAD_RATIO, k.data_l2_grad_ratio);
    add(ps, p->layer, PROBE_MECH_L2_DOMINANT_FRACTION, k.l2_dominant_fraction);
}

void probe_batchnorm_gap(probe_session *ps, int layer_index)
{
    const layer *l = &ps->m->layers[layer_index];
    const int channels = l->output.shape[l->output.rank - 1];
    const float *moving_mean = ps->m->params[l->first_param + 2].value.data;
    const float *moving_var = ps->m->params[l->first_param + 3].value.data;
    const batchnorm_batch *b = &l->batch_stats;
    double max_ratio = 0.0, min_ratio = INFINITY, max_shift = 0.0;
    for (int c = 0; c < channels; c++) {
        double mv = fmax((double)moving_var[c], 1e-30), shift = (double)b->mean[c] - moving_mean[c];
        double ratio = b->variance[c] / mv;
        max_ratio = fmax(max_ratio, ratio);
        min_ratio = fmin(min_ratio, ratio);
        max_shift = fmax(max_shift, shift * shift / mv);
    }
    add(ps, layer_index, PROBE_MECH_BN_MAX_VAR_RATIO, max_ratio);
    add(ps, layer_index, PROBE_MECH_BN_MIN_VAR_RATIO, min_ratio);
    add(ps, layer_index, PROBE_MECH_BN_MAX_MEAN_SHIFT, max_shift);
}
