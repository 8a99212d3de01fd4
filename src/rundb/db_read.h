/* db_read.h: what a run reads back from its own run.db to replay a step:
 * which steps a replay can cover, a recorded step's values, and the run's
 * first non-finite value as the sentinel told it.  The SQL, and the parsing
 * of the stored text into the sentinel's types, happen here, once. */
#ifndef NANPROBE_DB_READ_H
#define NANPROBE_DB_READ_H

#include "db.h"
#include "nonfinite_event.h"

/* The step of the run's first non-finite value (an event of kind "nan"), or -1. */
long db_read_first_nan_step(const db_writer *w);
/* The run's last recorded step, or 0 when it has none. */
long db_read_last_step(const db_writer *w);

/* The REAL columns of a steps row that a replay reads. */
typedef enum db_step_value { DB_STEP_DATA_LOSS, DB_STEP_LOSS_SCALE, DB_STEP_VALUE_COUNT } db_step_value;
/* The value in the steps row of `step`: 1 and *out, or 0 when there is
 * none (no such row, or a NaN, which is stored as NULL). */
int db_read_step_value(const db_writer *w, long step, db_step_value column, double *out);

/* The run's first non-finite value if it is at `step`: 1 and *e, else 0.
 * The database is untrusted: a layer outside 0..layer_count-1, a negative
 * element or an unknown value class is no event; an unknown pass reads as
 * the forward pass. */
int db_read_nan_event(const db_writer *w, long step, int layer_count, nonfinite_event *e);

#endif
