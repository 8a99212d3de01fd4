/* read_cause.c: the causal walk's rows (see read_cause.h). */
#include "read_cause.h"

#include <math.h>
#include <string.h>

#include "run_reader_sql.h"

static const char stats_sql[] = "SELECT step, absmax, l2norm, nan_count + posinf_count + neginf_count FROM stats "
                                "WHERE run_id = ?1 AND layer_id = ?2 AND tensor = ?3 AND step BETWEEN ?4 AND ?5 "
                                "ORDER BY step";
static const char metric_sql[] = "SELECT value FROM layer_metrics WHERE run_id = ?1 AND layer_id = ?2 AND "
                                 "metric = ?3 AND step = ?4";
static const char count_sql[] = "SELECT nan_count + posinf_count + neginf_count, count FROM stats WHERE "
                                "run_id = ?1 AND step = ?2 AND layer_id = ?3 AND tensor = ?4";
static const char input_absmax_sql[] = "SELECT MAX(absmax) FROM stats WHERE run_id = ?1 AND layer_id = 0 AND "
                                       "tensor = 'output'";
static const char largest_metric_sql[] = "SELECT MAX(value) FROM layer_metrics WHERE run_id = ?1 AND step = ?2 "
                                         "AND metric = ?3";
static const char worst_sample_sql[] = "SELECT position, sample_id, nan_count + inf_count, absmax, std FROM "
                                       "input_samples WHERE run_id = ?1 AND step = ?2 ORDER BY nan_count + "
                                       "inf_count DESC, absmax DESC LIMIT 1";

int read_cause_ready(run_reader *r, error *err)
{
    return run_reader_query(r, stats_sql, err) && run_reader_query(r, metric_sql, err) ? 0 : -1;
}

int read_stats_window(run_reader *r, int layer_id, const char *tensor, int first_step, int last_step,
                      stats_point *out, int max)
{
    sqlite3_stmt *st = run_reader_query(r, stats_sql, NULL);
    if (!st) return 0;
    sqlite3_bind_int(st, 2, layer_id);
    sqlite3_bind_text(st, 3, tensor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, first_step);
    sqlite3_bind_int(st, 5, last_step);
    int n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW) {
        stats_point *p = &out[n++];
        p->step = sqlite3_column_int(st, 0);
        p->absmax = run_reader_real(st, 1);
        p->l2norm = run_reader_real(st, 2);
        p->nonfinite = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return n;
}

int read_stats_count(run_reader *r, int step, int layer_id, const char *tensor, long long *nonfinite,
                     long long *count)
{
    sqlite3_stmt *st = run_reader_query(r, count_sql, NULL);
    if (!st) return 0;
    sqlite3_bind_int(st, 2, step);
    sqlite3_bind_int(st, 3, layer_id);
    sqlite3_bind_text(st, 4, tensor, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) *nonfinite = sqlite3_column_int64(st, 0), *count = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return found;
}

/* The one REAL of a one-row query whose ?1 is the run (NaN when none). */
static double one_real(sqlite3_stmt *st)
{
    double v = NAN;
    if (st && sqlite3_step(st) == SQLITE_ROW) v = run_reader_real(st, 0);
    if (st) sqlite3_reset(st);
    return v;
}

double read_training_input_absmax(run_reader *r)
{
    return one_real(run_reader_query(r, input_absmax_sql, NULL));
}

double read_layer_metric(run_reader *r, int layer_id, const char *metric, int step)
{
    sqlite3_stmt *st = run_reader_query(r, metric_sql, NULL);
    if (st) {
        sqlite3_bind_int(st, 2, layer_id);
        sqlite3_bind_text(st, 3, metric, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 4, step);
    }
    return one_real(st);
}

double read_largest_metric(run_reader *r, const char *metric, int step)
{
    sqlite3_stmt *st = run_reader_query(r, largest_metric_sql, NULL);
    if (st) {
        sqlite3_bind_int(st, 2, step);
        sqlite3_bind_text(st, 3, metric, -1, SQLITE_TRANSIENT);
    }
    return one_real(st);
}

int read_worst_input_sample(run_reader *r, int step, input_sample_info *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = run_reader_query(r, worst_sample_sql, NULL);
    if (!st) return 0;
    sqlite3_bind_int(st, 2, step);
    int found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        out->position = sqlite3_column_int(st, 0);
        out->sample_id = sqlite3_column_int64(st, 1);
        out->nonfinite = sqlite3_column_int64(st, 2);
        out->absmax = sqlite3_column_double(st, 3);
        out->std = run_reader_real(st, 4);
    }
    sqlite3_reset(st);
    return found;
}
