/* test_db.h: reading a run's run.db in tests (the programs that include it
 * query SQLite directly, beside test_util.h). */
#ifndef NANPROBE_TEST_DB_H
#define NANPROBE_TEST_DB_H

#include <sqlite3.h>
#include <stdio.h>

/* The rows of a query on DIR/run.db, one "a|b|c" line each (NULL as
 * "NULL"), into out; returns the row count, -1 when the query fails. */
static inline int test_db_rows(const char *dir, const char *sql, char *out, size_t size)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/run.db", dir);
    sqlite3 *db;
    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *st;
    int rows = 0;
    size_t used = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *t = sqlite3_column_text(st, c);
                used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s", c ? "|" : "",
                                         t ? (const char *)t : "NULL");
            }
            used += (size_t)snprintf(out + used, used < size ? size - used : 0, "\n");
            rows++;
        }
        sqlite3_finalize(st);
    } else {
        fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
        rows = -1;
    }
    sqlite3_close(db);
    return rows;
}

#endif
