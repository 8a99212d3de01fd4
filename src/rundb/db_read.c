/* db_read.c: a run's own rows read back for a replay (see db_read.h). */
#include "db_read.h"

#include <stdio.h>
#include <string.h>

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

static void copy_text(sqlite3_stmt *st, int column, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, column);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

int db_read_nan_event(const db_writer *w, long step, int layer_count, nonfinite_event *e)
{
    const char *sql = "SELECT layer_id, tensor, value_class, element_index, sample, d, h, w, channel, pass, message, "
                      "epoch FROM events WHERE run_id = ?1 AND kind = 'nan' AND step = ?2 ORDER BY event_id LIMIT 1";
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (!w->db || sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, step);
    if (sqlite3_step(st) == SQLITE_ROW) {
        memset(e, 0, sizeof *e);
        e->step = step;
        e->layer = sqlite3_column_int(st, 0);
        copy_text(st, 1, e->tensor, sizeof e->tensor);
        char cls[8], pass[32];
        copy_text(st, 2, cls, sizeof cls);
        copy_text(st, 9, pass, sizeof pass);
        int value = stored_enum_parse(STORED_VALUE_CLASS, cls), pass_index = stored_enum_parse(STORED_PASS, pass);
        e->value_class = value >= 0 ? (value_class)value : VALUE_NAN;
        e->element = sqlite3_column_int64(st, 3);
        int *axes[] = {&e->sample, &e->d, &e->h, &e->w, &e->channel};
        for (int k = 0; k < 5; k++)
            *axes[k] = sqlite3_column_type(st, 4 + k) == SQLITE_INTEGER ? sqlite3_column_int(st, 4 + k) : -1;
        e->pass = pass_index >= 0 ? (probe_pass)pass_index : PASS_FORWARD;
        copy_text(st, 10, e->message, sizeof e->message);
        e->epoch = sqlite3_column_int(st, 11);
        found = value >= 0 && e->layer >= 0 && e->layer < layer_count && e->element >= 0;
    }
    sqlite3_finalize(st);
    return found;
}
