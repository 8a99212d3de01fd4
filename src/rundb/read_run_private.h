/* read_run_private.h: what read_run.c (the small tables) and read_series.c
 * (the big ones) share; private to those two files. */
#ifndef NANPROBE_READ_RUN_PRIVATE_H
#define NANPROBE_READ_RUN_PRIVATE_H

#include <math.h>
#include <sqlite3.h>

#include "db.h"
#include "read_run.h"

static inline double column_real(sqlite3_stmt *st, int column)
{
    return sqlite3_column_type(st, column) == SQLITE_NULL ? NAN : sqlite3_column_double(st, column);
}

/* Bounds of the values a report uses as an index, a count or a loop bound.
 * Steps and epochs stay far below INT_MAX, so step + 1 or a difference of
 * two steps never overflows. */
#define RUNDATA_MAX_STEP (1 << 30)
#define RUNDATA_MAX_LAYERS 65536
/* At most this many floats per series (1 GiB): probes x layers of a hostile
 * file must not turn into tens of gigabytes. */
#define RUNDATA_MAX_CELLS (1ll << 28)

/* A double stored where a count is read: clamped, never cast out of range. */
static inline long long count_of(double v)
{
    if (!(v > 0)) return 0;
    return v >= 9e18 ? 9000000000000000000ll : (long long)v;
}

static inline int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *path, error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return error_set(err, "%s: cannot read the run database (%s); is it a nanprobe run.db of schema version %d?",
                         path, sqlite3_errmsg(db), DB_SCHEMA_VERSION);
    return 0;
}

static inline int step_failed(sqlite3 *db, int rc, const char *path, error *err)
{
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return 0;
    return error_set(err, "%s: reading failed: %s", path, sqlite3_errmsg(db));
}

/* The per-layer series and the tensor extremes (read_series.c): the stats
 * and layer_metrics tables in one pass each. */
int read_run_series(rundata *d, sqlite3 *db, unsigned mask, int with_extremes, error *err);

#endif
