/* db_bind.h: what the run.db writers (db.c, db_replay.c, db_validation.c)
 * share: binding a value or NULL (SQLite has no NaN: a NULL reads as "no
 * value" in every query and plot), a tensor's summary, and preparing,
 * running and finalizing their statements. */
#ifndef NANPROBE_DB_BIND_H
#define NANPROBE_DB_BIND_H

#include <math.h>
#include <sqlite3.h>

#include "stats.h"

/* NaN and Inf as NULL (statistics: a non-finite one is no value). */
static inline void db_bind_finite(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v)) sqlite3_bind_double(st, i, v);
    else sqlite3_bind_null(st, i);
}

/* NaN as NULL, +-Inf kept (a replay's float64 value may be past FLT_MAX). */
static inline void db_bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v)) sqlite3_bind_null(st, i);
    else sqlite3_bind_double(st, i, v);
}

/* A negative index or count (-1: none) as NULL. */
static inline void db_bind_index(sqlite3_stmt *st, int i, long long v)
{
    if (v >= 0) sqlite3_bind_int64(st, i, v);
    else sqlite3_bind_null(st, i);
}

static inline void db_bind_text(sqlite3_stmt *st, int i, const char *text)
{
    if (text) sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

/* A tensor's mean, std, min, max and absmax into columns first..first+4;
 * all NULL when it has no finite element (the stats cover finite ones). */
static inline void db_bind_summary(sqlite3_stmt *st, int first, const tensor_stats *s)
{
    if (stats_finite(s) <= 0) return;
    db_bind_finite(st, first, stats_mean(s));
    db_bind_finite(st, first + 1, stats_std(s));
    db_bind_finite(st, first + 2, s->min);
    db_bind_finite(st, first + 3, s->max);
    db_bind_finite(st, first + 4, stats_absmax(s));
}

/* Runs a prepared INSERT or UPDATE and readies it for the next row; 1 when
 * it completed. */
static inline int db_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

static inline void db_finalize_all(sqlite3_stmt **const st[], int n)
{
    for (int i = 0; i < n; i++) {
        sqlite3_finalize(*st[i]);
        *st[i] = NULL;
    }
}

/* Prepares sql[i] into *st[i] (each set to NULL first); -1 at the first
 * failure, whose sqlite3_errmsg the caller reports before db_finalize_all. */
static inline int db_prepare_all(sqlite3 *db, const char *const sql[], sqlite3_stmt **const st[], int n)
{
    for (int i = 0; i < n; i++) *st[i] = NULL;
    for (int i = 0; i < n; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, st[i], NULL) != SQLITE_OK) return -1;
    return 0;
}

#endif
