/* read_cause.c: the causal walk's window of rows (see read_cause.h). */
#include "read_cause.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run_reader_sql.h"

static const char stats_sql[] = "SELECT layer_id, tensor, step, absmax, l2norm, nan_count + posinf_count + "
                                "neginf_count, count FROM stats WHERE run_id = ?1 AND step BETWEEN ?2 AND ?3 "
                                "ORDER BY layer_id, tensor, step";
static const char metric_sql[] = "SELECT layer_id, metric, step, value FROM layer_metrics WHERE run_id = ?1 AND "
                                 "step BETWEEN ?2 AND ?3 ORDER BY layer_id, metric, step";
static const char input_absmax_sql[] = "SELECT MAX(absmax) FROM stats WHERE run_id = ?1 AND layer_id = 0 AND "
                                       "tensor = 'output'";
static const char worst_sample_sql[] = "SELECT position, sample_id, nan_count + inf_count, absmax, std FROM "
                                       "input_samples WHERE run_id = ?1 AND step = ?2 ORDER BY nan_count + "
                                       "inf_count DESC, absmax DESC LIMIT 1";

/* ------------------------------------------------------------- tables */

static int grow(void **rows, int capacity, size_t size)
{
    void *bigger = realloc(*rows, (size_t)capacity * size);
    if (!bigger) return -1;
    *rows = bigger;
    return 0;
}

/* The series of (layer_id, name), opened when the rows (in key order)
 * reach a new one; NULL when memory runs out. */
static window_series *series_for(window_table *t, int layer_id, const char *name)
{
    window_series *s = t->series_count ? &t->series[t->series_count - 1] : NULL;
    if (s && s->layer_id == layer_id && strcmp(s->name, name) == 0) return s;
    if (t->series_count == t->series_capacity) {
        int capacity = t->series_capacity ? 2 * t->series_capacity : 64;
        if (grow((void **)&t->series, capacity, sizeof *t->series)) return NULL;
        t->series_capacity = capacity;
    }
    s = &t->series[t->series_count];
    if (!(s->name = strdup(name))) return NULL;
    s->layer_id = layer_id, s->first = t->count, s->count = 0;
    t->series_count++;
    return s;
}

/* Appends a row at step to (layer_id, name): its index, or -1. */
static int table_append(window_table *t, int with_stats, int layer_id, const char *name, int step)
{
    window_series *s = series_for(t, layer_id, name);
    if (!s) return -1;
    if (t->count == t->capacity) {
        int capacity = t->capacity ? 2 * t->capacity : 1024;
        if (grow((void **)&t->steps, capacity, sizeof *t->steps) ||
            (with_stats ? grow((void **)&t->stats, capacity, sizeof *t->stats)
                        : grow((void **)&t->metric, capacity, sizeof *t->metric)))
            return -1;
        t->capacity = capacity;
    }
    t->steps[t->count] = step;
    s->count++;
    return t->count++;
}

static int series_order(const void *a, const void *b)
{
    const window_series *x = a, *y = b;
    if (x->layer_id != y->layer_id) return x->layer_id < y->layer_id ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void table_free(window_table *t)
{
    for (int i = 0; i < t->series_count; i++) free(t->series[i].name);
    free(t->series);
    free(t->steps);
    free(t->stats);
    free(t->metric);
    memset(t, 0, sizeof *t);
}

static int name_wanted(const char *const *names, int count, const char *name)
{
    if (!names) return 1;
    for (int i = 0; i < count; i++)
        if (names[i] && strcmp(names[i], name) == 0) return 1;
    return 0;
}

/* Runs the query of one table over the window's steps into t, keeping the
 * rows of the wanted names. */
static int table_load(run_reader *r, const char *sql, int with_stats, const cause_window_request *q,
                      window_table *t, error *err)
{
    const char *const *names = with_stats ? q->tensors : q->metrics;
    int name_count = with_stats ? q->tensor_count : q->metric_count;
    int first_step = with_stats ? q->first_step : q->first_step - 1;
    sqlite3_stmt *st = run_reader_query(r, sql, err);
    if (!st) return -1;
    sqlite3_bind_int(st, 2, first_step);
    sqlite3_bind_int(st, 3, q->nan_step);
    int rc, i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 1), *name = text ? text : "";
        if (!name_wanted(names, name_count, name)) continue;
        int step = sqlite3_column_int(st, 2);
        if ((i = table_append(t, with_stats, sqlite3_column_int(st, 0), name, step)) < 0) break;
        if (!with_stats) {
            t->metric[i] = run_reader_real(st, 3);
            continue;
        }
        stats_point *p = &t->stats[i];
        p->step = step;
        p->absmax = run_reader_real(st, 3);
        p->l2norm = run_reader_real(st, 4);
        p->nonfinite = sqlite3_column_int64(st, 5);
        p->count = sqlite3_column_int64(st, 6);
    }
    sqlite3_reset(st);
    if (i < 0) return error_set(err, "%s: out of memory loading the causal walk's rows", r->path);
    if (rc != SQLITE_DONE) return error_set(err, "%s: cannot read the run (%s)", r->path, sqlite3_errstr(rc));
    if (t->count > 0 && t->count < t->capacity) { /* give back the doubling's slack (shrinking keeps the rows) */
        grow((void **)&t->steps, t->count, sizeof *t->steps);
        grow(with_stats ? (void **)&t->stats : (void **)&t->metric, t->count,
             with_stats ? sizeof *t->stats : sizeof *t->metric);
        t->capacity = t->count;
    }
    /* The lookups search (layer_id, name) by strcmp, whatever the
     * database's collation ordered. */
    if (t->series_count) qsort(t->series, (size_t)t->series_count, sizeof *t->series, series_order);
    return 0;
}

static const window_series *series_find(const window_table *t, int layer_id, const char *name)
{
    window_series key = {.layer_id = layer_id, .name = (char *)name};
    return t->series_count ? bsearch(&key, t->series, (size_t)t->series_count, sizeof *t->series, series_order)
                           : NULL;
}

/* The first row of s at or after step. */
static int row_from(const window_table *t, const window_series *s, int step)
{
    int lo = s->first, hi = s->first + s->count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->steps[mid] < step) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The row of (layer_id, name) at step, or -1. */
static int row_at(const window_table *t, int layer_id, const char *name, int step)
{
    const window_series *s = series_find(t, layer_id, name);
    if (!s) return -1;
    int i = row_from(t, s, step);
    return i < s->first + s->count && t->steps[i] == step ? i : -1;
}

/* ------------------------------------------------------------- load */

static double one_real(sqlite3_stmt *st)
{
    double v = NAN;
    if (st && sqlite3_step(st) == SQLITE_ROW) v = run_reader_real(st, 0);
    if (st) sqlite3_reset(st);
    return v;
}

static int worst_input_sample(run_reader *r, int step, input_sample_info *out)
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

int cause_window_load(run_reader *r, const cause_window_request *q, cause_window *out, error *err)
{
    memset(out, 0, sizeof *out);
    out->nan_step = q->nan_step, out->first_step = q->first_step;
    out->validation.val_batch = -1;
    if (table_load(r, stats_sql, 1, q, &out->stats, err) || table_load(r, metric_sql, 0, q, &out->metrics, err) ||
        (q->validation && read_validation_rows(r, q->epoch, q->event_id, q->val_sample_id, &out->validation, err))) {
        cause_window_free(out);
        return -1;
    }
    out->training_input_absmax = one_real(run_reader_query(r, input_absmax_sql, NULL));
    out->has_worst_sample = worst_input_sample(r, q->nan_step, &out->worst_sample);
    out->has_worst_origin = out->has_worst_sample && read_clip_origin_at_step(r, q->nan_step,
                                                                              (long)out->worst_sample.sample_id,
                                                                              &out->worst_origin);
    return 0;
}

void cause_window_free(cause_window *w)
{
    table_free(&w->stats);
    table_free(&w->metrics);
    validation_rows_free(&w->validation);
}

static size_t table_bytes(const window_table *t)
{
    size_t bytes = (size_t)t->series_capacity * sizeof *t->series;
    for (int i = 0; i < t->series_count; i++) bytes += strlen(t->series[i].name) + 1;
    return bytes + (size_t)t->capacity * (sizeof *t->steps + (t->stats ? sizeof *t->stats : sizeof *t->metric));
}

size_t cause_window_bytes(const cause_window *w)
{
    const validation_rows *v = &w->validation;
    return sizeof *w + table_bytes(&w->stats) + table_bytes(&w->metrics) +
           (size_t)v->output_count * sizeof *v->outputs + (size_t)v->batchnorm_count * sizeof *v->batchnorms;
}

/* ------------------------------------------------------------- lookups */

int cause_window_stats(const cause_window *w, int layer_id, const char *tensor, int first_step, int last_step,
                       stats_point *out, int max)
{
    const window_series *s = series_find(&w->stats, layer_id, tensor);
    if (!s) return 0;
    int n = 0;
    for (int i = row_from(&w->stats, s, first_step); i < s->first + s->count && n < max; i++) {
        if (w->stats.steps[i] > last_step) break;
        out[n++] = w->stats.stats[i];
    }
    return n;
}

int cause_window_count(const cause_window *w, int step, int layer_id, const char *tensor, long long *nonfinite,
                       long long *count)
{
    int i = row_at(&w->stats, layer_id, tensor, step);
    if (i < 0) return 0;
    *nonfinite = w->stats.stats[i].nonfinite, *count = w->stats.stats[i].count;
    return 1;
}

double cause_window_metric(const cause_window *w, int layer_id, const char *metric, int step)
{
    int i = row_at(&w->metrics, layer_id, metric, step);
    return i < 0 ? NAN : w->metrics.metric[i];
}

double cause_window_largest_metric(const cause_window *w, const char *metric, int step)
{
    double largest = NAN; /* SQL's MAX: NULLs (NaN here) do not count */
    for (int k = 0; k < w->metrics.series_count; k++) {
        const window_series *s = &w->metrics.series[k];
        if (strcmp(s->name, metric) != 0) continue;
        int i = row_at(&w->metrics, s->layer_id, metric, step);
        if (i >= 0 && !isnan(w->metrics.metric[i]) && !(w->metrics.metric[i] <= largest)) largest = w->metrics.metric[i];
    }
    return largest;
}
