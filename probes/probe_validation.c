/* probe_validation.c: the probes of the validation pass (see probe.h).
 *
 * Validation runs the forward pass in inference mode: BatchNorm normalizes
 * with its moving statistics, so it can fail where training, on batch
 * statistics, does not.  Its tensors are checked by a sentinel of its own
 * (the training one keeps the first training NaN), and its statistics go to
 * their own tables: every layer's output per validation batch, held in
 * memory for the epoch and written in full only when a non-finite value
 * appeared (otherwise one summary per layer), and per BatchNorm layer how
 * its moving statistics compare with
 *   - the batch statistics of the last VALIDATION_TRAIN_WINDOW training
 *     steps (per-channel means): variance ratio and mean shift;
 *   - what its input is now: the RMS of (x - moving mean)/sqrt(moving
 *     variance + eps), 1 when they fit.  A BatchNorm fed by an over-scaled
 *     one inherits its factor, so along a path the mismatch compounds.
 * Cost per validation batch: the statistics the sentinel needs anyway, and
 * a pass over at most VALIDATION_SAMPLE_CELLS positions of each
 * BatchNorm's input. */
#include "probe_session.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_validation.h"

#define VALIDATION_TRAIN_WINDOW 8
#define VALIDATION_SAMPLE_CELLS 16384L

typedef struct bn_track {
    int layer, channels;
    float *train_mean, *train_var; /* VALIDATION_TRAIN_WINDOW x channels, a ring */
    int train_count, train_next;
    double *z_squares; /* per channel: sum over the validation of z^2 (finite z only) */
    double *pending;   /* per channel: the current batch's sum of (x - moving mean)^2 */
    long long *z_count;
} bn_track;

struct validation_record {
    int layers;
    int epoch;
    long step;
    int batches, capacity;  /* validation batches of the epoch so far */
    tensor_stats *per_batch; /* capacity x layers */
    tensor_stats *summary;   /* layers */
    int nonfinite;           /* some tensor of this validation was non-finite */
    int event_batch;         /* batch of the epoch's first non-finite value, -1 if none */
    bn_track *bn;
    int bn_count;
    int *bn_of_layer;        /* layer -> index into bn, -1 */
    db_validation db;
    int db_open;
};

static void *zalloc(size_t count, size_t size, int *failed)
{
    void *p = calloc(count ? count : 1, size);
    if (!p) *failed = 1;
    return p;
}

int probe_validation_open(probe_session *ps, error *err)
{
    const model *m = ps->m;
    int failed = 0;
    validation_record *v = zalloc(1, sizeof *v, &failed);
    if (!v) return error_set(err, "out of memory for the validation probes");
    ps->validation = v;
    v->layers = m->layer_count;
    v->event_batch = -1;
    v->summary = zalloc((size_t)m->layer_count, sizeof *v->summary, &failed);
    v->bn_of_layer = zalloc((size_t)m->layer_count, sizeof(int), &failed);
    for (int i = 0; i < m->layer_count; i++) v->bn_count += m->layers[i].kind == LAYER_BATCHNORM;
    v->bn = zalloc((size_t)v->bn_count, sizeof *v->bn, &failed);
    for (int i = 0, k = 0; !failed && i < m->layer_count; i++) {
        v->bn_of_layer[i] = -1;
        if (m->layers[i].kind != LAYER_BATCHNORM) continue;
        bn_track *t = &v->bn[k];
        v->bn_of_layer[i] = k++;
        t->layer = i;
        t->channels = m->layers[i].output.shape[m->layers[i].output.rank - 1];
        t->train_mean = zalloc((size_t)VALIDATION_TRAIN_WINDOW * t->channels, sizeof(float), &failed);
        t->train_var = zalloc((size_t)VALIDATION_TRAIN_WINDOW * t->channels, sizeof(float), &failed);
        t->z_squares = zalloc((size_t)t->channels, sizeof(double), &failed);
        t->pending = zalloc((size_t)t->channels, sizeof(double), &failed);
        t->z_count = zalloc((size_t)t->channels, sizeof(long long), &failed);
    }
    if (!failed && ps->db && db_validation_open(&v->db, ps->db, err)) return -1;
    v->db_open = ps->db != NULL;
    if (failed) return error_set(err, "out of memory for the validation probes");
    return 0;
}

void probe_validation_close(probe_session *ps)
{
    validation_record *v = ps->validation;
    if (!v) return;
    if (v->db_open) db_validation_close(&v->db);
    for (int k = 0; v->bn && k < v->bn_count; k++) {
        free(v->bn[k].train_mean);
        free(v->bn[k].train_var);
        free(v->bn[k].z_squares);
        free(v->bn[k].pending);
        free(v->bn[k].z_count);
    }
    free(v->bn);
    free(v->bn_of_layer);
    free(v->per_batch);
    free(v->summary);
    free(v);
    ps->validation = NULL;
}

/* After a training BatchNorm forward: its batch statistics join the window. */
void probe_validation_note_training(probe_session *ps, int layer_index)
{
    validation_record *v = ps->validation;
    bn_track *t = &v->bn[v->bn_of_layer[layer_index]];
    const batchnorm_batch *b = &ps->m->layers[layer_index].batch_stats;
    float *mean = t->train_mean + (size_t)t->train_next * t->channels;
    float *var = t->train_var + (size_t)t->train_next * t->channels;
    for (int c = 0; c < t->channels; c++) mean[c] = (float)b->mean[c], var[c] = (float)b->variance[c];
    t->train_next = (t->train_next + 1) % VALIDATION_TRAIN_WINDOW;
    if (t->train_count < VALIDATION_TRAIN_WINDOW) t->train_count++;
}

void probe_validation_epoch_begin(probe_session *ps, long step, int epoch)
{
    validation_record *v = ps->validation;
    ps->step = step;
    ps->epoch = epoch;
    v->step = step;
    v->epoch = epoch;
    v->batches = 0;
    v->nonfinite = 0;
    v->event_batch = -1;
    for (int l = 0; l < v->layers; l++) stats_clear(&v->summary[l]);
    for (int k = 0; k < v->bn_count; k++) {
        memset(v->bn[k].z_squares, 0, sizeof(double) * (size_t)v->bn[k].channels);
        memset(v->bn[k].z_count, 0, sizeof(long long) * (size_t)v->bn[k].channels);
    }
    /* Each validation names its own first non-finite value. */
    sentinel_init(&ps->val_sentinel, ps->m);
}

/* A new row of per-layer statistics for the batch starting now. */
int probe_validation_batch_begin(probe_session *ps)
{
    validation_record *v = ps->validation;
    if (v->batches == v->capacity) {
        int capacity = v->capacity ? 2 * v->capacity : 16;
        tensor_stats *grown = realloc(v->per_batch, sizeof *grown * (size_t)capacity * (size_t)v->layers);
        if (!grown) return -1;
        v->per_batch = grown, v->capacity = capacity;
    }
    tensor_stats *row = v->per_batch + (size_t)v->batches * v->layers;
    for (int l = 0; l < v->layers; l++) stats_clear(&row[l]);
    v->batches++;
    return 0;
}

/* z = (x - moving mean)/sqrt(moving variance + eps) of the BatchNorm's
 * input, squared and summed per channel (what its output would be with
 * gamma 1, beta 0; its RMS is 1 when the moving statistics fit).  Summed
 * as (x - moving mean)^2 and scaled once per channel.  A mean square needs
 * no more than VALIDATION_SAMPLE_CELLS positions per batch: larger inputs
 * are read at every k-th position (all channels), on this thread (a
 * parallel region per BatchNorm costs more in waiting than it saves).  An
 * input with NaN/Inf counts finite values only. */
static void accumulate_normalized(probe_session *ps, bn_track *t)
{
    const layer *l = &ps->m->layers[t->layer];
    const tensor *x = &ps->m->layers[l->inputs[0]].output;
    const real *mm = ps->m->params[l->first_param + 2].value.data;
    const real *mv = ps->m->params[l->first_param + 3].value.data;
    const int C = t->channels;
    const long cells = (long)(x->count / (size_t)C);
    const long stride = (cells + VALIDATION_SAMPLE_CELLS - 1) / VALIDATION_SAMPLE_CELLS;
    const int checked = !ps->forward_ok[l->inputs[0]];
    double *squares = t->pending;
    memset(squares, 0, sizeof(double) * (size_t)C);
    for (long i = 0; i < cells; i += stride) {
        const float *row = x->data + (size_t)i * (size_t)C;
        for (int c = 0; c < C; c++) {
            double d = (double)row[c] - (double)mm[c];
            if (!checked) squares[c] += d * d;
            else if (isfinite(d)) squares[c] += d * d, t->z_count[c]++;
        }
    }
    const long samples = (cells + stride - 1) / stride;
    for (int c = 0; c < C; c++) {
        double var = (double)mv[c] + BATCHNORM_EPSILON;
        if (!checked) t->z_count[c] += samples;
        /* var <= 0: sqrt() is NaN; the row counts it as a bad moving variance */
        if (var > 0) t->z_squares[c] += squares[c] / var;
        else t->z_count[c] = 0;
    }
}

void probe_validation_layer(probe_session *ps, int layer_index, const tensor_stats *s)
{
    validation_record *v = ps->validation;
    if (v->batches == 0) return;
    tensor_stats *row = v->per_batch + (size_t)(v->batches - 1) * v->layers;
    row[layer_index] = *s;
    stats_merge(&v->summary[layer_index], s);
    if (stats_nonfinite(s)) v->nonfinite = 1;
    if (v->bn_of_layer[layer_index] >= 0) accumulate_normalized(ps, &v->bn[v->bn_of_layer[layer_index]]);
}

/* The batch in which the epoch's first non-finite value appeared: its
 * sentence says which validation batch it was. */
void probe_validation_batch_end(probe_session *ps)
{
    validation_record *v = ps->validation;
    sentinel *st = &ps->val_sentinel;
    if (!st->first_this_step) return;
    st->first_this_step = 0;
    v->event_batch = v->batches - 1;
    size_t used = strlen(st->first.message);
    snprintf(st->first.message + used, sizeof st->first.message - used,
             "; validation batch %d after epoch %d, in inference mode (clip %ld of the validation split)",
             v->event_batch, v->epoch, st->first.sample_id);
}

/* One BatchNorm's row: moving statistics against the training window and
 * against the validation's input. */
static void batchnorm_row(const probe_session *ps, const bn_track *t, validation_bn_row *r)
{
    const layer *l = &ps->m->layers[t->layer];
    const real *mm = ps->m->params[l->first_param + 2].value.data;
    const real *mv = ps->m->params[l->first_param + 3].value.data;
    const validation_record *v = ps->validation;
    *r = (validation_bn_row){.epoch = v->epoch, .step = v->step, .layer_id = t->layer, .channels = t->channels,
                             .train_steps = t->train_count, .var_ratio_min = INFINITY, .var_ratio_max = NAN,
                             .mean_shift_max = NAN, .inference_scale = NAN, .moving_variance_min = INFINITY,
                             .scale_channel = -1, .bad_channel = -1};
    for (int c = 0; c < t->channels; c++) {
        double var = mv[c];
        if (!(var > 0) || !isfinite(var) || !isfinite((double)mm[c])) {
            if (r->bad_moving_variance++ == 0) r->bad_channel = c;
        }
        if (isfinite(var)) r->moving_variance_min = fmin(r->moving_variance_min, var);
        if (t->z_count[c] > 0) {
            double scale = sqrt(t->z_squares[c] / (double)t->z_count[c]);
            if (!(scale <= r->inference_scale)) r->inference_scale = scale, r->scale_channel = c;
        }
        if (t->train_count == 0) continue;
        double bm = 0, bv = 0;
        for (int k = 0; k < t->train_count; k++)
            bm += t->train_mean[k * t->channels + c], bv += t->train_var[k * t->channels + c];
        bm /= t->train_count, bv /= t->train_count;
        if (var > 0) {
            double ratio = bv / var;
            r->var_ratio_min = fmin(r->var_ratio_min, ratio);
            if (!(ratio <= r->var_ratio_max)) r->var_ratio_max = ratio;
        }
        double shift = fabs((double)mm[c] - bm) / sqrt(bv + BATCHNORM_EPSILON);
        if (!(shift <= r->mean_shift_max)) r->mean_shift_max = shift;
    }
    if (!isfinite(r->var_ratio_min)) r->var_ratio_min = NAN;
    if (!isfinite(r->moving_variance_min)) r->moving_variance_min = NAN;
}

static int write_rows(probe_session *ps, error *err)
{
    validation_record *v = ps->validation;
    int rc = 0;
    const int layers = ps->config.statistics ? v->layers : 0; /* probes off: only the event */
    /* Every batch of an epoch that met a non-finite value, else the summary. */
    for (int b = 0; v->nonfinite && b < v->batches && rc == 0; b++)
        for (int l = 0; l < layers && rc == 0; l++)
            rc = db_validation_write_stats(&v->db, v->epoch, b, v->step, l, &v->per_batch[(size_t)b * v->layers + l],
                                           err);
    for (int l = 0; l < layers && rc == 0; l++)
        rc = db_validation_write_stats(&v->db, v->epoch, -1, v->step, l, &v->summary[l], err);
    for (int k = 0; layers && k < v->bn_count && rc == 0; k++) {
        validation_bn_row row;
        batchnorm_row(ps, &v->bn[k], &row);
        rc = db_validation_write_batchnorm(&v->db, &row, err);
    }
    if (rc == 0 && ps->val_sentinel.has_first) {
        ps->event_count = 0;
        probe_fill_nan_event(ps, &ps->val_sentinel.first);
        rc = db_write_event(ps->db, &ps->events[0], err);
        if (rc == 0) rc = db_validation_mark_event(&v->db, v->event_batch, err);
        ps->event_count = 0;
    }
    return rc;
}

int probe_validation_epoch_end(probe_session *ps, const nonfinite_event **event, error *err)
{
    double start = omp_get_wtime();
    *event = ps->val_sentinel.has_first ? &ps->val_sentinel.first : NULL;
    if (!ps->db) return 0;
    int rc = db_writer_begin(ps->db, err);
    if (rc == 0) rc = write_rows(ps, err);
    if (rc == 0) rc = db_writer_commit(ps->db, err);
    ps->db_seconds += omp_get_wtime() - start;
    ps->validation_seconds += omp_get_wtime() - start;
    return rc;
}

double probe_validation_seconds(const probe_session *ps)
{
    return ps ? ps->validation_seconds : 0.0;
}
