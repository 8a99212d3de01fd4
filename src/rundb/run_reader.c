/* run_reader.c: a read-only run connection with its statements (see
 * run_reader.h). */
#include "run_reader_sql.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

run_reader *run_reader_open(const char *path, int run_id, error *err)
{
    run_reader *r = calloc(1, sizeof *r);
    if (!r) {
        error_set(err, "out of memory opening %s", path);
        return NULL;
    }
    if (db_open_for_reading(&r->db, path, err)) {
        free(r);
        return NULL;
    }
    r->run_id = run_id;
    r->path = strdup(path);
    if (!r->path) {
        error_set(err, "out of memory opening %s", path);
        run_reader_close(r);
        return NULL;
    }
    return r;
}

void run_reader_close(run_reader *r)
{
    if (!r) return;
    for (int i = 0; i < RUN_READER_STATEMENTS; i++) sqlite3_finalize(r->statement[i]);
    sqlite3_close(r->db);
    free(r->path);
    free(r);
}

static sqlite3_stmt *prepared(run_reader *r, const char *sql, error *err)
{
    int i = 0;
    while (i < RUN_READER_STATEMENTS && r->sql[i] && r->sql[i] != sql) i++;
    if (i < RUN_READER_STATEMENTS && r->sql[i]) return r->statement[i];
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        if (err) error_set(err, "%s: cannot read the run (%s)", r->path, sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        return NULL;
    }
    if (i == RUN_READER_STATEMENTS) { /* full: the oldest makes room */
        sqlite3_finalize(r->statement[0]);
        for (i = 0; i + 1 < RUN_READER_STATEMENTS; i++) r->sql[i] = r->sql[i + 1], r->statement[i] = r->statement[i + 1];
    }
    r->sql[i] = sql;
    r->statement[i] = st;
    return st;
}

sqlite3_stmt *run_reader_query(run_reader *r, const char *sql, error *err)
{
    sqlite3_stmt *st = prepared(r, sql, err);
    if (!st) return NULL;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int(st, 1, r->run_id);
    return st;
}

double run_reader_real(sqlite3_stmt *st, int column)
{
    return sqlite3_column_type(st, column) == SQLITE_NULL ? NAN : sqlite3_column_double(st, column);
}
