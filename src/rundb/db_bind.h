/* db_bind.h: binding a value or NULL, shared by the run.db writers (db.c,
 * db_replay.c, db_validation.c).  SQLite has no NaN: a NULL reads as "no
 * value" in every query and plot. */
#ifndef NANPROBE_DB_BIND_H
#define NANPROBE_DB_BIND_H

#include <math.h>
#include <sqlite3.h>

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

#endif
