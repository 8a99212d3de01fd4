/* probe_mechanism.c: the init x L2 x Adam mechanism metrics (probe_names.h's
 * probe_mechanism_metric): each kernel split into data and padding-only
 * taps with the L2 penalty of each part, the data taps' effective and
 * angular step and the share of coordinates where L2 outweighs the data
 * gradient; and per BatchNorm layer how far the training batch statistics
 * are from the moving statistics inference uses. */
#include "kernel_taps.h"
#include "probe_session.h"

#include <math.h>

static void add(probe_session *ps, int layer_index, probe_mechanism_metric metric, double value)
{
    step_record_add_metric(ps->current, layer_index, probe_mechanism_names[metric], value);
}

void probe_kernel_taps(probe_session *ps, const parameter *p, const parameter_step_stats *s)
{
    const layer *l = &ps->m->layers[p->layer];
    unsigned char tap_is_data[KERNEL_TAPS_MAX];
    size_t taps = 1;
    if (l->kind == LAYER_CONV3D) {
        taps = (size_t)l->conv.kernel[0] * (size_t)l->conv.kernel[1] * (size_t)l->conv.kernel[2];
        if (kernel_taps_split(&l->conv, tap_is_data) < 0) return;
    } else if (l->kind != LAYER_DENSE) {
        return;
    }
    const double lambda = ps->config.l2;
    kernel_tap_metrics k;
    kernel_taps_measure(p->value.data, p->gradient, p->adam_m, p->adam_v, taps, p->value.count / taps,
                        l->kind == LAYER_CONV3D ? tap_is_data : NULL, s->step_size, ps->config.adam_epsilon > 0 ? ps->config.adam_epsilon : ADAM_KERAS_DEFAULTS.epsilon,
                        2.0f * (float)lambda, &k);
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
