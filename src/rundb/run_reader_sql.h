/* run_reader_sql.h: what the readers of src/rundb see of a run_reader
 * (run_reader.h): its connection and its prepared statements, one per
 * query text, kept for the reader's life (the causal walk asks the same
 * query hundreds of times).  Not for use outside src/rundb. */
#ifndef NANPROBE_RUN_READER_SQL_H
#define NANPROBE_RUN_READER_SQL_H

#include <sqlite3.h>

#include "run_reader.h"

#define RUN_READER_STATEMENTS 16

struct run_reader {
    sqlite3 *db;
    int run_id;
    char *path;
    const char *sql[RUN_READER_STATEMENTS]; /* static query texts, compared by address */
    sqlite3_stmt *statement[RUN_READER_STATEMENTS];
};

/* The statement of sql (a string literal), reset with its bindings
 * cleared and ?1 bound to the run id; NULL when it does not prepare (a
 * table an older database lacks), with err set when err is not NULL. */
sqlite3_stmt *run_reader_query(run_reader *r, const char *sql, error *err);

/* A REAL column, NaN where NULL. */
double run_reader_real(sqlite3_stmt *st, int column);

#endif
