/* replicas.c: the per-step agreement of the ranks (see replicas.h). */
#include "replicas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "probe_ring.h"

/* What one rank sends rank 0 each step. */
typedef struct wire_header {
    int stats_count, metric_count, input_count, samples;
} wire_header;
typedef struct wire_stats {
    int layer;
    tensor_stats stats;
} wire_stats;
typedef struct wire_metric {
    int layer;
    double value;
} wire_metric;
typedef struct wire_input {
    long sample_id;
    int label;
    tensor_stats stats;
} wire_input;

static int pack_size(int stats, int metrics, int inputs)
{
    return (int)(sizeof(wire_header) + (size_t)stats * sizeof(wire_stats) + (size_t)metrics * sizeof(wire_metric) +
                 (size_t)inputs * sizeof(wire_input));
}

int dist_replicas_open(dist_replicas *r, dist_comm *comm, probe_session *ps, const model *m, int sync_bn,
                       int global_batch, error *err)
{
    memset(r, 0, sizeof *r);
    r->comm = comm;
    r->m = m;
    r->sync_bn = sync_bn;
    r->layer_count = m->layer_count;
    r->global_batch = global_batch;
    const step_record *rows = probe_current_record(ps);
    if (!rows) return 0; /* statistics off: only the loss and the sentinel are agreed */
    r->send_capacity = pack_size(rows->stats_capacity, rows->metric_capacity, m->config.batch);
    r->receive_capacity = comm->rank == 0 ? r->send_capacity * comm->size : 0;
    r->send = malloc((size_t)r->send_capacity);
    r->receive = comm->rank == 0 ? malloc((size_t)r->receive_capacity) : NULL;
    r->counts = calloc((size_t)comm->size, sizeof(int));
    if (!r->send || (comm->rank == 0 && !r->receive) || !r->counts)
        return error_set(err, "out of memory for merging the ranks' statistics");
    return 0;
}

void dist_replicas_close(dist_replicas *r)
{
    free(r->send);
    free(r->receive);
    free(r->counts);
    memset(r, 0, sizeof *r);
}

double dist_event_order(const nonfinite_event *e, int layer_count)
{
    const double L = (double)layer_count + 1.0;
    const char *t = e->tensor;
    switch (e->pass) {
    case PASS_VALIDATION: return -1.0; /* found in an earlier validation: before this step */
    case PASS_INPUT: return 0.0;
    case PASS_FORWARD:
    case PASS_MOVING_STATISTICS: {
        /* Within a BatchNorm layer: batch statistics, moving ones, output. */
        int sub = strncmp(t, "batch_", 6) == 0 ? 0 : strncmp(t, "moving_", 7) == 0 ? 1 : 2;
        return 4.0 * (1.0 + e->layer) + sub;
    }
    case PASS_LOSS: return 4.0 * (L + 1.0);
    case PASS_BACKWARD: {
        /* Layers run backward from the last; the gradient reaching a layer
         * comes before the parameter gradients its backward makes. */
        int sub = strcmp(t, "output_grad") == 0 ? 0 : 1;
        return 4.0 * (L + 2.0 + (L - e->layer)) + sub;
    }
    default: return 4.0 * (3.0 * L + 4.0 + e->layer) + (e->pass == PASS_UPDATE);
    }
}

/* ----------------------------------------------------------- the event */

static int agree_event(dist_replicas *r, probe_session *ps, const dist_shard *shard, double key, error *err)
{
    const int size = r->comm->size;
    const int winner = (int)fmod(key, (double)size);
    nonfinite_event wire;
    memset(&wire, 0, sizeof wire);
    const nonfinite_event *mine = probe_new_event(ps);
    if (r->comm->rank == winner && mine) {
        wire = *mine;
        nonfinite_event *e = &wire;
        if (e->sample >= 0) {
            /* Name the rank, and the clip's place in the global batch. */
            size_t used = strlen(e->message);
            snprintf(e->message + used, sizeof e->message - used,
                     "; on rank %d of %d (its sample %d, clip %ld, is position %d of the global batch)", winner,
                     size, e->sample, e->sample_id, shard->start + e->sample);
            /* The flat index too, into the global batch's tensor. */
            const tensor *t = &r->m->layers[e->layer].output;
            long long per_sample = strcmp(e->tensor, "loss") == 0 ? 1 : (long long)(t->count / (size_t)t->shape[0]);
            e->element += per_sample * shard->start;
            e->sample += shard->start;
        } else {
            size_t used = strlen(e->message);
            snprintf(e->message + used, sizeof e->message - used, "; on rank %d of %d", winner, size);
        }
    }
    if (dist_broadcast(r->comm, &wire, sizeof wire, winner, err)) return -1;
    if ((unsigned)wire.value_class >= VALUE_CLASS_COUNT) wire.value_class = VALUE_NAN;
    wire.message[sizeof wire.message - 1] = '\0';
    wire.tensor[sizeof wire.tensor - 1] = '\0';
    probe_adopt_event(ps, &wire);
    return 0;
}

/* ------------------------------------------------------------ the rows */

static int pack_rows(dist_replicas *r, const step_record *rows, int samples)
{
    unsigned char *p = r->send;
    wire_header h = {rows->stats_count, rows->metric_count, rows->input_count, samples};
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    for (int i = 0; i < rows->stats_count; i++) {
        wire_stats w = {rows->stats[i].layer, rows->stats[i].stats};
        memcpy(p, &w, sizeof w);
        p += sizeof w;
    }
    for (int i = 0; i < rows->metric_count; i++) {
        wire_metric w = {rows->metrics[i].layer, rows->metrics[i].value};
        memcpy(p, &w, sizeof w);
        p += sizeof w;
    }
    for (int i = 0; i < rows->input_count; i++) {
        wire_input w = {rows->inputs[i].sample_id, rows->inputs[i].label, rows->inputs[i].stats};
        memcpy(p, &w, sizeof w);
        p += sizeof w;
    }
    return (int)(p - r->send);
}

/* Folds rank `from`'s rows (at p) into rank 0's, which arrived in the same
 * order: the same model and code path produce the same sequence of rows. */
static int merge_rank(dist_replicas *r, step_record *rows, const unsigned char *p, int bytes, int from,
                      double *samples_so_far, error *err)
{
    wire_header h;
    if (bytes < (int)sizeof h) return error_set(err, "rank %d sent %d bytes of statistics", from, bytes);
    memcpy(&h, p, sizeof h);
    if (h.stats_count != rows->stats_count || h.metric_count != rows->metric_count ||
        pack_size(h.stats_count, h.metric_count, h.input_count) != bytes)
        return error_set(err, "rank %d measured %d statistics and %d metrics where rank 0 has %d and %d", from,
                         h.stats_count, h.metric_count, rows->stats_count, rows->metric_count);
    p += sizeof h;
    for (int i = 0; i < h.stats_count; i++, p += sizeof(wire_stats)) {
        wire_stats w;
        memcpy(&w, p, sizeof w);
        stats_row *mine = &rows->stats[i];
        if (w.layer != mine->layer) return error_set(err, "rank %d's statistics are out of step with rank 0's", from);
        if (dist_stats_rule(mine->tensor, r->sync_bn) == DIST_SHARDED) dist_stats_append(&mine->stats, &w.stats);
    }
    for (int i = 0; i < h.metric_count; i++, p += sizeof(wire_metric)) {
        wire_metric w;
        memcpy(&w, p, sizeof w);
        metric_row *mine = &rows->metrics[i];
        dist_rule rule = dist_metric_rule(mine->metric, r->sync_bn);
        mine->value = dist_metric_combine(rule, mine->value, w.value, *samples_so_far, h.samples);
    }
    for (int i = 0; i < h.input_count; i++, p += sizeof(wire_input)) {
        if (rows->input_count >= rows->input_capacity) return error_set(err, "too many input clips from rank %d", from);
        wire_input w;
        memcpy(&w, p, sizeof w);
        input_row *row = &rows->inputs[rows->input_count++];
        row->sample_id = w.sample_id;
        row->label = w.label;
        row->stats = w.stats;
    }
    *samples_so_far += h.samples;
    return 0;
}

static int merge_rows(dist_replicas *r, probe_session *ps, int samples, error *err)
{
    step_record *rows = probe_current_record(ps);
    if (!rows) return 0;
    double start = dist_seconds();
    int bytes = pack_rows(r, rows, samples);
    if (dist_gather_bytes(r->comm, r->send, bytes, r->receive, r->counts, r->receive_capacity, err)) return -1;
    if (r->comm->rank == 0) {
        const unsigned char *p = r->receive + r->counts[0];
        double so_far = samples;
        for (int from = 1; from < r->comm->size; from++) {
            if (merge_rank(r, rows, p, r->counts[from], from, &so_far, err)) return -1;
            p += r->counts[from];
        }
    }
    r->seconds += dist_seconds() - start;
    return 0;
}

int dist_replicas_step(dist_replicas *r, probe_session *ps, const dist_shard *shard, int rows,
                       dist_step_totals *totals, error *err)
{
    if (r->comm->size < 2) return 0;
    double start = dist_seconds();
    const nonfinite_event *mine = r->event_agreed ? NULL : probe_new_event(ps);
    double key = mine ? (dist_event_order(mine, r->layer_count) + 1.0) * r->comm->size + r->comm->rank : INFINITY;
    double values[5] = {totals->loss_sum, totals->correct, totals->samples, totals->stop, key};
    if (dist_sum_then_min_timed(r->comm, values, 5, "the step's agreement (loss, sentinel)", err)) return -1;
    totals->loss_sum = values[0];
    totals->correct = values[1];
    totals->samples = values[2];
    totals->stop = values[3];
    r->seconds += dist_seconds() - start;
    if (isfinite(values[4])) {
        if (agree_event(r, ps, shard, values[4], err)) return -1;
        r->event_agreed = 1;
    }
    return rows ? merge_rows(r, ps, shard->count, err) : 0;
}
