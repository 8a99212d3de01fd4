/* read_validation.c: the validation rows (see read_validation.h). */
#include "read_validation.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "read_columns.h"
#include "run_reader_sql.h"

static const char val_batch_sql[] = "SELECT val_batch FROM events WHERE run_id = ?1 AND event_id = ?2";
/* The batch's row before the epoch's summary (val_batch -1) of each layer:
 * the first row of a layer is the one kept. */
static const char output_sql[] = "SELECT layer_id, absmax, nan_count + posinf_count + neginf_count, count FROM "
                                 "validation_stats WHERE run_id = ?1 AND epoch = ?2 AND val_batch IN (?3, -1) AND "
                                 "tensor = 'output' ORDER BY layer_id, val_batch DESC";
static const char batchnorm_sql[] = "SELECT layer_id, channels, train_steps, var_ratio_min, var_ratio_max, "
                                    "mean_shift_max, inference_scale, scale_channel, moving_variance_min, "
                                    "bad_moving_variance, bad_channel FROM validation_batchnorm WHERE run_id = ?1 "
                                    "AND epoch = ?2 ORDER BY layer_id";

static int event_val_batch(run_reader *r, long long event_id)
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

/* Evidence printed beside the verdict: a damaged value reads as unknown
 * (-1, NaN) through the readers' one column check and never refuses its
 * row (read_columns.h). */
#define VALUE_INT(c, row, field)                                                                          \
    {.column = c, .type = COLUMN_INTEGER, .nullable = 1, .lenient = 1, .lo = 0, .hi = INT_MAX, \
     COLUMN_AT(row, field)}
#define VALUE_COUNT(c, row, field)                                                                        \
    {.column = c, .type = COLUMN_INTEGER, .nullable = 1, .lenient = 1, .lo = 0, .hi = LLONG_MAX, \
     COLUMN_AT(row, field)}
#define VALUE_REAL(c, row, field) {.column = c, .type = COLUMN_REAL, COLUMN_AT(row, field)}

static int load_outputs(run_reader *r, int epoch, validation_rows *v)
{
    static const column_spec spec[] = {
        VALUE_INT(0, validation_output_row, layer_id),
        VALUE_REAL(1, validation_output_row, output.absmax),
        VALUE_COUNT(2, validation_output_row, output.nonfinite),
        VALUE_COUNT(3, validation_output_row, output.count),
    };
    sqlite3_stmt *st = run_reader_query(r, output_sql, NULL);
    if (!st) return 0;
    sqlite3_bind_int(st, 2, epoch);
    sqlite3_bind_int(st, 3, v->val_batch);
    int rc = 0, capacity = 0;
    char why[240];
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        validation_output_row row;
        read_row(st, "validation_stats", spec, SPEC_COUNT(spec), &row, why, sizeof why);
        if (v->output_count && v->outputs[v->output_count - 1].layer_id == row.layer_id) continue;
        if ((rc = array_grow((void **)&v->outputs, &capacity, v->output_count + 1, sizeof *v->outputs))) break;
        v->outputs[v->output_count++] = row;
    }
    sqlite3_reset(st);
    return rc;
}

static int load_batchnorms(run_reader *r, int epoch, validation_rows *v)
{
    static const column_spec spec[] = {
        VALUE_INT(0, validation_batchnorm_row, layer_id),
        VALUE_INT(1, validation_batchnorm_row, batchnorm.channels),
        VALUE_INT(2, validation_batchnorm_row, batchnorm.train_steps),
        VALUE_REAL(3, validation_batchnorm_row, batchnorm.var_ratio_min),
        VALUE_REAL(4, validation_batchnorm_row, batchnorm.var_ratio_max),
        VALUE_REAL(5, validation_batchnorm_row, batchnorm.mean_shift),
        VALUE_REAL(6, validation_batchnorm_row, batchnorm.scale),
        VALUE_INT(7, validation_batchnorm_row, batchnorm.scale_channel),
        VALUE_REAL(8, validation_batchnorm_row, batchnorm.moving_variance_min),
        VALUE_INT(9, validation_batchnorm_row, batchnorm.bad),
        VALUE_INT(10, validation_batchnorm_row, batchnorm.bad_channel),
    };
    sqlite3_stmt *st = run_reader_query(r, batchnorm_sql, NULL);
    if (!st) return 0;
    sqlite3_bind_int(st, 2, epoch);
    int rc = 0, capacity = 0;
    char why[240];
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if ((rc = array_grow((void **)&v->batchnorms, &capacity, v->batchnorm_count + 1, sizeof *v->batchnorms))) break;
        validation_batchnorm_row *row = &v->batchnorms[v->batchnorm_count++];
        read_row(st, "validation_batchnorm", spec, SPEC_COUNT(spec), row, why, sizeof why);
        row->batchnorm.found = 1;
    }
    sqlite3_reset(st);
    return rc;
}

int read_validation_rows(run_reader *r, int epoch, long long event_id, long long sample_id, validation_rows *out,
                         error *err)
{
    memset(out, 0, sizeof *out);
    out->val_batch = event_val_batch(r, event_id);
    if (load_outputs(r, epoch, out) || load_batchnorms(r, epoch, out)) {
        validation_rows_free(out);
        return error_set(err, "%s: out of memory loading the validation rows", r->path);
    }
    out->has_clip = read_clip_origin(r, CLIP_SPLIT_VALIDATION, epoch, (long)sample_id, &out->clip);
    return 0;
}

void validation_rows_free(validation_rows *v)
{
    free(v->outputs);
    free(v->batchnorms);
    memset(v, 0, sizeof *v);
    v->val_batch = -1;
}

/* Both row types open with layer_id. */
static int by_layer_id(const void *key, const void *row)
{
    int a = *(const int *)key, b = *(const int *)row;
    return a < b ? -1 : a > b;
}

int validation_rows_output(const validation_rows *v, int layer_id, validation_output *out)
{
    const validation_output_row *row =
        v->output_count ? bsearch(&layer_id, v->outputs, (size_t)v->output_count, sizeof *v->outputs, by_layer_id)
                        : NULL;
    if (row) *out = row->output;
    else out->absmax = NAN, out->nonfinite = 0, out->count = 0;
    return row != NULL;
}

void validation_rows_batchnorm(const validation_rows *v, int layer_id, validation_batchnorm *out)
{
    const validation_batchnorm_row *row =
        v->batchnorm_count
            ? bsearch(&layer_id, v->batchnorms, (size_t)v->batchnorm_count, sizeof *v->batchnorms, by_layer_id)
            : NULL;
    if (row) {
        *out = row->batchnorm;
        return;
    }
    memset(out, 0, sizeof *out);
    out->scale = out->var_ratio_max = out->mean_shift = NAN;
}
