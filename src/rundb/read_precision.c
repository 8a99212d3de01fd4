/* read_precision.c: loading the precision facts of a run (see read_precision.h). */
#include "read_precision.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "read_columns.h"

/* The string value of key in runs.config_json, when there is one. */
static void config_string(const char *json, const char *key, char *out, size_t size)
{
    json_t *root = json ? json_loads(json, 0, NULL) : NULL;
    const char *value = json_string_value(json_object_get(root, key));
    if (value) snprintf(out, size, "%s", value);
    json_decref(root);
}

static sqlite3_stmt *query(sqlite3 *db, const char *sql, int run_id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    sqlite3_bind_int(st, 1, run_id);
    return st;
}

/* Every part is only said, never an index or a loop bound: a damaged value
 * reads as unknown (-1, NaN) and the row is kept (read_columns.h). */
#define LENIENT_INT(c, row, field, hi_) \
    {.column = c, .type = COLUMN_INTEGER, .lenient = 1, .lo = 0, .hi = hi_, COLUMN_AT(row, field)}

typedef struct scale_row {
    double scale;
    int skipped;
} scale_row;

static void load_steps(precision_info *p, sqlite3 *db, int run_id)
{
    sqlite3_stmt *st = query(db, "SELECT loss_scale, skipped FROM steps WHERE run_id = ?1 ORDER BY step", run_id);
    static const column_spec spec[] = {
        {.column = 0, .type = COLUMN_REAL, COLUMN_AT(scale_row, scale)},
        LENIENT_INT(1, scale_row, skipped, 1),
    };
    char why[240];
    scale_row row;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL || read_row(st, "steps", spec, SPEC_COUNT(spec), &row, why, sizeof why))
            continue;
        int skipped = row.skipped == 1;
        p->scaled_steps++;
        p->skipped_steps += skipped;
        p->trailing_skipped = skipped ? p->trailing_skipped + 1 : 0;
        p->last_scale = row.scale;
    }
    sqlite3_finalize(st);
    st = query(db, "SELECT COUNT(*), MIN(step) FROM events WHERE run_id = ?1 AND kind = 'bn_variance_negative'",
               run_id);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        p->bn_negative_steps = sqlite3_column_int(st, 0);
        p->first_bn_negative_step = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
}

static void load_ladder(precision_info *p, sqlite3 *db, int run_id)
{
    sqlite3_stmt *st = query(db,
                             "SELECT step, precision, failed, skipped, first_bad_layer, first_bad_tensor, "
                             "first_bad_value, first_lost_layer, first_lost_tensor FROM replay_precisions "
                             "WHERE run_id = ?1 ORDER BY step, CASE precision WHEN 'float32' THEN 0 WHEN 'tf32' THEN 1 "
                             "WHEN 'mixed_bfloat16' THEN 2 ELSE 3 END",
                             run_id);
    static const column_spec spec[] = {
        LENIENT_INT(0, ladder_info, step, 1 << 30),
        {.column = 1, .type = COLUMN_TEXT_IN, COLUMN_AT(ladder_info, precision)},
        LENIENT_INT(2, ladder_info, failed, 1),
        LENIENT_INT(3, ladder_info, skipped, 1),
        LENIENT_INT(4, ladder_info, bad_layer, INT_MAX),
        {.column = 5, .type = COLUMN_TEXT_IN, COLUMN_AT(ladder_info, bad_tensor)},
        {.column = 6, .type = COLUMN_TEXT_IN, COLUMN_AT(ladder_info, bad_value)},
        LENIENT_INT(7, ladder_info, lost_layer, INT_MAX),
        {.column = 8, .type = COLUMN_TEXT_IN, COLUMN_AT(ladder_info, lost_tensor)},
    };
    char why[240];
    while (st && sqlite3_step(st) == SQLITE_ROW && p->ladder_count < PRECISION_LADDER_MAX)
        if (read_row(st, "replay_precisions", spec, SPEC_COUNT(spec), &p->ladder[p->ladder_count], why, sizeof why) == 0)
            p->ladder_count++;
    sqlite3_finalize(st);
}

void precision_info_load(precision_info *p, sqlite3 *db, int run_id)
{
    memset(p, 0, sizeof *p);
    snprintf(p->precision, sizeof p->precision, "float32");
    snprintf(p->bn_variance, sizeof p->bn_variance, "two_pass");
    sqlite3_stmt *st = query(db, "SELECT config_json FROM runs WHERE run_id = ?1", run_id);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(st, 0);
        config_string(json, "precision", p->precision, sizeof p->precision);
        config_string(json, "bn_variance", p->bn_variance, sizeof p->bn_variance);
    }
    sqlite3_finalize(st);
    load_steps(p, db, run_id);
    load_ladder(p, db, run_id);
}

void precision_ladder_list(const precision_info *p, int step, int failed, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < p->ladder_count; i++) {
        const ladder_info *x = &p->ladder[i];
        if (x->step != step || x->failed != failed || used >= size) continue;
        used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", x->precision);
    }
}
