/* db_ladder.c: writing the precision ladder's rows (see db_ladder.h). */
#include "db_ladder.h"

#include <math.h>
#include <sqlite3.h>
#include <stddef.h>

static void bind_layer(sqlite3_stmt *st, int column, int layer, const char *tensor)
{
    if (layer < 0) {
        sqlite3_bind_null(st, column);
        sqlite3_bind_null(st, column + 1);
        return;
    }
    sqlite3_bind_int(st, column, layer);
    sqlite3_bind_text(st, column + 1, tensor, -1, SQLITE_TRANSIENT);
}

int db_write_ladder(db_writer *w, const ladder_row *row, error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w->db,
                           "INSERT OR REPLACE INTO replay_precisions (run_id, step, precision, failed, skipped, "
                           "loss_scale, loss, first_bad_layer, first_bad_tensor, first_bad_value, first_lost_layer, "
                           "first_lost_tensor, message) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        error_set(err, "run.db: cannot write the precision ladder (%s)", sqlite3_errmsg(w->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, row->step);
    sqlite3_bind_text(st, 3, stored_enum_name(STORED_LADDER_PRECISION, (int)row->precision), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, row->failed);
    sqlite3_bind_int(st, 5, row->skipped);
    if (row->loss_scale > 0) sqlite3_bind_double(st, 6, row->loss_scale);
    if (isfinite(row->loss)) sqlite3_bind_double(st, 7, row->loss);
    bind_layer(st, 8, row->first_bad_layer, row->first_bad_tensor);
    if (row->first_bad_layer >= 0)
        sqlite3_bind_text(st, 10, stored_enum_name(STORED_LADDER_BAD_VALUE, (int)row->first_bad_value), -1,
                          SQLITE_STATIC);
    bind_layer(st, 11, row->first_lost_layer, row->first_lost_tensor);
    sqlite3_bind_text(st, 13, row->message, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : error_set(err, "run.db: writing the precision ladder: %s",
                                                                sqlite3_errmsg(w->db));
    sqlite3_finalize(st);
    return rc;
}
