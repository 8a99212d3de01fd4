/* read_validation.c: the validation rows (see read_validation.h). */
#include "read_validation.h"

#include <math.h>
#include <string.h>

#include "run_reader_sql.h"

static const char val_batch_sql[] = "SELECT val_batch FROM events WHERE run_id = ?1 AND event_id = ?2";
static const char output_sql[] = "SELECT absmax, nan_count + posinf_count + neginf_count, count FROM "
                                 "validation_stats WHERE run_id = ?1 AND epoch = ?2 AND val_batch IN (?3, -1) AND "
                                 "layer_id = ?4 AND tensor = 'output' ORDER BY val_batch DESC LIMIT 1";
static const char batchnorm_sql[] = "SELECT channels, train_steps, var_ratio_min, var_ratio_max, mean_shift_max, "
                                    "inference_scale, scale_channel, moving_variance_min, bad_moving_variance, "
                                    "bad_channel FROM validation_batchnorm WHERE run_id = ?1 AND epoch = ?2 AND "
                                    "layer_id = ?3";

int read_event_val_batch(run_reader *r, long long event_id)
{
    sqlite3_stmt *st = run_reader_query(r, val_batch_sql, NULL);
    if (!st) return -1;
    sqlite3_bind_int64(st, 2, event_id);
    int batch = -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        batch = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return batch;
}

int read_validation_output(run_reader *r, int epoch, int val_batch, int layer_id, validation_output *out)
{
    out->absmax = NAN, out->nonfinite = 0, out->count = 0;
    sqlite3_stmt *st = run_reader_query(r, output_sql, NULL);
    if (!st) return 0;
    sqlite3_bind_int(st, 2, epoch);
    sqlite3_bind_int(st, 3, val_batch);
    sqlite3_bind_int(st, 4, layer_id);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        out->absmax = run_reader_real(st, 0);
        out->nonfinite = sqlite3_column_int64(st, 1);
        out->count = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return found;
}

static int column_index(sqlite3_stmt *st, int column)
{
    return sqlite3_column_type(st, column) == SQLITE_NULL ? -1 : sqlite3_column_int(st, column);
}

void read_validation_batchnorm(run_reader *r, int epoch, int layer_id, validation_batchnorm *out)
{
    memset(out, 0, sizeof *out);
    out->scale = out->var_ratio_max = out->mean_shift = NAN;
    sqlite3_stmt *st = run_reader_query(r, batchnorm_sql, NULL);
    if (!st) return;
    sqlite3_bind_int(st, 2, epoch);
    sqlite3_bind_int(st, 3, layer_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->found = 1;
        out->channels = sqlite3_column_int(st, 0);
        out->train_steps = sqlite3_column_int(st, 1);
        out->var_ratio_min = run_reader_real(st, 2);
        out->var_ratio_max = run_reader_real(st, 3);
        out->mean_shift = run_reader_real(st, 4);
        out->scale = run_reader_real(st, 5);
        out->scale_channel = column_index(st, 6);
        out->moving_variance_min = run_reader_real(st, 7);
        out->bad = sqlite3_column_int(st, 8);
        out->bad_channel = column_index(st, 9);
    }
    sqlite3_reset(st);
}
