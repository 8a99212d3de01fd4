/* precision_data.c: loading the precision facts of a run (see precision_data.h). */
#include "precision_data.h"

#include <stdio.h>
#include <string.h>

/* The string value of "key": "value" in a flat JSON object. */
static void json_string(const char *json, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *at = json ? strstr(json, pattern) : NULL;
    if (!at) return;
    at += strlen(pattern);
    size_t n = 0;
    while (at[n] && at[n] != '"' && n + 1 < size) n++;
    memcpy(out, at, n);
    out[n] = '\0';
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

static void copy_column(sqlite3_stmt *st, int column, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text(st, column);
    snprintf(out, size, "%s", text ? (const char *)text : "");
}

static void load_steps(precision_info *p, sqlite3 *db, int run_id)
{
    sqlite3_stmt *st = query(db, "SELECT loss_scale, skipped FROM steps WHERE run_id = ?1 ORDER BY step", run_id);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) continue;
        int skipped = sqlite3_column_int(st, 1);
        p->scaled_steps++;
        p->skipped_steps += skipped;
        p->trailing_skipped = skipped ? p->trailing_skipped + 1 : 0;
        p->last_scale = sqlite3_column_double(st, 0);
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
    while (st && sqlite3_step(st) == SQLITE_ROW && p->ladder_count < PRECISION_LADDER_MAX) {
        ladder_info *x = &p->ladder[p->ladder_count++];
        x->step = sqlite3_column_int(st, 0);
        copy_column(st, 1, x->precision, sizeof x->precision);
        x->failed = sqlite3_column_int(st, 2);
        x->skipped = sqlite3_column_int(st, 3);
        x->bad_layer = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
        copy_column(st, 5, x->bad_tensor, sizeof x->bad_tensor);
        copy_column(st, 6, x->bad_value, sizeof x->bad_value);
        x->lost_layer = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
        copy_column(st, 8, x->lost_tensor, sizeof x->lost_tensor);
    }
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
        json_string(json, "precision", p->precision, sizeof p->precision);
        json_string(json, "bn_variance", p->bn_variance, sizeof p->bn_variance);
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
