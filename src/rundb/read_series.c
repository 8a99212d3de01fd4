/* read_series.c: the big tables of a run (stats, layer_metrics) read into
 * the per-layer series of read_run.h and the largest |x| of every tensor.
 *
 * For a 10,000-step ResNet3D-34 run they hold ~15 million rows, so each
 * table is read in one pass, split by step range over a few threads with
 * one read-only connection per thread; names are looked up in a small hash
 * once per row, and the values land in preallocated probe x layer grids. */
#include <limits.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_run_private.h"
#include "run_names.h"

/* ------------------------------------------------------------ name lookup */

/* Tensor and metric names are looked up once per row (millions of rows), so
 * a small open-addressing hash keyed by the text replaces strcmp chains. */
#define NAME_SLOTS 1024

typedef struct name_table {
    char **names;
    size_t *lengths;
    int count;
    int slots[NAME_SLOTS]; /* index + 1, 0 = empty */
} name_table;

/* A cheap hash of the length and three characters (collisions are settled by
 * memcmp); also measures the length. */
static unsigned name_hash(const unsigned char *s, size_t *length)
{
    size_t n = strlen((const char *)s);
    *length = n;
    if (n == 0) return 0;
    return (unsigned)(n * 131u + s[0] * 31u + s[n - 1] * 7u + s[n / 2] * 17u + s[(n * 3) / 4]);
}

static int name_find(const name_table *t, const unsigned char *s)
{
    size_t length;
    for (unsigned i = name_hash(s, &length) % NAME_SLOTS, n = 0; n < NAME_SLOTS; i = (i + 1) % NAME_SLOTS, n++) {
        int k = t->slots[i];
        if (!k) return -1;
        if (t->lengths[k - 1] == length && memcmp(t->names[k - 1], s, length) == 0) return k - 1;
    }
    return -1;
}

static int name_add(name_table *t, const char *s)
{
    if (t->count >= NAME_SLOTS / 2) return -1;
    char **names = realloc(t->names, (size_t)(t->count + 1) * sizeof *names);
    if (!names) return -1;
    t->names = names;
    size_t *lengths = realloc(t->lengths, (size_t)(t->count + 1) * sizeof *lengths);
    if (!lengths) return -1;
    t->lengths = lengths;
    if (!(names[t->count] = strdup(s))) return -1;
    size_t length;
    unsigned i = name_hash((const unsigned char *)s, &length) % NAME_SLOTS;
    lengths[t->count] = length;
    while (t->slots[i]) i = (i + 1) % NAME_SLOTS;
    t->slots[i] = ++t->count;
    return t->count - 1;
}

static void name_table_free(name_table *t)
{
    for (int i = 0; i < t->count; i++) free(t->names[i]);
    free(t->names);
    free(t->lengths);
}

/* Distinct values of a text column through its index (stats_by_tensor,
 * metrics_by_name): one seek per distinct value instead of a table scan. */
static int load_distinct_names(rundata *d, sqlite3 *db, const char *sql, name_table *names, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db, sql, &st, d->path, err)) return -1;
    char last[256] = "";
    for (;;) {
        sqlite3_bind_int(st, 1, d->run.run_id);
        sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            int failed = step_failed(db, rc, d->path, err);
            sqlite3_finalize(st);
            return failed;
        }
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || strlen(name) >= sizeof last || name_add(names, name) < 0) {
            sqlite3_finalize(st);
            return error_set(err, "%s: too many or too long tensor/metric names", d->path);
        }
        snprintf(last, sizeof last, "%s", name);
        sqlite3_reset(st);
    }
}

/* ------------------------------------------------------------ big tables */

typedef struct scan_plan {
    const rundata *d;
    name_table tensors, metrics;
    /* tensor index -> series for the absmax / l2norm / zero_fraction column */
    int *tensor_series; /* tensor_count x 3, -1 = none */
    int *metric_series; /* metric_count, -1 = none */
    size_t cells;       /* probes x layers */
    int need_stats, need_metrics, with_extremes;
    char stats_sql[2048], metrics_sql[2048];
} scan_plan;

typedef struct scan_part {
    int first_probe, end_probe;
    int cached_step, cached_probe; /* rows arrive ordered by step: one bisection per step */
    tensor_extreme *extremes;      /* this thread's, merged afterwards */
    int failed;
    char message[sizeof(error)];
} scan_part;

/* layer_id is the layer's index (load_layers checked 0..N-1). */
static int plan_layer(const rundata *d, long long layer_id)
{
    return layer_id >= 0 && layer_id < d->layer_count ? (int)layer_id : -1;
}

/* The probe index of a step, by bisection over the probed steps (no table
 * sized by a step value, which a hostile file chooses). */
static int plan_probe(const rundata *d, scan_part *part, long long step)
{
    if (step == part->cached_step) return part->cached_probe;
    int lo = part->first_probe, hi = part->end_probe - 1, found = -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (d->probe_steps[mid] == step) {
            found = mid;
            break;
        }
        if (d->probe_steps[mid] < step) lo = mid + 1;
        else hi = mid - 1;
    }
    part->cached_step = step >= INT32_MIN && step <= INT32_MAX ? (int)step : -1;
    part->cached_probe = found;
    return found;
}

static void store(rundata *d, int s, int probe, int layer, double value)
{
    if (isnan(value) || !d->series[s]) return;
    d->series[s][(size_t)probe * (size_t)d->layer_count + (size_t)layer] = (float)value;
}

static void scan_stats_row(rundata *d, const scan_plan *p, scan_part *part, sqlite3_stmt *st, int probe, int layer,
                           int t)
{
    /* stats columns: step, layer_id, tensor, summary, absmax, l2norm,
     * zero_fraction, count.  `summary` is absmax when the tensor was finite
     * (-0.5 when NULL) and -1 - nonfinite otherwise, so most rows need 4
     * column reads instead of 8. */
    double summary = sqlite3_column_double(st, 3);
    long long nonfinite = summary < -0.75 ? count_of(-summary - 1.0 + 0.5) : 0;
    if (summary < -0.75 && nonfinite == 0) nonfinite = 1;
    double absmax = summary >= 0 ? summary : nonfinite ? sqlite3_column_double(st, 4) : -1.0;
    const int *targets = &p->tensor_series[t * 3];
    for (int c = 0; c < 3; c++) {
        if (targets[c] < 0) continue;
        double v = c == STATS_ABSMAX ? absmax : sqlite3_column_double(st, 4 + c);
        if (v >= 0) store(d, targets[c], probe, layer, v);
        /* Element counts are fixed per layer: the first part records them
         * (one writer, no race between threads). */
        if (part->first_probe == 0 && d->series_elements[targets[c]])
            d->series_elements[targets[c]][layer] = sqlite3_column_int64(st, 7);
    }
    if (!part->extremes) return;
    tensor_extreme *x = &part->extremes[(size_t)layer * (size_t)p->tensors.count + (size_t)t];
    int step = d->probe_steps[probe];
    if (absmax >= 0 && (x->absmax_step == 0 || absmax > x->absmax)) {
        x->absmax = absmax;
        x->absmax_step = step;
    }
    if (nonfinite > 0) {
        if (x->first_nonfinite_step == 0 || step < x->first_nonfinite_step) x->first_nonfinite_step = step;
        x->nonfinite_total = nonfinite > LLONG_MAX - x->nonfinite_total ? LLONG_MAX : x->nonfinite_total + nonfinite;
    }
}

static void scan_table(rundata *d, const scan_plan *p, scan_part *part, sqlite3 *db, int table)
{
    sqlite3_stmt *st = NULL;
    const char *sql = table == 0 ? p->stats_sql : p->metrics_sql;
    const char *name = table == 0 ? "stats" : "layer_metrics";
    if (!*sql) return;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        part->failed = 1;
        snprintf(part->message, sizeof part->message, "%s: cannot read %s: %s", d->path, name, sqlite3_errmsg(db));
        return;
    }
    sqlite3_bind_int(st, 1, d->run.run_id);
    sqlite3_bind_int(st, 2, d->probe_steps[part->first_probe]);
    sqlite3_bind_int(st, 3, d->probe_steps[part->end_probe - 1]);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int probe = plan_probe(d, part, sqlite3_column_int64(st, 0));
        int layer = plan_layer(d, sqlite3_column_int64(st, 1));
        const unsigned char *text = sqlite3_column_text(st, 2);
        if (probe < 0 || layer < 0 || !text) continue;
        if (table == 1) {
            int m = name_find(&p->metrics, text);
            if (m >= 0 && p->metric_series[m] >= 0)
                store(d, p->metric_series[m], probe, layer, sqlite3_column_double(st, 3));
            continue;
        }
        int t = name_find(&p->tensors, text);
        if (t >= 0) scan_stats_row(d, p, part, st, probe, layer, t);
    }
    if (rc != SQLITE_DONE) {
        part->failed = 1;
        snprintf(part->message, sizeof part->message, "%s: reading %s failed: %s", d->path, name, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
}

static void scan_range(rundata *d, const scan_plan *p, scan_part *part)
{
    sqlite3 *db = NULL;
    error err;
    /* NOMUTEX: this connection lives in one thread, and the per-call mutex of
     * the serialized mode costs ~10 % of a scan of millions of rows. */
    if (db_open_reader(&db, d->path, 1, &err)) {
        part->failed = 1;
        snprintf(part->message, sizeof part->message, "%s", err.message);
        return;
    }
    /* Memory-mapped reads avoid copying every page of a GB-sized file. */
    sqlite3_exec(db, "PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -65536;", NULL, NULL, NULL);
    part->cached_step = -1;
    for (int table = 0; table < 2 && !part->failed; table++) scan_table(d, p, part, db, table);
    sqlite3_close(db);
}

/* Step 1: the distinct tensor and metric names, and the maps from them to
 * the requested series. */
static int plan_names(rundata *d, sqlite3 *db, scan_plan *p, error *err)
{
    if (load_distinct_names(d, db, "SELECT tensor FROM stats WHERE run_id = ? AND tensor > ? ORDER BY tensor LIMIT 1",
                            &p->tensors, err) ||
        load_distinct_names(d, db,
                            "SELECT metric FROM layer_metrics WHERE run_id = ? AND metric > ? ORDER BY metric LIMIT 1",
                            &p->metrics, err))
        return -1;
    p->tensor_series = malloc(sizeof(int) * 3 * (size_t)(p->tensors.count + 1));
    p->metric_series = malloc(sizeof(int) * (size_t)(p->metrics.count + 1));
    if (!p->tensor_series || !p->metric_series)
        return error_set(err, "%s: out of memory planning the statistics scan", d->path);
    for (int i = 0; i < 3 * p->tensors.count; i++) p->tensor_series[i] = -1;
    for (int i = 0; i < p->metrics.count; i++) p->metric_series[i] = -1;
    return 0;
}

/* Step 2: one probes x layers array per requested series the file has. */
static int plan_series(rundata *d, scan_plan *p, unsigned mask, error *err)
{
    if ((long long)d->probe_count * d->layer_count > RUNDATA_MAX_CELLS)
        return error_set(err, "%s: %d probed steps x %d layers is more than a report reads (%lld values per series)",
                         d->path, d->probe_count, d->layer_count, RUNDATA_MAX_CELLS);
    p->cells = (size_t)d->probe_count * (size_t)d->layer_count;
    p->need_stats = p->with_extremes;
    for (int s = 0; s < SERIES_COUNT; s++) {
        if (!(mask & SERIES_BIT(s))) continue;
        const series_def *def = &series_defs[s];
        int found = def->from_metrics ? name_find(&p->metrics, (const unsigned char *)def->source)
                                      : name_find(&p->tensors, (const unsigned char *)def->source);
        if (found < 0) continue; /* the trainer did not write it: the series stays NULL */
        d->series[s] = malloc(sizeof(float) * p->cells);
        if (!def->from_metrics) d->series_elements[s] = calloc((size_t)d->layer_count, sizeof(long long));
        if (!d->series[s] || (!def->from_metrics && !d->series_elements[s]))
            return error_set(err, "%s: out of memory for %zu values of %s", d->path, p->cells, def->label);
        for (size_t i = 0; i < p->cells; i++) d->series[s][i] = NAN;
        if (def->from_metrics) {
            p->metric_series[found] = s;
            p->need_metrics = 1;
        } else {
            p->tensor_series[found * 3 + (int)def->column] = s;
            p->need_stats = 1;
        }
    }
    return 0;
}

/* Step 3: the two scan statements.  Without the per-tensor extremes only
 * the tensors of requested series are needed, and filtering them inside
 * SQLite is cheaper than returning every row. */
static void plan_sql(scan_plan *p)
{
    if (p->need_stats) {
        char filter[1024] = "";
        size_t used = 0;
        for (int t = 0; t < p->tensors.count && !p->with_extremes; t++) {
            if (p->tensor_series[t * 3] < 0 && p->tensor_series[t * 3 + 1] < 0 && p->tensor_series[t * 3 + 2] < 0)
                continue;
            /* Names come from the database: bind-free SQL needs them quoted. */
            char *quoted = sqlite3_mprintf("%s%Q", used ? ", " : " AND tensor IN (", p->tensors.names[t]);
            if (!quoted || used + strlen(quoted) + 2 >= sizeof filter) {
                sqlite3_free(quoted);
                used = 0;
                filter[0] = '\0';
                break;
            }
            memcpy(filter + used, quoted, strlen(quoted) + 1);
            used += strlen(quoted);
            sqlite3_free(quoted);
        }
        if (used) memcpy(filter + used, ")", 2);
        /* absmax, l2norm and zero_fraction are >= 0 when present: -1 stands
         * for NULL, which saves a type check per column and row.  The
         * non-finite counts are summed as reals: no integer overflow. */
        snprintf(p->stats_sql, sizeof p->stats_sql,
                 "SELECT step, layer_id, tensor, "
                 "CASE WHEN nan_count > 0 OR posinf_count > 0 OR neginf_count > 0 "
                 "THEN -1.0 - (1.0 * nan_count + posinf_count + neginf_count) ELSE IFNULL(absmax, -0.5) END, "
                 "IFNULL(absmax, -1), IFNULL(l2norm, -1), IFNULL(zero_fraction, -1), count FROM stats "
                 "WHERE run_id = ?1 AND step BETWEEN ?2 AND ?3%s",
                 filter);
    }
    if (p->need_metrics)
        snprintf(p->metrics_sql, sizeof p->metrics_sql,
                 "SELECT step, layer_id, metric, value FROM layer_metrics WHERE run_id = ?1 AND step BETWEEN ?2 AND ?3 "
                 "AND value IS NOT NULL");
}

static void merge_extremes(tensor_extreme *to, const tensor_extreme *from, size_t n)
{
    for (size_t i = 0; i < n; i++, to++, from++) {
        if (from->absmax_step && (!to->absmax_step || from->absmax > to->absmax)) {
            to->absmax = from->absmax;
            to->absmax_step = from->absmax_step;
        }
        if (from->first_nonfinite_step &&
            (!to->first_nonfinite_step || from->first_nonfinite_step < to->first_nonfinite_step))
            to->first_nonfinite_step = from->first_nonfinite_step;
        to->nonfinite_total = from->nonfinite_total > LLONG_MAX - to->nonfinite_total
                                  ? LLONG_MAX : to->nonfinite_total + from->nonfinite_total;
    }
}

/* Step 4: the scan, split by step range (each part one contiguous
 * primary-key range, one read-only connection per thread). */
static int scan_all(rundata *d, scan_plan *p, error *err)
{
    size_t per_part = (size_t)d->layer_count * (size_t)(p->tensors.count + 1);
    if (p->with_extremes && !(d->extremes = calloc(per_part, sizeof *d->extremes)))
        return error_set(err, "%s: out of memory", d->path);
    int threads = omp_get_max_threads();
    if (threads > 4) threads = 4;
    if (!sqlite3_threadsafe() || d->probe_count < 64) threads = 1;
    scan_part parts[4];
    memset(parts, 0, sizeof parts);
    int rc = 0;
    for (int t = 0; t < threads && rc == 0; t++) {
        parts[t].first_probe = (int)((long long)d->probe_count * t / threads);
        parts[t].end_probe = (int)((long long)d->probe_count * (t + 1) / threads);
        if (p->with_extremes && !(parts[t].extremes = calloc(per_part, sizeof(tensor_extreme))))
            rc = error_set(err, "%s: out of memory", d->path);
    }
    if (rc == 0) {
        #pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; t++)
            if (parts[t].end_probe > parts[t].first_probe) scan_range(d, p, &parts[t]);
    }
    for (int t = 0; t < threads; t++) {
        if (parts[t].failed && rc == 0) rc = error_set(err, "%s", parts[t].message);
        if (parts[t].extremes && rc == 0)
            merge_extremes(d->extremes, parts[t].extremes, (size_t)d->layer_count * (size_t)p->tensors.count);
        free(parts[t].extremes);
    }
    return rc;
}

int read_run_series(rundata *d, sqlite3 *db, unsigned mask, int with_extremes, error *err)
{
    if (d->probe_count == 0) return 0; /* no stats rows at all: figures fall back to the loss */
    scan_plan p;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.with_extremes = with_extremes;
    int rc = plan_names(d, db, &p, err) || plan_series(d, &p, mask, err) ? -1 : 0;
    if (rc == 0) {
        plan_sql(&p);
        d->tensor_count = p.tensors.count;
        d->tensor_names = p.tensors.names;
        rc = scan_all(d, &p, err);
    }
    for (int s = 0; s < SERIES_COUNT && rc == 0; s++) {
        if (!d->series[s]) continue;
        for (size_t i = 0; i < p.cells && !d->series_present[s]; i++)
            if (!isnan(d->series[s][i])) d->series_present[s] = 1;
    }
    /* The tensor names moved into d (freed by rundata_free). */
    if (d->tensor_names != p.tensors.names) name_table_free(&p.tensors);
    else free(p.tensors.lengths);
    name_table_free(&p.metrics);
    free(p.tensor_series);
    free(p.metric_series);
    return rc;
}

