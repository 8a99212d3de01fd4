/* read_run_clip.c: runs.clip of the first run (see read_run_clip.h). */
#include "read_run_clip.h"

#include <stdio.h>

#include "db.h"

int read_run_clip(const char *db_path, char *out, size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT clip FROM runs ORDER BY run_id LIMIT 1", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        /* a clip that does not fit is no clip: cut, it could parse as another */
        found = snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0)) < (int)size;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}
