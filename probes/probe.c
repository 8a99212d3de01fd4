/* probe.c: per-step statistics of every tensor, the sentinel, the ring of
 * recent steps, and fault injection at the hook points (see probe.h). */
#include "probe.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite.h"
#include "loss.h"
#include "stats.h"

/* Tensor and metric names are static strings: the database binds them
 * without copying, and a record of a thousand rows stores pointers only. */
static const char *const value_names[] = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"};
static const char *const gradient_names[] = {"kernel.grad", "bias.grad", "gamma.grad", "beta.grad"};
static const char *const update_names[] = {"kernel.update", "bias.update", "gamma.update", "beta.update"};
static const char *const adam_m_names[] = {"kernel.adam_m", "bias.adam_m", "gamma.adam_m", "beta.adam_m"};
static const char *const adam_v_names[] = {"kernel.adam_v", "bias.adam_v", "gamma.adam_v", "beta.adam_v"};
static const char *const update_ratio_names[] = {"kernel.update_ratio", "bias.update_ratio", "gamma.update_ratio",
                                                 "beta.update_ratio"};
static const char *const step_size_names[] = {"kernel.adam_step_size", "bias.adam_step_size",
                                              "gamma.adam_step_size", "beta.adam_step_size"};
static const char *const min_sqrt_v_names[] = {"kernel.adam_min_sqrt_v", "bias.adam_min_sqrt_v",
                                               "gamma.adam_min_sqrt_v", "beta.adam_min_sqrt_v"};
static const char *const max_ratio_names[] = {"kernel.adam_max_ratio", "bias.adam_max_ratio",
                                              "gamma.adam_max_ratio", "beta.adam_max_ratio"};

static const char *const pass_names[] = {"input",    "forward",         "moving_statistics", "loss",
                                         "backward", "optimizer_state", "update",            "validation"};

const char *probe_pass_name(probe_pass pass)
{
    return pass_names[pass];
}

typedef struct stats_row {
    int layer;
    const char *tensor;
    tensor_stats stats;
} stats_row;

typedef struct metric_row {
    int layer;
    const char *metric;
    double value;
} metric_row;

typedef struct input_row {
    long sample_id;
    int label;
    tensor_stats stats;
} input_row;

/* Everything one step measured, kept until it is written. */
typedef struct step_record {
    long step;
    int pending; /* measured but not yet written */
    stats_row *stats;
    int stats_count;
    metric_row *metrics;
    int metric_count;
    input_row *inputs;
    int input_count;
} step_record;

/* Events of the current step, written with it. */
#define MAX_STEP_EVENTS 16

struct probe_session {
    model *m;
    db_writer *db;
    probe_config config;
    int stats_capacity, metric_capacity;
    step_record *ring;
    int ring_size;
    step_record *current;

    long step;
    int epoch;
    const long *sample_ids;
    const int *labels;
    int batch;
    int validating;

    /* Sentinel bookkeeping: which tensors of this step are finite so far. */
    char *forward_ok;  /* per layer: its output (and BN statistics) */
    char *gradient_ok; /* per layer: the gradient reaching its output */
    char *value_ok;    /* per parameter: its value, carried across steps */
    char *moments_ok;  /* per parameter: Adam m and v, carried across steps */
    int *consumers;    /* per layer, up to 4 consuming layers (-1 = none) */
    int forward_all_ok, loss_ok;
    nonfinite_event first;
    int has_first, first_this_step, step_nonfinite;

    event_row events[MAX_STEP_EVENTS];
    char event_messages[MAX_STEP_EVENTS][640];
    int event_count;

    double seconds, db_seconds;
};

/* ------------------------------------------------------------ recording */

static void record_stats(probe_session *ps, int layer_index, const char *tensor_name, const tensor_stats *s)
{
    step_record *r = ps->current;
    if (!r || r->stats_count >= ps->stats_capacity) return;
    stats_row *row = &r->stats[r->stats_count++];
    row->layer = layer_index;
    row->tensor = tensor_name;
    row->stats = *s;
}

static void record_metric(probe_session *ps, int layer_index, const char *metric, double value)
{
    step_record *r = ps->current;
    if (!r || r->metric_count >= ps->metric_capacity) return;
    metric_row *row = &r->metrics[r->metric_count++];
    row->layer = layer_index;
    row->metric = metric;
    row->value = value;
}

static event_row *add_event(probe_session *ps, const char *kind, int layer_index)
{
    if (ps->event_count >= MAX_STEP_EVENTS) return NULL;
    event_row *e = &ps->events[ps->event_count];
    memset(e, 0, sizeof *e);
    e->message = ps->event_messages[ps->event_count];
    ps->event_count++;
    const layer *l = layer_index >= 0 ? &ps->m->layers[layer_index] : NULL;
    e->step = ps->step;
    e->epoch = ps->epoch;
    e->kind = kind;
    e->layer = layer_index;
    e->layer_name = l ? l->name : NULL;
    e->layer_path = l ? l->path : NULL;
    e->element_index = e->sample = e->d = e->h = e->w = e->channel = -1;
    e->sample_id = -1;
    e->is_origin = -1;
    e->old_value = e->new_value = NAN;
    return e;
}

/* ------------------------------------------------------------- sentinel */

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

static const char *value_class_of(float v)
{
    switch (float_class(v)) {
    case FLOAT_NAN: return "nan";
    case FLOAT_POSITIVE_INF: return "+inf";
    case FLOAT_NEGATIVE_INF: return "-inf";
    default: return "finite";
    }
}

static const char *pass_phrase(probe_pass pass)
{
    static const char *const phrases[] = {
        "the input batch",        "the forward pass",    "the moving-statistics update", "the loss",
        "the backward pass",      "Adam's state update", "the weight update",            "validation",
    };
    return phrases[pass];
}

/* Records the first non-finite value of the run when s has one.  data is the
 * tensor (for the bad element's value), is_activation says whether axis 0
 * is the batch, inputs_finite whether everything it was computed from was. */
static void sentinel_check(probe_session *ps, const tensor_stats *s, const float *data, int layer_index,
                           probe_pass pass, const char *tensor_name, int rank, const int *shape, int is_activation,
                           int inputs_finite)
{
    if (stats_nonfinite(s) == 0) return;
    ps->step_nonfinite = 1;
    if (ps->has_first) return;
    nonfinite_event *e = &ps->first;
    memset(e, 0, sizeof *e);
    const layer *l = &ps->m->layers[layer_index];
    e->step = ps->step;
    e->epoch = ps->epoch;
    e->layer = layer_index;
    e->pass = pass;
    snprintf(e->tensor, sizeof e->tensor, "%s", tensor_name);
    e->element = s->first_nonfinite;
    e->value_class = value_class_of(data[s->first_nonfinite]);
    locate_element(e, s->first_nonfinite, rank, shape, is_activation);
    e->sample_id = -1;
    if (e->sample >= 0 && ps->sample_ids && e->sample < ps->batch) e->sample_id = ps->sample_ids[e->sample];
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
             e->step, e->epoch, e->value_class, pass_phrase(pass), tensor_name, l->name, l->path, where, nonfinite,
             (long long)s->count,
             inputs_finite ? "every input of this tensor was finite, so it originated here"
                           : "some input of this tensor was already non-finite, so it propagated here");
    ps->has_first = 1;
    ps->first_this_step = 1;
}

static int layer_params_ok(const probe_session *ps, int layer_index)
{
    const layer *l = &ps->m->layers[layer_index];
    for (int k = 0; k < l->param_count; k++)
        if (!ps->value_ok[l->first_param + k]) return 0;
    return 1;
}

static int layer_inputs_ok(const probe_session *ps, int layer_index)
{
    const layer *l = &ps->m->layers[layer_index];
    for (int k = 0; k < l->input_count; k++)
        if (!ps->forward_ok[l->inputs[k]]) return 0;
    return 1;
}

/* ------------------------------------------------------------ injection */

static void note_injection(probe_session *ps, const injection *inj, const char *what)
{
    event_row *e = add_event(ps, "injection", inj->layer);
    if (!e) return;
    e->old_value = inj->kind == INJECT_SCALE_WEIGHTS ? inj->factor : NAN;
    snprintf((char *)e->message, sizeof ps->event_messages[0], "injected %s (--inject %s)", what, inj->spec);
}

static void inject_value(probe_session *ps, injection_kind kind, int layer_index, float *data, const tensor *shape_of,
                         float value)
{
    for (int i = 0; i < ps->config.injection_count; i++) {
        const injection *inj = &ps->config.injections[i];
        if (inj->kind != kind || inj->step != ps->step || inj->layer != layer_index) continue;
        long long element = injection_element(inj, shape_of->rank, shape_of->shape);
        data[element] = value;
        char what[96];
        snprintf(what, sizeof what, "%s into element %lld of %s", value != value ? "NaN" : "+Inf", element,
                 ps->m->layers[layer_index].name);
        note_injection(ps, inj, what);
    }
}

static void inject_weight_scaling(probe_session *ps)
{
    for (int i = 0; i < ps->config.injection_count; i++) {
        const injection *inj = &ps->config.injections[i];
        if (inj->kind != INJECT_SCALE_WEIGHTS || inj->step != ps->step) continue;
        const layer *l = &ps->m->layers[inj->layer];
        parameter *p = &ps->m->params[l->first_param];
        for (size_t j = 0; j < p->value.count; j++) p->value.data[j] = (float)(p->value.data[j] * inj->factor);
        char what[96];
        snprintf(what, sizeof what, "a factor of %g on %s", inj->factor, p->name);
        note_injection(ps, inj, what);
        /* The scaled weights are a tensor of this step like any other. */
        tensor_stats s;
        stats_compute(p->value.data, p->value.count, &s);
        ps->value_ok[l->first_param] = stats_nonfinite(&s) == 0;
        sentinel_check(ps, &s, p->value.data, inj->layer, PASS_UPDATE, value_names[p->role], p->value.rank,
                       p->value.shape, 0, 1);
    }
}

/* ----------------------------------------------------------------- hooks */

static void probe_batchnorm(probe_session *ps, int layer_index, int inputs_ok)
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
    sentinel_check(ps, &mean_stats, b->mean, layer_index, PASS_FORWARD, "batch_mean", 1, shape, 0, inputs_ok);
    sentinel_check(ps, &var_stats, b->variance, layer_index, PASS_FORWARD, "batch_variance", 1, shape, 0, inputs_ok);
    int batch_ok = stats_nonfinite(&mean_stats) == 0 && stats_nonfinite(&var_stats) == 0;
    int moving_before_ok = ps->value_ok[l->first_param + 2] && ps->value_ok[l->first_param + 3];
    stats_compute(moving_mean->value.data, (size_t)channels, &mm_stats);
    stats_compute(moving_var->value.data, (size_t)channels, &mv_stats);
    sentinel_check(ps, &mm_stats, moving_mean->value.data, layer_index, PASS_MOVING_STATISTICS, "moving_mean", 1,
                   shape, 0, batch_ok && moving_before_ok);
    sentinel_check(ps, &mv_stats, moving_var->value.data, layer_index, PASS_MOVING_STATISTICS, "moving_variance", 1,
                   shape, 0, batch_ok && moving_before_ok);
    ps->value_ok[l->first_param + 2] = stats_nonfinite(&mm_stats) == 0;
    ps->value_ok[l->first_param + 3] = stats_nonfinite(&mv_stats) == 0;
    if (!batch_ok) ps->forward_ok[layer_index] = 0;
    record_stats(ps, layer_index, "batch_mean", &mean_stats);
    record_stats(ps, layer_index, "batch_variance", &var_stats);
    record_stats(ps, layer_index, "moving_mean", &mm_stats);
    record_stats(ps, layer_index, "moving_variance", &mv_stats);

    double min_var = INFINITY, max_var = -INFINITY, max_ratio = 0.0, max_gain = 0.0;
    for (int c = 0; c < channels; c++) {
        double var = b->variance[c], mean = b->mean[c];
        min_var = fmin(min_var, var);
        max_var = fmax(max_var, var);
        /* mean^2/var: how many digits a one-pass E[x^2]-E[x]^2 would lose. */
        max_ratio = fmax(max_ratio, mean * mean / fmax(var, 1e-30));
        max_gain = fmax(max_gain, fabs((double)gamma->value.data[c]) / sqrt(var + BATCHNORM_EPSILON));
    }
    record_metric(ps, layer_index, "bn.min_variance", min_var);
    record_metric(ps, layer_index, "bn.max_variance", max_var);
    record_metric(ps, layer_index, "bn.max_mean2_over_var", max_ratio);
    record_metric(ps, layer_index, "bn.max_gamma_over_std", max_gain);
    record_metric(ps, layer_index, "bn.count", (double)(l->output.count / (size_t)channels));
}

static void after_forward(probe_session *ps, int layer_index)
{
    layer *l = &ps->m->layers[layer_index];
    if (layer_index == 0) return; /* probed in probe_step_begin / probe_validation_begin */
    if (!ps->validating) inject_value(ps, INJECT_INF_FORWARD, layer_index, l->output.data, &l->output, INFINITY);
    int inputs_ok = layer_inputs_ok(ps, layer_index) && layer_params_ok(ps, layer_index);
    ps->forward_ok[layer_index] = 1;
    if (l->kind == LAYER_BATCHNORM && !ps->validating) probe_batchnorm(ps, layer_index, inputs_ok);
    tensor_stats s;
    stats_compute(l->output.data, l->output.count, &s);
    sentinel_check(ps, &s, l->output.data, layer_index, ps->validating ? PASS_VALIDATION : PASS_FORWARD, "output",
                   l->output.rank, l->output.shape, 1, inputs_ok && ps->forward_ok[layer_index]);
    if (stats_nonfinite(&s)) {
        ps->forward_ok[layer_index] = 0;
        ps->forward_all_ok = 0;
    }
    if (!ps->validating) record_stats(ps, layer_index, "output", &s);
}

/* Conv and Dense compute their parameter gradients in the same backward
 * call as the input gradient.  Their statistics come later, fused into the
 * optimizer pass; but when an input gradient turns out non-finite, the
 * parameter gradients of the layers that produced it came first in
 * execution order, so they are looked at now. */
static void check_consumer_gradients(probe_session *ps, int layer_index)
{
    for (int k = 0; k < 4; k++) {
        int consumer = ps->consumers[layer_index * 4 + k];
        if (consumer < 0) break;
        const layer *c = &ps->m->layers[consumer];
        for (int q = 0; q < c->param_count; q++) {
            const parameter *p = &ps->m->params[c->first_param + q];
            if (!p->trainable) continue;
            tensor_stats s;
            stats_compute(p->gradient, p->value.count, &s);
            sentinel_check(ps, &s, p->gradient, consumer, PASS_BACKWARD, gradient_names[p->role], p->value.rank,
                           p->value.shape, 0, ps->gradient_ok[consumer] && ps->forward_all_ok);
        }
    }
}

static void before_backward(probe_session *ps, int layer_index)
{
    layer *l = &ps->m->layers[layer_index];
    inject_value(ps, INJECT_INF_BACKWARD, layer_index, l->output_gradient, &l->output, INFINITY);
    int inputs_ok = ps->forward_all_ok;
    if (layer_index == ps->m->logits_layer) {
        inputs_ok = inputs_ok && ps->loss_ok;
    } else {
        for (int k = 0; k < 4; k++) {
            int consumer = ps->consumers[layer_index * 4 + k];
            if (consumer >= 0 && !ps->gradient_ok[consumer]) inputs_ok = 0;
        }
    }
    tensor_stats s;
    stats_compute(l->output_gradient, l->output.count, &s);
    if (stats_nonfinite(&s) && !ps->has_first) check_consumer_gradients(ps, layer_index);
    sentinel_check(ps, &s, l->output_gradient, layer_index, PASS_BACKWARD, "output_grad", l->output.rank,
                   l->output.shape, 1, inputs_ok);
    ps->gradient_ok[layer_index] = stats_nonfinite(&s) == 0;
    record_stats(ps, layer_index, "output_grad", &s);
}

static void probe_hook(void *context, int layer_index, model_event event)
{
    probe_session *ps = context;
    double start = omp_get_wtime();
    if (event == MODEL_AFTER_FORWARD) after_forward(ps, layer_index);
    else if (event == MODEL_BEFORE_BACKWARD) before_backward(ps, layer_index);
    ps->seconds += omp_get_wtime() - start;
}

/* Without statistics the hooks still apply injections, so the drill works
 * with probes off too (only the loss check will see it). */
static void injection_only_hook(void *context, int layer_index, model_event event)
{
    probe_session *ps = context;
    layer *l = &ps->m->layers[layer_index];
    if (event == MODEL_AFTER_FORWARD && !ps->validating)
        inject_value(ps, INJECT_INF_FORWARD, layer_index, l->output.data, &l->output, INFINITY);
    else if (event == MODEL_BEFORE_BACKWARD)
        inject_value(ps, INJECT_INF_BACKWARD, layer_index, l->output_gradient, &l->output, INFINITY);
}

/* ----------------------------------------------------------- step begin */

static void probe_input(probe_session *ps)
{
    layer *input = &ps->m->layers[0];
    const size_t clip = input->output.count / (size_t)input->output.shape[0];
    tensor_stats whole;
    stats_clear(&whole);
    for (int n = 0; n < ps->batch; n++) {
        tensor_stats s;
        stats_clear(&s);
        stats_accumulate(&s, input->output.data + (size_t)n * clip, clip, (size_t)n * clip);
        stats_merge(&whole, &s);
        step_record *r = ps->current;
        if (r && !ps->validating && r->input_count < ps->m->config.batch) {
            input_row *row = &r->inputs[r->input_count++];
            row->sample_id = ps->sample_ids ? ps->sample_ids[n] : n;
            row->label = ps->labels ? ps->labels[n] : -1;
            row->stats = s;
        }
    }
    sentinel_check(ps, &whole, input->output.data, 0, ps->validating ? PASS_VALIDATION : PASS_INPUT, "output",
                   input->output.rank, input->output.shape, 1, 1);
    ps->forward_ok[0] = stats_nonfinite(&whole) == 0;
    if (!ps->forward_ok[0]) ps->forward_all_ok = 0;
    if (!ps->validating) record_stats(ps, 0, "output", &whole);
}

static void reset_step_flags(probe_session *ps)
{
    memset(ps->forward_ok, 1, (size_t)ps->m->layer_count);
    memset(ps->gradient_ok, 1, (size_t)ps->m->layer_count);
    ps->forward_all_ok = 1;
    ps->loss_ok = 1;
}

void probe_step_begin(probe_session *ps, long step, int epoch, const long *sample_ids, const int *labels, int batch)
{
    double start = omp_get_wtime();
    ps->step = step;
    ps->epoch = epoch;
    ps->sample_ids = sample_ids;
    ps->labels = labels;
    ps->batch = batch;
    ps->validating = 0;
    ps->event_count = 0;
    ps->step_nonfinite = 0;
    ps->first_this_step = 0;
    reset_step_flags(ps);
    if (ps->config.statistics) {
        ps->current = &ps->ring[step % ps->ring_size];
        ps->current->step = step;
        ps->current->pending = 0;
        ps->current->stats_count = ps->current->metric_count = ps->current->input_count = 0;
    }
    inject_weight_scaling(ps);
    layer *input = &ps->m->layers[0];
    inject_value(ps, INJECT_NAN_INPUT, 0, input->output.data, &input->output, NAN);
    if (ps->config.statistics) probe_input(ps);
    ps->seconds += omp_get_wtime() - start;
}

void probe_loss(probe_session *ps, double data_loss, const int *labels)
{
    const model *m = ps->m;
    const int classes = m->config.classes, logits_layer = m->logits_layer;
    const float *logits = model_logits(m);
    ps->loss_ok = isfinite(data_loss);
    if (!ps->loss_ok) {
        /* The loss is a mean: find the first sample whose own loss is bad. */
        tensor_stats s;
        stats_clear(&s);
        float per_sample[256];
        int n = ps->batch < 256 ? ps->batch : 256;
        for (int i = 0; i < n; i++)
            per_sample[i] = (float)loss_from_logits(1, classes, logits + (size_t)i * classes, labels + i, NULL).loss;
        stats_accumulate(&s, per_sample, (size_t)n, 0);
        if (stats_nonfinite(&s) == 0) { /* the mean overflowed though no sample did */
            per_sample[0] = (float)data_loss;
            stats_clear(&s);
            stats_accumulate(&s, per_sample, 1, 0);
        }
        const int shape[2] = {n, 1};
        sentinel_check(ps, &s, per_sample, logits_layer, PASS_LOSS, "loss", 2, shape, 1,
                       ps->forward_ok[logits_layer]);
    }
    if (!ps->config.statistics) return;
    /* How saturated the output is: the largest predicted probability. */
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
    record_metric(ps, logits_layer, "loss.max_probability", largest);
    record_metric(ps, logits_layer, "loss.mean_max_probability", mean_largest);
}

void probe_after_update(probe_session *ps, const parameter_step_stats *stats, long t)
{
    (void)t;
    if (!stats) return;
    double start = omp_get_wtime();
    model *m = ps->m;
    /* Parameter gradients were produced in backward order. */
    for (int i = m->param_count - 1; i >= 0; i--) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        sentinel_check(ps, &stats[i].gradient, p->gradient, p->layer, PASS_BACKWARD, gradient_names[p->role],
                       p->value.rank, p->value.shape, 0, ps->gradient_ok[p->layer] && ps->forward_all_ok);
    }
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        const parameter_step_stats *s = &stats[i];
        int gradient_ok = stats_nonfinite(&s->gradient) == 0;
        int before_ok = ps->value_ok[i] && ps->moments_ok[i];
        sentinel_check(ps, &s->adam_m, p->adam_m, p->layer, PASS_OPTIMIZER_STATE, adam_m_names[p->role],
                       p->value.rank, p->value.shape, 0, gradient_ok && before_ok);
        sentinel_check(ps, &s->adam_v, p->adam_v, p->layer, PASS_OPTIMIZER_STATE, adam_v_names[p->role],
                       p->value.rank, p->value.shape, 0, gradient_ok && before_ok);
        int moments_ok = stats_nonfinite(&s->adam_m) == 0 && stats_nonfinite(&s->adam_v) == 0;
        sentinel_check(ps, &s->value, p->value.data, p->layer, PASS_UPDATE, value_names[p->role], p->value.rank,
                       p->value.shape, 0, moments_ok && ps->value_ok[i]);
        ps->moments_ok[i] = moments_ok;
        ps->value_ok[i] = stats_nonfinite(&s->value) == 0;

        record_stats(ps, p->layer, value_names[p->role], &s->value);
        record_stats(ps, p->layer, gradient_names[p->role], &s->gradient);
        record_stats(ps, p->layer, update_names[p->role], &s->update);
        record_stats(ps, p->layer, adam_m_names[p->role], &s->adam_m);
        record_stats(ps, p->layer, adam_v_names[p->role], &s->adam_v);
        double norm = stats_l2norm(&s->value);
        record_metric(ps, p->layer, update_ratio_names[p->role], norm > 0 ? stats_l2norm(&s->update) / norm : NAN);
        record_metric(ps, p->layer, step_size_names[p->role], s->step_size);
        record_metric(ps, p->layer, min_sqrt_v_names[p->role], sqrt(fmax((double)s->adam_v.min, 0.0)));
        record_metric(ps, p->layer, max_ratio_names[p->role], s->max_ratio);
        if (p->regularized) {
            double l2_norm = 2.0 * ps->config.l2 * sqrt(s->old_sum_squares);
            double data_norm = stats_l2norm(&s->gradient);
            record_metric(ps, p->layer, "kernel.l2_grad_norm", l2_norm);
            record_metric(ps, p->layer, "kernel.l2_grad_ratio", data_norm > 0 ? l2_norm / data_norm : NAN);
        }
    }
    ps->seconds += omp_get_wtime() - start;
}

/* ------------------------------------------------------------- writing */

static int write_record(probe_session *ps, step_record *r, error *err)
{
    db_writer *db = ps->db;
    for (int i = 0; i < r->input_count; i++)
        if (db_write_input(db, r->step, i, r->inputs[i].sample_id, r->inputs[i].label, &r->inputs[i].stats, err))
            return -1;
    for (int i = 0; i < r->stats_count; i++)
        if (db_write_stats(db, r->step, r->stats[i].layer, r->stats[i].tensor, &r->stats[i].stats, err)) return -1;
    for (int i = 0; i < r->metric_count; i++)
        if (db_write_metric(db, r->step, r->metrics[i].layer, r->metrics[i].metric, r->metrics[i].value, err))
            return -1;
    r->pending = 0;
    return 0;
}

static void fill_nan_event(probe_session *ps)
{
    const nonfinite_event *f = &ps->first;
    event_row *e = add_event(ps, "nan", f->layer);
    if (!e) return;
    e->pass = probe_pass_name(f->pass);
    e->tensor = f->tensor;
    e->value_class = f->value_class;
    e->element_index = f->element;
    e->sample = f->sample;
    e->d = f->d;
    e->h = f->h;
    e->w = f->w;
    e->channel = f->channel;
    e->sample_id = f->sample_id;
    e->is_origin = f->is_origin;
    snprintf((char *)e->message, sizeof ps->event_messages[0], "%s", f->message);
}

int probe_step_end(probe_session *ps, step_row *row, error *err)
{
    if (!ps->db) return 0;
    double start = omp_get_wtime();
    if (ps->first_this_step) fill_nan_event(ps);
    /* Full statistics every K steps, at a non-finite value and after it. */
    int full = ps->config.statistics &&
               (ps->step % ps->config.probe_every == 0 || ps->step_nonfinite || ps->has_first);
    row->probed = full;
    int rc = db_writer_begin(ps->db, err);
    if (rc == 0) rc = db_write_step(ps->db, row, err);
    if (rc == 0 && full && ps->first_this_step) {
        /* The run-up: earlier steps still in the ring, oldest first. */
        for (long back = ps->ring_size - 1; back >= 1 && rc == 0; back--) {
            step_record *r = &ps->ring[(ps->step - back) % ps->ring_size];
            if (ps->step - back < 1 || !r->pending || r->step != ps->step - back) continue;
            rc = write_record(ps, r, err);
            if (rc == 0) rc = db_mark_probed(ps->db, r->step, err);
        }
    }
    if (rc == 0 && ps->config.statistics) {
        if (full) rc = write_record(ps, ps->current, err);
        else ps->current->pending = 1;
    }
    for (int i = 0; i < ps->event_count && rc == 0; i++) rc = db_write_event(ps->db, &ps->events[i], err);
    if (rc == 0) rc = db_writer_commit(ps->db, err);
    ps->event_count = 0;
    ps->db_seconds += omp_get_wtime() - start;
    return rc;
}

/* ----------------------------------------------------------- validation */

void probe_validation_begin(probe_session *ps, const long *sample_ids, int batch)
{
    ps->validating = 1;
    ps->sample_ids = sample_ids;
    ps->batch = batch;
    ps->labels = NULL;
    ps->step_nonfinite = 0;
    reset_step_flags(ps);
    if (ps->config.statistics) probe_input(ps);
}

void probe_validation_end(probe_session *ps)
{
    ps->validating = 0;
}

/* -------------------------------------------------------------- session */

const nonfinite_event *probe_first_event(const probe_session *ps)
{
    return ps->has_first ? &ps->first : NULL;
}

double probe_seconds(const probe_session *ps)
{
    return ps->seconds;
}

double probe_db_seconds(const probe_session *ps)
{
    return ps->db_seconds;
}

int probe_open(probe_session **out, model *m, db_writer *db, const probe_config *config, error *err)
{
    *out = NULL;
    probe_session *ps = calloc(1, sizeof *ps);
    if (!ps) return error_set(err, "out of memory for the probes");
    ps->m = m;
    ps->db = db;
    ps->config = *config;
    if (ps->config.probe_every < 1) ps->config.probe_every = 1;
    if (ps->config.ring_steps < 1) ps->config.ring_steps = 1;
    ps->ring_size = ps->config.probe_every > 1 ? ps->config.ring_steps + 1 : 1;

    int bn_layers = 0;
    for (int i = 0; i < m->layer_count; i++) bn_layers += m->layers[i].kind == LAYER_BATCHNORM;
    ps->stats_capacity = 2 * m->layer_count + 5 * m->param_count + 4 * bn_layers + 8;
    ps->metric_capacity = 8 * m->param_count + 6 * bn_layers + 8;

    ps->forward_ok = malloc((size_t)m->layer_count);
    ps->gradient_ok = malloc((size_t)m->layer_count);
    ps->value_ok = malloc((size_t)m->param_count);
    ps->moments_ok = malloc((size_t)m->param_count);
    ps->consumers = malloc(sizeof(int) * 4 * (size_t)m->layer_count);
    ps->ring = calloc((size_t)ps->ring_size, sizeof(step_record));
    if (!ps->forward_ok || !ps->gradient_ok || !ps->value_ok || !ps->moments_ok || !ps->consumers || !ps->ring) {
        probe_close(ps);
        return error_set(err, "out of memory for the probes");
    }
    for (int r = 0; r < ps->ring_size && ps->config.statistics; r++) {
        step_record *rec = &ps->ring[r];
        rec->stats = malloc(sizeof(stats_row) * (size_t)ps->stats_capacity);
        rec->metrics = malloc(sizeof(metric_row) * (size_t)ps->metric_capacity);
        rec->inputs = malloc(sizeof(input_row) * (size_t)m->config.batch);
        if (!rec->stats || !rec->metrics || !rec->inputs) {
            probe_close(ps);
            return error_set(err, "out of memory for the probes' ring of %d steps", ps->ring_size);
        }
    }
    for (int i = 0; i < 4 * m->layer_count; i++) ps->consumers[i] = -1;
    for (int i = 0; i < m->layer_count; i++) {
        const layer *l = &m->layers[i];
        for (int k = 0; k < l->input_count; k++) {
            int *slot = &ps->consumers[l->inputs[k] * 4];
            for (int s = 0; s < 4; s++)
                if (slot[s] < 0) {
                    slot[s] = i;
                    break;
                }
        }
    }
    /* Parameters start finite unless a resumed checkpoint says otherwise. */
    for (int i = 0; i < m->param_count; i++) {
        tensor_stats s;
        const parameter *p = &m->params[i];
        stats_compute(p->value.data, p->value.count, &s);
        ps->value_ok[i] = stats_nonfinite(&s) == 0;
        ps->moments_ok[i] = 1;
    }
    reset_step_flags(ps);
    m->hook = ps->config.statistics ? probe_hook : injection_only_hook;
    m->hook_context = ps;
    *out = ps;
    return 0;
}

void probe_close(probe_session *ps)
{
    if (!ps) return;
    if (ps->m && ps->m->hook_context == ps) {
        ps->m->hook = NULL;
        ps->m->hook_context = NULL;
    }
    for (int r = 0; ps->ring && r < ps->ring_size; r++) {
        free(ps->ring[r].stats);
        free(ps->ring[r].metrics);
        free(ps->ring[r].inputs);
    }
    free(ps->ring);
    free(ps->forward_ok);
    free(ps->gradient_ok);
    free(ps->value_ok);
    free(ps->moments_ok);
    free(ps->consumers);
    free(ps);
}
