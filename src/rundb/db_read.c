/* db_read.c: a run's own rows read back for a replay (see db_read.h). */
#include "db_read.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "read_columns.h"

/* An INTEGER of the run's one-row query, else fallback. */
static long query_long(const db_writer *w, const char *sql, long fallback)
{
    sqlite3_stmt *st = NULL;
    long value = fallback;
    if (w->db && sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, w->run_id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
            value = (long)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return value;
}

long db_read_first_nan_step(const db_writer *w)
{
    return query_long(w, "SELECT MIN(step) FROM events WHERE run_id = ?1 AND kind = 'nan'", -1);
}

long db_read_last_step(const db_writer *w)
{
    return query_long(w, "SELECT MAX(step) FROM steps WHERE run_id = ?1", 0);
}

int db_read_step_value(const db_writer *w, long step, db_step_value column, double *out)
{
    static const char *const sql[] = {
        [DB_STEP_DATA_LOSS] = "SELECT data_loss FROM steps WHERE run_id = ?1 AND step = ?2",
        [DB_STEP_LOSS_SCALE] = "SELECT loss_scale FROM steps WHERE run_id = ?1 AND step = ?2",
    };
    _Static_assert(sizeof sql / sizeof sql[0] == DB_STEP_VALUE_COUNT, "one query per db_step_value");
    sqlite3_stmt *st = NULL;
    int found = 0;
    if ((unsigned)column < DB_STEP_VALUE_COUNT && w->db &&
        sqlite3_prepare_v2(w->db, sql[column], -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, w->run_id);
        sqlite3_bind_int64(st, 2, step);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_FLOAT) {
            *out = sqlite3_column_double(st, 0);
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

/* The columns of the events row read back; the same check every reader of
 * run.db makes (read_columns.h).  The coordinates are only reported: a
 * damaged one reads as unknown (-1), as does an unknown pass (then the
 * forward pass). */
#define NAN_AXIS(c, field) \
    {.column = c, .type = COLUMN_INTEGER, .nullable = 1, .lenient = 1, .lo = 0, .hi = INT_MAX, \
     COLUMN_AT(nonfinite_event, field)}

int db_read_nan_event(const db_writer *w, long step, int layer_count, nonfinite_event *e)
{
    const column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .lo = 0, .hi = layer_count - 1, COLUMN_AT(nonfinite_event, layer)},
        {.column = 1, .type = COLUMN_TEXT_IN, COLUMN_AT(nonfinite_event, tensor)},
        {.column = 2, .type = COLUMN_ENUM, .names = STORED_VALUE_CLASS, COLUMN_AT(nonfinite_event, value_class)},
        {.column = 3, .type = COLUMN_INTEGER, .lo = 0, .hi = LLONG_MAX, COLUMN_AT(nonfinite_event, element)},
        NAN_AXIS(4, sample), NAN_AXIS(5, d), NAN_AXIS(6, h), NAN_AXIS(7, w), NAN_AXIS(8, channel),
        {.column = 9, .type = COLUMN_ENUM, .nullable = 1, .lenient = 1, .names = STORED_PASS,
         COLUMN_AT(nonfinite_event, pass)},
        {.column = 10, .type = COLUMN_TEXT_IN, COLUMN_AT(nonfinite_event, message)},
        {.column = 11, .type = COLUMN_INTEGER, .nullable = 1, .lenient = 1, .lo = 0, .hi = INT_MAX,
         COLUMN_AT(nonfinite_event, epoch)},
    };
    const char *sql = "SELECT layer_id, tensor, value_class, element_index, sample, d, h, w, channel, pass, message, "
                      "epoch FROM events WHERE run_id = ?1 AND kind = 'nan' AND step = ?2 ORDER BY event_id LIMIT 1";
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (!w->db || sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, step);
    if (sqlite3_step(st) == SQLITE_ROW) {
        memset(e, 0, sizeof *e);
        char why[240];
        found = read_row(st, "events", spec, SPEC_COUNT(spec), e, why, sizeof why) == 0;
        e->step = step;
        if (e->pass == PASS_COUNT) e->pass = PASS_FORWARD;
        if (e->epoch < 0) e->epoch = 0;
    }
    sqlite3_finalize(st);
    return found;
}
