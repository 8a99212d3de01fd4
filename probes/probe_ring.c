/* probe_ring.c: step records and the ring of recent steps (see probe_ring.h). */
#include "probe_ring.h"

#include <stdlib.h>

int probe_ring_open(probe_ring *ring, int size, int rows, int stats_capacity, int metric_capacity,
                    int input_capacity, error *err)
{
    ring->size = size;
    ring->records = calloc((size_t)size, sizeof(step_record));
    if (!ring->records) return error_set(err, "out of memory for the probes");
    for (int i = 0; i < size && rows; i++) {
        step_record *r = &ring->records[i];
        r->stats = malloc(sizeof(stats_row) * (size_t)stats_capacity);
        r->metrics = malloc(sizeof(metric_row) * (size_t)metric_capacity);
        r->inputs = malloc(sizeof(input_row) * (size_t)input_capacity);
        if (!r->stats || !r->metrics || !r->inputs)
            return error_set(err, "out of memory for the probes' ring of %d steps", size);
        r->stats_capacity = stats_capacity;
        r->metric_capacity = metric_capacity;
        r->input_capacity = input_capacity;
    }
    return 0;
}

void probe_ring_close(probe_ring *ring)
{
    for (int i = 0; ring->records && i < ring->size; i++) {
        free(ring->records[i].stats);
        free(ring->records[i].metrics);
        free(ring->records[i].inputs);
    }
    free(ring->records);
    ring->records = NULL;
}

step_record *probe_ring_start(probe_ring *ring, long step)
{
    step_record *r = &ring->records[step % ring->size];
    r->step = step;
    r->pending = 0;
    r->stats_count = r->metric_count = r->input_count = 0;
    return r;
}

void step_record_add_stats(step_record *r, int layer, const char *tensor, const tensor_stats *s)
{
    if (!r || r->stats_count >= r->stats_capacity) return;
    stats_row *row = &r->stats[r->stats_count++];
    row->layer = layer;
    row->tensor = tensor;
    row->stats = *s;
}

void step_record_add_metric(step_record *r, int layer, const char *metric, double value)
{
    if (!r || r->metric_count >= r->metric_capacity) return;
    metric_row *row = &r->metrics[r->metric_count++];
    row->layer = layer;
    row->metric = metric;
    row->value = value;
}

void step_record_add_input(step_record *r, long sample_id, int label, const tensor_stats *s)
{
    if (!r || r->input_count >= r->input_capacity) return;
    input_row *row = &r->inputs[r->input_count++];
    row->sample_id = sample_id;
    row->label = label;
    row->stats = *s;
}

int step_record_write(step_record *r, db_writer *db, error *err)
{
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

int probe_ring_write_runup(probe_ring *ring, long step, db_writer *db, error *err)
{
    for (long back = ring->size - 1; back >= 1; back--) {
        if (step - back < 1) continue;
        step_record *r = &ring->records[(step - back) % ring->size];
        if (!r->pending || r->step != step - back) continue;
        if (step_record_write(r, db, err) || db_mark_probed(db, r->step, err)) return -1;
    }
    return 0;
}
