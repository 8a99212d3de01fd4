/* probe.c: the probe session (see probe.h): its steps (begin, loss, after
 * the optimizer, end with the database write), validation and events.  The
 * hooks, the metrics, the injection glue, the sentinel and the ring live in
 * their own files (probe_session.h lists them). */
#include "probe_session.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"

event_row *probe_add_event(probe_session *ps, event_kind kind, int layer_index)
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
    sentinel_locate(&ps->sentinel, step, epoch, sample_ids, batch);
    ps->sentinel.step_nonfinite = 0;
    ps->sentinel.first_this_step = 0;
    reset_step_flags(ps);
    if (ps->config.statistics) ps->current = probe_ring_start(&ps->ring, step);
    probe_inject_weight_scaling(ps);
    layer *input = &ps->m->layers[0];
    probe_inject_value(ps, INJECT_NAN_INPUT, 0, input->output.data, &input->output, NAN);
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
        sentinel_check(&ps->sentinel, &s, per_sample, logits_layer, PASS_LOSS, probe_tensor_names[PROBE_TENSOR_LOSS],
                       2, shape, 1, ps->forward_ok[logits_layer]);
    }
    if (ps->config.statistics) probe_output_saturation(ps, logits);
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
        sentinel_check(&ps->sentinel, &stats[i].gradient, p->gradient, p->layer, PASS_BACKWARD,
                       probe_param_names[PROBE_PARAM_GRAD][p->role], p->value.rank, p->value.shape, 0,
                       ps->gradient_ok[p->layer] && ps->forward_all_ok);
    }
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        const parameter_step_stats *s = &stats[i];
        int gradient_ok = stats_nonfinite(&s->gradient) == 0;
        int before_ok = ps->value_ok[i] && ps->moments_ok[i];
        sentinel_check(&ps->sentinel, &s->adam_m, p->adam_m, p->layer, PASS_OPTIMIZER_STATE,
                       probe_param_names[PROBE_PARAM_ADAM_M][p->role], p->value.rank, p->value.shape, 0,
                       gradient_ok && before_ok);
        sentinel_check(&ps->sentinel, &s->adam_v, p->adam_v, p->layer, PASS_OPTIMIZER_STATE,
                       probe_param_names[PROBE_PARAM_ADAM_V][p->role], p->value.rank, p->value.shape, 0,
                       gradient_ok && before_ok);
        int moments_ok = stats_nonfinite(&s->adam_m) == 0 && stats_nonfinite(&s->adam_v) == 0;
        sentinel_check(&ps->sentinel, &s->value, p->value.data, p->layer, PASS_UPDATE,
                       probe_param_names[PROBE_PARAM_VALUE][p->role], p->value.rank, p->value.shape, 0,
                       moments_ok && ps->value_ok[i]);
        ps->moments_ok[i] = moments_ok;
        ps->value_ok[i] = stats_nonfinite(&s->value) == 0;

        probe_parameter_metrics(ps, p, s);
    }
    ps->seconds += omp_get_wtime() - start;
}

void probe_fill_nan_event(probe_session *ps, const nonfinite_event *f)
{
    event_row *e = probe_add_event(ps, EVENT_NAN, f->layer);
    if (!e) return;
    e->pass = f->pass;
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
    if (ps->sentinel.first_this_step) probe_fill_nan_event(ps, &ps->sentinel.first);
    /* Full statistics every K steps, at a non-finite value and after it. */
    int full = ps->config.statistics &&
               (ps->step % ps->config.probe_every == 0 || ps->sentinel.step_nonfinite || ps->sentinel.has_first);
    row->probed = full;
    int rc = db_writer_begin(ps->db, err);
    if (rc == 0) rc = db_write_step(ps->db, row, err);
    if (rc == 0 && full && ps->sentinel.first_this_step) {
        /* The run-up: earlier steps still in the ring, oldest first. */
        rc = probe_ring_write_runup(&ps->ring, ps->step, ps->db, err);
    }
    if (rc == 0 && ps->config.statistics) {
        if (full) rc = step_record_write(ps->current, ps->db, err);
        else ps->current->pending = 1;
    }
    for (int i = 0; i < ps->event_count && rc == 0; i++) rc = db_write_event(ps->db, &ps->events[i], err);
    if (rc == 0) rc = db_writer_commit(ps->db, err);
    ps->event_count = 0;
    ps->db_seconds += omp_get_wtime() - start;
    return rc;
}

int probe_flush_ring(probe_session *ps, error *err)
{
    if (!ps || !ps->db || !ps->config.statistics || ps->ring.size <= 1) return 0;
    double start = omp_get_wtime();
    /* The "run-up" of the step after the current one: every step still
     * pending in the ring, up to and including the current one. */
    int rc = db_writer_begin(ps->db, err);
    if (rc == 0) rc = probe_ring_write_runup(&ps->ring, ps->step + 1, ps->db, err);
    if (rc == 0) rc = db_writer_commit(ps->db, err);
    ps->db_seconds += omp_get_wtime() - start;
    return rc;
}

int probe_check_loaded(probe_session *ps, long step, int epoch, error *err)
{
    model *m = ps->m;
    ps->step = step;
    ps->epoch = epoch;
    sentinel_locate(&ps->sentinel, step, epoch, NULL, 0);
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        const float *data[3] = {p->value.data, p->adam_m, p->adam_v};
        const probe_param_name names[3] = {PROBE_PARAM_VALUE, PROBE_PARAM_ADAM_M, PROBE_PARAM_ADAM_V};
        for (int k = 0; k < (p->trainable ? 3 : 1); k++) {
            tensor_stats s;
            stats_compute(data[k], p->value.count, &s);
            if (k == 0) ps->value_ok[i] = stats_nonfinite(&s) == 0;
            else ps->moments_ok[i] &= stats_nonfinite(&s) == 0;
            /* Nothing computed these values here: where they are is where they start. */
            sentinel_check(&ps->sentinel, &s, data[k], p->layer, PASS_LOADED, probe_param_names[names[k]][p->role],
                           p->value.rank, p->value.shape, 0, 1);
        }
    }
    if (!ps->sentinel.first_this_step || !ps->db) return 0;
    probe_fill_nan_event(ps, &ps->sentinel.first);
    int rc = db_writer_begin(ps->db, err);
    for (int i = 0; i < ps->event_count && rc == 0; i++) rc = db_write_event(ps->db, &ps->events[i], err);
    if (rc == 0) rc = db_writer_commit(ps->db, err);
    ps->event_count = 0;
    return rc;
}

/* ----------------------------------------------------------- validation */

void probe_validation_begin(probe_session *ps, const long *sample_ids, int batch)
{
    double start = omp_get_wtime();
    ps->validating = 1;
    ps->sample_ids = sample_ids;
    ps->batch = batch;
    ps->labels = NULL;
    sentinel_locate(&ps->val_sentinel, ps->step, ps->epoch, sample_ids, batch);
    ps->val_sentinel.step_nonfinite = 0;
    ps->val_sentinel.first_this_step = 0;
    reset_step_flags(ps);
    if (ps->config.statistics && probe_validation_batch_begin(ps) == 0) probe_input(ps);
    ps->seconds += omp_get_wtime() - start;
    ps->validation_seconds += omp_get_wtime() - start;
}

void probe_validation_end(probe_session *ps)
{
    probe_validation_batch_end(ps);
    ps->validating = 0;
}

/* -------------------------------------------------------------- session */

const nonfinite_event *probe_first_event(const probe_session *ps)
{
    return ps->sentinel.has_first ? &ps->sentinel.first : NULL;
}

step_record *probe_current_record(probe_session *ps)
{
    if (!ps->config.statistics) return NULL;
    return ps->current ? ps->current : &ps->ring.records[0];
}

const nonfinite_event *probe_new_event(const probe_session *ps)
{
    return ps->sentinel.first_this_step ? &ps->sentinel.first : NULL;
}

void probe_adopt_event(probe_session *ps, const nonfinite_event *event)
{
    ps->sentinel.first = *event;
    ps->sentinel.has_first = 1;
    ps->sentinel.first_this_step = 1;
    ps->sentinel.step_nonfinite = 1;
}

double probe_seconds(const probe_session *ps)
{
    return ps->seconds;
}

double probe_db_seconds(const probe_session *ps)
{
    return ps->db_seconds;
}

/* Up to 4 consumers per layer: whose input gradients make up its own. */
static void find_consumers(probe_session *ps)
{
    const model *m = ps->m;
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
}

/* The ring: one record without --probe-every, else W steps plus the current one. */
static int open_ring(probe_session *ps, error *err)
{
    const model *m = ps->m;
    int ring_size = ps->config.probe_every > 1 ? ps->config.ring_steps + 1 : 1;
    int bn_layers = 0;
    for (int i = 0; i < m->layer_count; i++) bn_layers += m->layers[i].kind == LAYER_BATCHNORM;
    int stats_capacity = 2 * m->layer_count + 5 * m->param_count + 4 * bn_layers + 8;
    int metric_capacity = 8 * m->param_count + 6 * bn_layers + 8;
    int inputs = ps->config.input_capacity > m->config.batch ? ps->config.input_capacity : m->config.batch;
    return probe_ring_open(&ps->ring, ring_size, ps->config.statistics, stats_capacity, metric_capacity, inputs,
                           err);
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
    sentinel_init(&ps->sentinel, m);
    sentinel_init(&ps->val_sentinel, m);
    ps->forward_ok = malloc((size_t)m->layer_count);
    ps->gradient_ok = malloc((size_t)m->layer_count);
    ps->value_ok = malloc((size_t)m->param_count);
    ps->moments_ok = malloc((size_t)m->param_count);
    ps->consumers = malloc(sizeof(int) * 4 * (size_t)m->layer_count);
    if (!ps->forward_ok || !ps->gradient_ok || !ps->value_ok || !ps->moments_ok || !ps->consumers) {
        probe_close(ps);
        return error_set(err, "out of memory for the probes");
    }
    if (open_ring(ps, err)) {
        probe_close(ps);
        return -1;
    }
    find_consumers(ps);
    if (probe_validation_open(ps, err)) {
        probe_close(ps);
        return -1;
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
    m->hook = ps->config.statistics ? probe_hook : probe_injection_only_hook;
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
    probe_validation_close(ps);
    probe_ring_close(&ps->ring);
    free(ps->forward_ok);
    free(ps->gradient_ok);
    free(ps->value_ok);
    free(ps->moments_ok);
    free(ps->tap_masks);
    free(ps->consumers);
    free(ps);
}
