/* db.c: opening run databases and applying the schema (see db.h). */
#include "db.h"

#include <stdio.h>
#include <sys/stat.h>

#include "schema_sql.h" /* generated from probes/schema.sql: static const char schema_sql[] */

const char *db_schema_sql(void)
{
    return schema_sql;
}

int db_open_for_reading(sqlite3 **out, const char *path, error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return error_set(err, "%s: no such file (expected a run.db written by nanprobe train)", path);
    if (!S_ISREG(st.st_mode)) return error_set(err, "%s: not a regular file (expected a run.db)", path);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        error_set(err, "%s: cannot open as SQLite: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st_version = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st_version, NULL) == SQLITE_OK &&
        sqlite3_step(st_version) == SQLITE_ROW)
        version = sqlite3_column_int(st_version, 0);
    sqlite3_finalize(st_version);
    if (version < 0) {
        error_set(err, "%s: not a SQLite database (%s)", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *probe = NULL;
    int has_runs = sqlite3_prepare_v2(db, "SELECT run_id FROM runs LIMIT 1", -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (!has_runs || version == 0) {
        error_set(err, "%s: a SQLite database, but not one written by nanprobe (no runs table)", path);
        sqlite3_close(db);
        return -1;
    }
    if (version > DB_SCHEMA_VERSION) {
        error_set(err, "%s: schema version %d is newer than this nanprobe understands (%d)", path, version,
                  DB_SCHEMA_VERSION);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

int db_open_for_writing(sqlite3 **out, const char *path, error *err)
{
    *out = NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        error_set(err, "%s: cannot create the database: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    char *message = NULL;
    /* WAL: a commit is one append to the log, readers (a report while the
     * run goes on) do not block the writer, and a killed process leaves the
     * last committed step intact. */
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &message) != SQLITE_OK ||
        sqlite3_exec(db, schema_sql, NULL, NULL, &message) != SQLITE_OK) {
        error_set(err, "%s: cannot apply the schema: %s", path, message ? message : sqlite3_errmsg(db));
        sqlite3_free(message);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}
