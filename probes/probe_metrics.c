/* probe_metrics.c: the derived metrics the probes record beside each
 * tensor's statistics: BatchNorm's batch statistics and their risk ratios,
 * how saturated the output is, and per parameter the update/weight ratio,
 * Adam's step size and moments and the L2 share of the gradient. */
#include "probe_session.h"

#include <math.h>

void probe_batchnorm(probe_session *ps, int layer_index, int inputs_ok)
{
    const layer *l = &ps->m->layers[layer_index];
    const int channels = l->output.shape[l->output.rank - 1];
    const parameter *gamma = &ps->m->params[l->first_param];
    const parameter *moving_mean = &ps->m->params[l->first_param + 2];
    const parameter *moving_var = &ps->m->params[l->first_param + 3];
    const batchnorm_batch *b = &l->batch_stats;
    const int shape[1] = {channels};
    tensor_stats mean_stats, var_stats, mm_stats, mv_stats;
    stats_compute(b->mean, (size_t)channels, &mean_stats);
    stats_compute(b->variance, (size_t)channels, &var_stats);
    sentinel_check(&ps->sentinel, &mean_stats, b->mean, layer_index, PASS_FORWARD,
                   probe_tensor_names[PROBE_TENSOR_BATCH_MEAN], 1, shape, 0, inputs_ok);
    sentinel_check(&ps->sentinel, &var_stats, b->variance, layer_index, PASS_FORWARD,
                   probe_tensor_names[PROBE_TENSOR_BATCH_VARIANCE], 1, shape, 0, inputs_ok);
    int batch_ok = stats_nonfinite(&mean_stats) == 0 && stats_nonfinite(&var_stats) == 0;
    int moving_before_ok = ps->value_ok[l->first_param + 2] && ps->value_ok[l->first_param + 3];
    stats_compute(moving_mean->value.data, (size_t)channels, &mm_stats);
    stats_compute(moving_var->value.data, (size_t)channels, &mv_stats);
    sentinel_check(&ps->sentinel, &mm_stats, moving_mean->value.data, layer_index, PASS_MOVING_STATISTICS,
                   probe_param_names[PROBE_PARAM_VALUE][PARAM_MOVING_MEAN], 1, shape, 0,
                   batch_ok && moving_before_ok);
    sentinel_check(&ps->sentinel, &mv_stats, moving_var->value.data, layer_index, PASS_MOVING_STATISTICS,
                   probe_param_names[PROBE_PARAM_VALUE][PARAM_MOVING_VARIANCE], 1, shape, 0,
                   batch_ok && moving_before_ok);
    ps->value_ok[l->first_param + 2] = stats_nonfinite(&mm_stats) == 0;
    ps->value_ok[l->first_param + 3] = stats_nonfinite(&mv_stats) == 0;
    if (!batch_ok) ps->forward_ok[layer_index] = 0;
    step_record_add_stats(ps->current, layer_index, probe_tensor_names[PROBE_TENSOR_BATCH_MEAN], &mean_stats);
    step_record_add_stats(ps->current, layer_index, probe_tensor_names[PROBE_TENSOR_BATCH_VARIANCE], &var_stats);
    step_record_add_stats(ps->current, layer_index, probe_param_names[PROBE_PARAM_VALUE][PARAM_MOVING_MEAN],
                          &mm_stats);
    step_record_add_stats(ps->current, layer_index, probe_param_names[PROBE_PARAM_VALUE][PARAM_MOVING_VARIANCE],
                          &mv_stats);

    double min_var = INFINITY, max_var = -INFINITY, max_ratio = 0.0, max_gain = 0.0;
    for (int c = 0; c < channels; c++) {
        double var = b->variance[c], mean = b->mean[c];
        min_var = fmin(min_var, var);
        max_var = fmax(max_var, var);
        /* mean^2/var: how many digits a one-pass E[x^2]-E[x]^2 would lose. */
        max_ratio = fmax(max_ratio, mean * mean / fmax(var, 1e-30));
        max_gain = fmax(max_gain, fabs((double)gamma->value.data[c]) / sqrt(var + BATCHNORM_EPSILON));
    }
    step_record_add_metric(ps->current, layer_index, probe_metric_names[PROBE_METRIC_BN_MIN_VARIANCE], min_var);
    step_record_add_metric(ps->current, layer_index, probe_metric_names[PROBE_METRIC_BN_MAX_VARIANCE], max_var);
    step_record_add_metric(ps->current, layer_index, probe_metric_names[PROBE_METRIC_BN_MAX_MEAN2_OVER_VAR],
                           max_ratio);
    step_record_add_metric(ps->current, layer_index, probe_metric_names[PROBE_METRIC_BN_MAX_GAMMA_OVER_STD],
                           max_gain);
    step_record_add_metric(ps->current, layer_index, probe_metric_names[PROBE_METRIC_BN_COUNT],
                           (double)(l->output.count / (size_t)channels));
    probe_batchnorm_gap(ps, layer_index);
}

/* How saturated the output is: the largest predicted probability. */
void probe_output_saturation(probe_session *ps, const float *logits)
{
    const int classes = ps->m->config.classes, logits_layer = ps->m->logits_layer;
    double largest = 0.0, mean_largest = 0.0;
    for (int n = 0; n < ps->batch; n++) {
        const float *z = logits + (size_t)n * classes;
        double p;
        if (classes == 1) {
            p = 1.0 / (1.0 + exp(-fabs((double)z[0])));
        } else {
            double top = z[0], sum = 0.0;
            for (int k = 1; k < classes; k++) top = fmax(top, z[k]);
            for (int k = 0; k < classes; k++) sum += exp((double)z[k] - top);
            p = 1.0 / sum;
        }
        largest = fmax(largest, p);
        mean_largest += p / ps->batch;
    }
    step_record_add_metric(ps->current, logits_layer, probe_metric_names[PROBE_METRIC_MAX_PROBABILITY], largest);
    step_record_add_metric(ps->current, logits_layer, probe_metric_names[PROBE_METRIC_MEAN_MAX_PROBABILITY],
                           mean_largest);
}

/* One trainable parameter after the optimizer: its five tensors and the
 * metrics derived from them. */
void probe_parameter_metrics(probe_session *ps, const parameter *p, const parameter_step_stats *s)
{
    step_record *r = ps->current;
    const int role = p->role, owner = p->layer;
    step_record_add_stats(r, owner, probe_param_names[PROBE_PARAM_VALUE][role], &s->value);
    step_record_add_stats(r, owner, probe_param_names[PROBE_PARAM_GRAD][role], &s->gradient);
    step_record_add_stats(r, owner, probe_param_names[PROBE_PARAM_UPDATE][role], &s->update);
    step_record_add_stats(r, owner, probe_param_names[PROBE_PARAM_ADAM_M][role], &s->adam_m);
    step_record_add_stats(r, owner, probe_param_names[PROBE_PARAM_ADAM_V][role], &s->adam_v);
    double norm = stats_l2norm(&s->value);
    step_record_add_metric(r, owner, probe_param_names[PROBE_PARAM_UPDATE_RATIO][role],
                           norm > 0 ? stats_l2norm(&s->update) / norm : NAN);
    step_record_add_metric(r, owner, probe_param_names[PROBE_PARAM_STEP_SIZE][role], s->step_size);
    step_record_add_metric(r, owner, probe_param_names[PROBE_PARAM_MIN_SQRT_V][role],
                           sqrt(fmax((double)s->adam_v.min, 0.0)));
    step_record_add_metric(r, owner, probe_param_names[PROBE_PARAM_MAX_RATIO][role], s->max_ratio);
    if (p->regularized) {
        /* The penalty's gradient 2*lambda*w, against the data gradient. */
        double l2_norm = 2.0 * ps->config.l2 * sqrt(s->old_sum_squares);
        double data_norm = stats_l2norm(&s->gradient);
        step_record_add_metric(r, owner, probe_metric_names[PROBE_METRIC_L2_GRAD_NORM], l2_norm);
        step_record_add_metric(r, owner, probe_metric_names[PROBE_METRIC_L2_GRAD_RATIO],
                               data_norm > 0 ? l2_norm / data_norm : NAN);
        probe_kernel_taps(ps, p, s);
    }
}
