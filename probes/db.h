/* db.h: the run database (run.db): schema, writing, and opening for reports.
 *
 * The schema lives in probes/schema.sql (compiled in as a string) and is
 * documented in the README; `nanprobe schema` prints it. */
#ifndef NANPROBE_DB_H
#define NANPROBE_DB_H

#include <sqlite3.h>

#include "error.h"

#define DB_SCHEMA_VERSION 1

/* The full CREATE script of probes/schema.sql. */
const char *db_schema_sql(void);

/* Opens an existing run database read-only for reports, checking that it is
 * a nanprobe database of a schema version this build understands. */
int db_open_for_reading(sqlite3 **out, const char *path, error *err);

/* Creates (or opens) a database for writing and applies the schema. */
int db_open_for_writing(sqlite3 **out, const char *path, error *err);

#endif
