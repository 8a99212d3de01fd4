/* probe_ring.h: what one step measured, kept until it is written, and the
 * ring of the last W steps.
 *
 * With --probe-every K the statistics of every step are still computed
 * (the sentinel needs them) but written only every K steps; the last W
 * steps are kept here and written in full when a non-finite value appears,
 * so the run-up to a NaN is always complete in the database.  Tensor and
 * metric names are static strings (run_names.h): the database binds them
 * without copying, and a record of a thousand rows stores pointers only. */
#ifndef NANPROBE_PROBE_RING_H
#define NANPROBE_PROBE_RING_H

#include "db.h"
#include "error.h"
#include "stats.h"

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

typedef struct step_record {
    long step;
    int pending; /* measured but not yet written */
    stats_row *stats;
    int stats_count, stats_capacity;
    metric_row *metrics;
    int metric_count, metric_capacity;
    input_row *inputs;
    int input_count, input_capacity;
} step_record;

typedef struct probe_ring {
    step_record *records;
    int size;
} probe_ring;

/* size records; with rows set, each gets room for the given row counts
 * (without, the records hold no rows: statistics are off). */
int probe_ring_open(probe_ring *ring, int size, int rows, int stats_capacity, int metric_capacity,
                    int input_capacity, error *err);
void probe_ring_close(probe_ring *ring);

/* The record of `step`, emptied. */
step_record *probe_ring_start(probe_ring *ring, long step);

/* Add a row; a record that is NULL or full takes nothing (the capacities
 * are computed from the model, so full means a bug, not a crash). */
void step_record_add_stats(step_record *r, int layer, const char *tensor, const tensor_stats *s);
void step_record_add_metric(step_record *r, int layer, const char *metric, double value);
void step_record_add_input(step_record *r, long sample_id, int label, const tensor_stats *s);

/* Writes the record's rows (inside the caller's transaction). */
int step_record_write(step_record *r, db_writer *db, error *err);
/* Writes the steps before `step` still pending in the ring, oldest first,
 * and marks them probed. */
int probe_ring_write_runup(probe_ring *ring, long step, db_writer *db, error *err);

#endif
