/* test_db.h: reading a run's run.db in tests, and editing it where a
 * hostile case plants bad rows.  Tests query through here rather than with
 * statements of their own; the two exceptions write, not read: the
 * synthetic run test_report binds row by row, and the fuzz harness that
 * runs untrusted SQL under an authorizer (tests/fuzz/fuzz_rundata.c).
 *
 * test_db_* take the run directory DIR and open DIR/run.db for that one
 * call; test_sql_* run on a database the test holds open (one opened by the
 * library's own reader, say).  Text results follow one convention: a row is
 * "a|b|c", a NULL is "NULL", no row is "". */
#ifndef NANPROBE_TEST_DB_H
#define NANPROBE_TEST_DB_H

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>

/* The database file at path opened with flags (SQLITE_OPEN_READONLY, or
 * SQLITE_OPEN_READWRITE to plant rows, | SQLITE_OPEN_CREATE for a new
 * file); NULL when it cannot be opened (quietly: a test may poll for a
 * database that a run has not created yet). */
static inline sqlite3 *test_sql_open(const char *path, int flags)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) == SQLITE_OK) return db;
    sqlite3_close(db); /* a failed open still holds a handle */
    return NULL;
}

/* DIR/run.db opened like test_sql_open. */
static inline sqlite3 *test_db_open(const char *dir, int flags)
{
    char path[4400];
    snprintf(path, sizeof path, "%.4300s/run.db", dir);
    return test_sql_open(path, flags);
}

/* sql prepared and stepped to its first row; NULL when it fails (the reason
 * printed) or has no row. */
static inline sqlite3_stmt *test_sql_first(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
        return NULL;
    }
    if (sqlite3_step(st) == SQLITE_ROW) return st;
    sqlite3_finalize(st);
    return NULL;
}

/* Appends the current row of st to out as "a|b|c" (used: its length). */
static inline void test_sql_append_row(sqlite3_stmt *st, char *out, size_t size, size_t *used)
{
    for (int c = 0; c < sqlite3_column_count(st); c++) {
        const unsigned char *t = sqlite3_column_text(st, c);
        *used += (size_t)snprintf(out + *used, *used < size ? size - *used : 0, "%s%s", c ? "|" : "",
                                  t ? (const char *)t : "NULL");
    }
}

/* The rows of sql, one "a|b|c" line each, into out; the row count, -1 when
 * the query fails. */
static inline int test_sql_rows(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
        return -1;
    }
    int rows = 0;
    size_t used = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        test_sql_append_row(st, out, size, &used);
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, "\n");
        rows++;
    }
    sqlite3_finalize(st);
    return rows;
}

/* The first row of sql as "a|b|c", whole (a value may hold newlines); ""
 * when there is none. */
static inline void test_sql_row(sqlite3 *db, const char *sql, char *out, size_t size)
{
    out[0] = '\0';
    sqlite3_stmt *st = test_sql_first(db, sql);
    if (!st) return;
    size_t used = 0;
    test_sql_append_row(st, out, size, &used);
    sqlite3_finalize(st);
}

/* The first column of the first row as an exact double; NAN when there is
 * no row, the value is NULL or the query fails. */
static inline double test_sql_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = test_sql_first(db, sql);
    double value = NAN;
    if (st && sqlite3_column_type(st, 0) != SQLITE_NULL) value = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return value;
}

/* Runs statements that change the database; 0, or -1 with the reason
 * printed. */
static inline int test_sql_exec(sqlite3 *db, const char *sql)
{
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    if (rc != SQLITE_OK) fprintf(stderr, "sql failed: %s: %.200s\n", message ? message : sqlite3_errmsg(db), sql);
    sqlite3_free(message);
    return rc == SQLITE_OK ? 0 : -1;
}

/* test_sql_rows on DIR/run.db; -1 when it cannot be opened. */
static inline int test_db_rows(const char *dir, const char *sql, char *out, size_t size)
{
    out[0] = '\0';
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READONLY);
    if (!db) return -1;
    int rows = test_sql_rows(db, sql, out, size);
    sqlite3_close(db);
    return rows;
}

/* test_sql_row on DIR/run.db. */
static inline void test_db_row(const char *dir, const char *sql, char *out, size_t size)
{
    out[0] = '\0';
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READONLY);
    if (!db) return;
    test_sql_row(db, sql, out, size);
    sqlite3_close(db);
}

/* test_sql_double on DIR/run.db (NAN when it cannot be opened). */
static inline double test_db_double(const char *dir, const char *sql)
{
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READONLY);
    if (!db) return NAN;
    double value = test_sql_double(db, sql);
    sqlite3_close(db);
    return value;
}

/* test_sql_exec on DIR/run.db opened for writing. */
static inline int test_db_exec(const char *dir, const char *sql)
{
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READWRITE);
    if (!db) return -1;
    int rc = test_sql_exec(db, sql);
    sqlite3_close(db);
    return rc;
}

/* The first column of every row, joined by ','; a REAL with all 17
 * digits, so that equal text means equal doubles. */
static inline void test_db_list(const char *dir, const char *sql, char *out, size_t size)
{
    out[0] = '\0';
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READONLY);
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK)
        while (sqlite3_step(st) == SQLITE_ROW && used + 1 < size) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            if (sqlite3_column_type(st, 0) == SQLITE_FLOAT)
                used += (size_t)snprintf(out + used, size - used, "%s%.17g", used ? "," : "", sqlite3_column_double(st, 0));
            else
                used += (size_t)snprintf(out + used, size - used, "%s%s", used ? "," : "", t ? (const char *)t : "NULL");
        }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* The loss of every step, as exact doubles, into loss; the number of
 * steps, -1 when the database cannot be read or its steps are not 1, 2,
 * 3, ... (training commits them in order). */
static inline int test_db_losses(const char *dir, double *loss, int capacity)
{
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READONLY);
    if (!db) return -1;
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(db, "SELECT step, loss FROM steps ORDER BY step", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW && n < capacity) {
            if (sqlite3_column_int(st, 0) != n + 1) {
                n = -1;
                break;
            }
            loss[n++] = sqlite3_column_double(st, 1);
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

#endif
