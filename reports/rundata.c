/* rundata.c: loading one run of a run.db for the reports (see rundata.h). */
#include "rundata.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "probe_names.h"

const series_def series_defs[SERIES_COUNT] = {
    [SERIES_ACT_ABSMAX] = {PROBE_NAME_OUTPUT, 0, STATS_ABSMAX, "act_absmax", "activation absmax"},
    [SERIES_ACT_ZERO_FRACTION] = {PROBE_NAME_OUTPUT, 0, STATS_ZERO_FRACTION, "act_zero_fraction", "activation zero fraction"},
    [SERIES_GRAD_ABSMAX] = {PROBE_NAME_OUTPUT_GRAD, 0, STATS_ABSMAX, "grad_absmax", "gradient absmax"},
    [SERIES_GRAD_NORM] = {PROBE_NAME_OUTPUT_GRAD, 0, STATS_L2NORM, "grad_norm", "gradient norm"},
    [SERIES_KERNEL_NORM] = {PROBE_ROLE_KERNEL PROBE_SUFFIX_VALUE, 0, STATS_L2NORM, "kernel_norm", "kernel norm"},
    [SERIES_KERNEL_GRAD_NORM] = {PROBE_ROLE_KERNEL PROBE_SUFFIX_GRAD, 0, STATS_L2NORM, "kernel_grad_norm", "kernel gradient norm"},
    [SERIES_UPDATE_RATIO] = {PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE_RATIO, 1, 0, "update_ratio", "update/weight ratio"},
    [SERIES_L2_GRAD_RATIO] = {PROBE_NAME_L2_GRAD_RATIO, 1, 0, "l2_grad_ratio", "L2-gradient/data-gradient ratio"},
    [SERIES_BN_MIN_VARIANCE] = {PROBE_NAME_BN_MIN_VARIANCE, 1, 0, "bn_min_variance", "BN minimum batch variance"},
    [SERIES_BN_MAX_VARIANCE] = {PROBE_NAME_BN_MAX_VARIANCE, 1, 0, "bn_max_variance", "BN maximum batch variance"},
    [SERIES_BN_MAX_MEAN2_OVER_VAR] = {PROBE_NAME_BN_MAX_MEAN2_OVER_VAR, 1, 0, "bn_mean2_over_var", "BN max mean^2/variance"},
    [SERIES_BN_MAX_GAMMA_OVER_STD] = {PROBE_NAME_BN_MAX_GAMMA_OVER_STD, 1, 0, "bn_gamma_over_std", "BN max gamma/std"},
    [SERIES_BN_COUNT] = {PROBE_NAME_BN_COUNT, 1, 0, "bn_count", "BN values per channel"},
    [SERIES_MAX_PROBABILITY] = {PROBE_NAME_MAX_PROBABILITY, 1, 0, "max_probability", "softmax max probability"},
};

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

/* --------------------------------------------------------------- helpers */

static char *column_text_dup(sqlite3_stmt *st, int column)
{
    const unsigned char *text = sqlite3_column_text(st, column);
    return strdup(text ? (const char *)text : "");
}

static double column_real(sqlite3_stmt *st, int column)
{
    return sqlite3_column_type(st, column) == SQLITE_NULL ? NAN : sqlite3_column_double(st, column);
}

static long long column_int_or(sqlite3_stmt *st, int column, long long missing)
{
    return sqlite3_column_type(st, column) == SQLITE_NULL ? missing : sqlite3_column_int64(st, column);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *path, error *err)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return error_set(err, "%s: cannot read the run database (%s); is it a nanprobe run.db of schema version %d?",
                         path, sqlite3_errmsg(db), DB_SCHEMA_VERSION);
    return 0;
}

static int step_failed(sqlite3 *db, int rc, const char *path, error *err)
{
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return 0;
    return error_set(err, "%s: reading failed: %s", path, sqlite3_errmsg(db));
}

/* Grows *items to hold `needed` items of item_size bytes. */
static int grow(void **items, int *capacity, int needed, size_t item_size)
{
    if (needed <= *capacity) return 0;
    int next = *capacity ? *capacity * 2 : 64;
    while (next < needed) next *= 2;
    void *p = realloc(*items, (size_t)next * item_size);
    if (!p) return -1;
    *items = p;
    *capacity = next;
    return 0;
}

/* ------------------------------------------------------------ small tables */

static int load_run(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db, "SELECT COUNT(*), MAX(run_id) FROM runs", &st, d->path, err)) return -1;
    int rc = sqlite3_step(st);
    int attempts = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    int run_id = rc == SQLITE_ROW ? sqlite3_column_int(st, 1) : 0;
    sqlite3_finalize(st);
    if (attempts == 0)
        return error_set(err, "%s: the runs table is empty (no training run was recorded in this database)", d->path);
    if (prepare(db,
                "SELECT name, version, started_at, finished_at, status, depth, width, clip, classes, batch, init, "
                "l2, lr, seed, data, normalize, probe_every, resumed_from FROM runs WHERE run_id = ?",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, run_id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return error_set(err, "%s: cannot read run %d: %s", d->path, run_id, sqlite3_errmsg(db));
    }
    run_info *r = &d->run;
    r->run_id = run_id;
    r->attempts = attempts;
    r->name = column_text_dup(st, 0);
    r->version = column_text_dup(st, 1);
    r->started_at = column_text_dup(st, 2);
    r->finished_at = column_text_dup(st, 3);
    r->status = column_text_dup(st, 4);
    r->depth = sqlite3_column_int(st, 5);
    r->width = sqlite3_column_int(st, 6);
    r->clip = column_text_dup(st, 7);
    r->classes = sqlite3_column_int(st, 8);
    r->batch = sqlite3_column_int(st, 9);
    r->init = column_text_dup(st, 10);
    r->l2 = column_real(st, 11);
    r->lr = column_real(st, 12);
    r->seed = sqlite3_column_int64(st, 13);
    r->data = column_text_dup(st, 14);
    r->normalize = column_text_dup(st, 15);
    r->probe_every = sqlite3_column_int(st, 16);
    r->resumed_from = (int)column_int_or(st, 17, -1);
    sqlite3_finalize(st);
    if (!r->name || !r->version || !r->started_at || !r->finished_at || !r->status || !r->clip || !r->init ||
        !r->data || !r->normalize)
        return error_set(err, "%s: out of memory reading the runs table", d->path);
    return 0;
}

static int load_layers(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT layer_id, name, path, kind, inputs, output_shape, param_count FROM layers "
                "WHERE run_id = ? ORDER BY layer_id",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&d->layers, &capacity, d->layer_count + 1, sizeof *d->layers)) break;
        layer_info *l = &d->layers[d->layer_count++];
        l->layer_id = sqlite3_column_int(st, 0);
        l->name = column_text_dup(st, 1);
        l->path = column_text_dup(st, 2);
        l->kind = column_text_dup(st, 3);
        l->inputs = column_text_dup(st, 4);
        l->output_shape = column_text_dup(st, 5);
        l->param_count = sqlite3_column_int64(st, 6);
        if (!l->name || !l->path || !l->kind || !l->inputs || !l->output_shape) break;
    }
    int failed = step_failed(db, rc, d->path, err);
    sqlite3_finalize(st);
    if (failed) return -1;
    if (rc == SQLITE_ROW) return error_set(err, "%s: out of memory reading the layers table", d->path);
    if (d->layer_count == 0)
        return error_set(err, "%s: run %d has no layers recorded (the trainer writes them before the first step)",
                         d->path, d->run.run_id);
    return 0;
}

static int load_steps(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT step, epoch, lr, loss, data_loss, l2_penalty, accuracy, probed, loss_finite FROM steps "
                "WHERE run_id = ? ORDER BY step",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&d->steps, &capacity, d->step_count + 1, sizeof *d->steps)) break;
        step_info *s = &d->steps[d->step_count++];
        s->step = sqlite3_column_int(st, 0);
        s->epoch = sqlite3_column_int(st, 1);
        s->lr = column_real(st, 2);
        s->loss = column_real(st, 3);
        s->data_loss = column_real(st, 4);
        s->l2_penalty = column_real(st, 5);
        s->accuracy = column_real(st, 6);
        s->probed = sqlite3_column_int(st, 7);
        s->loss_finite = sqlite3_column_int(st, 8);
    }
    int failed = step_failed(db, rc, d->path, err);
    sqlite3_finalize(st);
    if (failed) return -1;
    if (rc == SQLITE_ROW) return error_set(err, "%s: out of memory reading the steps table", d->path);
    if (d->step_count == 0)
        return error_set(err, "%s: run %d ('%.200s') has no steps recorded yet: nothing to report", d->path,
                         d->run.run_id, d->run.name);
    return 0;
}

static int load_epochs(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT epoch, last_step, loss, accuracy, val_loss, val_accuracy, lr FROM epochs "
                "WHERE run_id = ? ORDER BY epoch",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&d->epochs, &capacity, d->epoch_count + 1, sizeof *d->epochs)) break;
        epoch_info *e = &d->epochs[d->epoch_count++];
        e->epoch = sqlite3_column_int(st, 0);
        e->last_step = sqlite3_column_int(st, 1);
        e->loss = column_real(st, 2);
        e->accuracy = column_real(st, 3);
        e->val_loss = column_real(st, 4);
        e->val_accuracy = column_real(st, 5);
        e->lr = column_real(st, 6);
    }
    int failed = step_failed(db, rc, d->path, err);
    sqlite3_finalize(st);
    if (failed) return -1;
    if (rc == SQLITE_ROW) return error_set(err, "%s: out of memory reading the epochs table", d->path);
    return 0;
}

static int load_events(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT event_id, step, epoch, kind, layer_id, layer_name, layer_path, pass, tensor, value_class, "
                "element_index, sample, d, h, w, channel, sample_id, is_origin, old_value, new_value, message "
                "FROM events WHERE run_id = ? ORDER BY event_id",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (grow((void **)&d->events, &capacity, d->event_count + 1, sizeof *d->events)) break;
        event_info *e = &d->events[d->event_count++];
        e->event_id = sqlite3_column_int64(st, 0);
        e->step = (int)column_int_or(st, 1, -1);
        e->epoch = (int)column_int_or(st, 2, -1);
        e->kind = column_text_dup(st, 3);
        e->layer_id = (int)column_int_or(st, 4, -1);
        e->layer_name = column_text_dup(st, 5);
        e->layer_path = column_text_dup(st, 6);
        e->pass = column_text_dup(st, 7);
        e->tensor = column_text_dup(st, 8);
        e->value_class = column_text_dup(st, 9);
        e->element_index = column_int_or(st, 10, -1);
        e->sample = column_int_or(st, 11, -1);
        e->d = column_int_or(st, 12, -1);
        e->h = column_int_or(st, 13, -1);
        e->w = column_int_or(st, 14, -1);
        e->channel = column_int_or(st, 15, -1);
        e->sample_id = column_int_or(st, 16, -1);
        e->is_origin = (int)column_int_or(st, 17, -1);
        e->old_value = column_real(st, 18);
        e->new_value = column_real(st, 19);
        e->message = column_text_dup(st, 20);
        if (!e->kind || !e->layer_name || !e->layer_path || !e->pass || !e->tensor || !e->value_class ||
            !e->message)
            break;
    }
    int failed = step_failed(db, rc, d->path, err);
    sqlite3_finalize(st);
    if (failed) return -1;
    if (rc == SQLITE_ROW) return error_set(err, "%s: out of memory reading the events table", d->path);
    return 0;
}

static int load_input_summary(rundata *d, sqlite3 *db, error *err)
{
    input_summary *in = &d->input;
    in->min_std = in->max_abs_mean = in->max_absmax = in->mean_mean = in->mean_std = NAN;
    in->first_nonfinite_sample_id = in->min_std_sample_id = in->max_abs_mean_sample_id = in->max_absmax_sample_id = -1;
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT COUNT(*), TOTAL(nan_count + inf_count > 0), AVG(mean), AVG(std) FROM input_samples "
                "WHERE run_id = ?",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        in->clips = sqlite3_column_int64(st, 0);
        in->nonfinite_clips = (long long)sqlite3_column_double(st, 1);
        in->mean_mean = column_real(st, 2);
        in->mean_std = column_real(st, 3);
    }
    sqlite3_finalize(st);
    /* The clip at an extreme: first non-finite, smallest std, largest |mean|, largest |x|. */
    static const char *const extreme_sql[] = {
        "SELECT step, sample_id, 0 FROM input_samples WHERE run_id = ? AND nan_count + inf_count > 0 "
        "ORDER BY step, position LIMIT 1",
        "SELECT step, sample_id, std FROM input_samples WHERE run_id = ? AND std IS NOT NULL "
        "ORDER BY std, step LIMIT 1",
        "SELECT step, sample_id, ABS(mean) FROM input_samples WHERE run_id = ? AND mean IS NOT NULL "
        "ORDER BY ABS(mean) DESC, step LIMIT 1",
        "SELECT step, sample_id, absmax FROM input_samples WHERE run_id = ? AND absmax IS NOT NULL "
        "ORDER BY absmax DESC, step LIMIT 1",
    };
    for (int k = 0; k < 4; k++) {
        if (prepare(db, extreme_sql[k], &st, d->path, err)) return -1;
        sqlite3_bind_int(st, 1, d->run.run_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            int step = sqlite3_column_int(st, 0);
            long long id = sqlite3_column_int64(st, 1);
            double value = column_real(st, 2);
            switch (k) {
            case 0: in->first_nonfinite_step = step; in->first_nonfinite_sample_id = id; break;
            case 1: in->min_std_step = step; in->min_std_sample_id = id; in->min_std = value; break;
            case 2: in->max_abs_mean_step = step; in->max_abs_mean_sample_id = id; in->max_abs_mean = value; break;
            case 3: in->max_absmax_step = step; in->max_absmax_sample_id = id; in->max_absmax = value; break;
            }
        }
        sqlite3_finalize(st);
    }
    return 0;
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

/* The probed steps, by seeking to the next step present in stats. */
static int load_probe_steps(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db, "SELECT step FROM stats WHERE run_id = ? AND step > ? ORDER BY step LIMIT 1", &st, d->path,
                err))
        return -1;
    int capacity = 0, last = INT32_MIN;
    for (;;) {
        sqlite3_bind_int(st, 1, d->run.run_id);
        sqlite3_bind_int(st, 2, last);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            int failed = step_failed(db, rc, d->path, err);
            sqlite3_finalize(st);
            return failed;
        }
        last = sqlite3_column_int(st, 0);
        sqlite3_reset(st);
        if (grow((void **)&d->probe_steps, &capacity, d->probe_count + 1, sizeof *d->probe_steps)) {
            sqlite3_finalize(st);
            return error_set(err, "%s: out of memory listing probed steps", d->path);
        }
        d->probe_steps[d->probe_count++] = last;
    }
}

/* ------------------------------------------------------------ big tables */

typedef struct scan_plan {
    const rundata *d;
    name_table tensors, metrics;
    /* tensor index -> series for the absmax / l2norm / zero_fraction column */
    int *tensor_series; /* tensor_count x 3, -1 = none */
    int *metric_series; /* metric_count, -1 = none */
    int *layer_of_id;   /* layer_id -> layer index, -1 */
    int max_layer_id;
    int *probe_of_step; /* step - first_step -> probe index */
    int first_step, last_step;
    int with_extremes;
    char stats_sql[2048], metrics_sql[2048];
} scan_plan;

typedef struct scan_part {
    int first_probe, end_probe;
    tensor_extreme *extremes; /* this thread's, merged afterwards */
    int failed;
    char message[512];
} scan_part;

static int plan_layer(const scan_plan *p, int layer_id)
{
    return layer_id >= 0 && layer_id <= p->max_layer_id ? p->layer_of_id[layer_id] : -1;
}

static int plan_probe(const scan_plan *p, int step)
{
    return step >= p->first_step && step <= p->last_step ? p->probe_of_step[step - p->first_step] : -1;
}

static void store(rundata *d, int s, int probe, int layer, double value)
{
    if (isnan(value) || !d->series[s]) return;
    d->series[s][(size_t)probe * (size_t)d->layer_count + (size_t)layer] = (float)value;
}

static void scan_range(rundata *d, const scan_plan *p, scan_part *part)
{
    sqlite3 *db = NULL;
    /* NOMUTEX: this connection lives in one thread, and the per-call mutex of
     * the serialized mode costs ~10 % of a scan of millions of rows. */
    if (sqlite3_open_v2(d->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        part->failed = 1;
        snprintf(part->message, sizeof part->message, "%s: cannot open: %s", d->path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 5000);
    /* Memory-mapped reads avoid copying every page of a GB-sized file. */
    sqlite3_exec(db, "PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -65536;", NULL, NULL, NULL);
    int first_step = d->probe_steps[part->first_probe], last_step = d->probe_steps[part->end_probe - 1];
    int tensors = p->tensors.count;
    for (int table = 0; table < 2 && !part->failed; table++) {
        sqlite3_stmt *st = NULL;
        const char *sql = table == 0 ? p->stats_sql : p->metrics_sql;
        if (!*sql) continue;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            part->failed = 1;
            snprintf(part->message, sizeof part->message, "%s: cannot read %s: %s", d->path,
                     table == 0 ? "stats" : "layer_metrics", sqlite3_errmsg(db));
            break;
        }
        sqlite3_bind_int(st, 1, d->run.run_id);
        sqlite3_bind_int(st, 2, first_step);
        sqlite3_bind_int(st, 3, last_step);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int probe = plan_probe(p, sqlite3_column_int(st, 0));
            int layer = plan_layer(p, sqlite3_column_int(st, 1));
            if (probe < 0 || layer < 0) continue;
            const unsigned char *name = sqlite3_column_text(st, 2);
            if (!name) continue;
            if (table == 1) {
                int m = name_find(&p->metrics, name);
                if (m >= 0 && p->metric_series[m] >= 0)
                    store(d, p->metric_series[m], probe, layer, sqlite3_column_double(st, 3));
                continue;
            }
            int t = name_find(&p->tensors, name);
            if (t < 0) continue;
            /* stats columns: step, layer_id, tensor, summary, absmax, l2norm,
             * zero_fraction, count.  `summary` is absmax when the tensor was
             * finite (-0.5 when NULL) and -1 - nonfinite otherwise, so most
             * rows need 4 column reads instead of 8. */
            double summary = sqlite3_column_double(st, 3);
            long long nonfinite = summary < -0.75 ? (long long)(-summary - 1.0 + 0.5) : 0;
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
            if (part->extremes) {
                tensor_extreme *x = &part->extremes[(size_t)layer * (size_t)tensors + (size_t)t];
                int step = d->probe_steps[probe];
                if (absmax >= 0 && (x->absmax_step == 0 || absmax > x->absmax)) {
                    x->absmax = absmax;
                    x->absmax_step = step;
                }
                if (nonfinite > 0) {
                    if (x->first_nonfinite_step == 0 || step < x->first_nonfinite_step) x->first_nonfinite_step = step;
                    x->nonfinite_total += nonfinite;
                }
            }
        }
        if (rc != SQLITE_DONE) {
            part->failed = 1;
            snprintf(part->message, sizeof part->message, "%s: reading %s failed: %s", d->path,
                     table == 0 ? "stats" : "layer_metrics", sqlite3_errmsg(db));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static int load_series(rundata *d, sqlite3 *db, unsigned mask, int with_extremes, error *err)
{
    if (d->probe_count == 0) return 0; /* no stats rows at all: figures fall back to the loss */
    scan_plan p;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.with_extremes = with_extremes;
    int rc = -1;
    if (load_distinct_names(d, db,
                            "SELECT tensor FROM stats WHERE run_id = ? AND tensor > ? ORDER BY tensor LIMIT 1",
                            &p.tensors, err) ||
        load_distinct_names(d, db,
                            "SELECT metric FROM layer_metrics WHERE run_id = ? AND metric > ? ORDER BY metric "
                            "LIMIT 1",
                            &p.metrics, err))
        goto done;
    p.tensor_series = malloc(sizeof(int) * 3 * (size_t)(p.tensors.count + 1));
    p.metric_series = malloc(sizeof(int) * (size_t)(p.metrics.count + 1));
    for (int i = 0; i < d->layer_count; i++)
        if (d->layers[i].layer_id > p.max_layer_id) p.max_layer_id = d->layers[i].layer_id;
    p.layer_of_id = malloc(sizeof(int) * (size_t)(p.max_layer_id + 1));
    p.first_step = d->probe_steps[0];
    p.last_step = d->probe_steps[d->probe_count - 1];
    p.probe_of_step = malloc(sizeof(int) * ((size_t)p.last_step - (size_t)p.first_step + 1));
    if (!p.tensor_series || !p.metric_series || !p.layer_of_id || !p.probe_of_step) {
        error_set(err, "%s: out of memory planning the statistics scan", d->path);
        goto done;
    }
    for (int i = 0; i < 3 * p.tensors.count; i++) p.tensor_series[i] = -1;
    for (int i = 0; i < p.metrics.count; i++) p.metric_series[i] = -1;
    for (int i = 0; i <= p.max_layer_id; i++) p.layer_of_id[i] = -1;
    for (int i = 0; i < d->layer_count; i++)
        if (d->layers[i].layer_id >= 0) p.layer_of_id[d->layers[i].layer_id] = i;
    for (int s = 0; s <= p.last_step - p.first_step; s++) p.probe_of_step[s] = -1;
    for (int i = 0; i < d->probe_count; i++) p.probe_of_step[d->probe_steps[i] - p.first_step] = i;

    size_t cells = (size_t)d->probe_count * (size_t)d->layer_count;
    int need_stats = with_extremes, need_metrics = 0;
    for (int s = 0; s < SERIES_COUNT; s++) {
        if (!(mask & SERIES_BIT(s))) continue;
        const series_def *def = &series_defs[s];
        int found = def->from_metrics ? name_find(&p.metrics, (const unsigned char *)def->source)
                                      : name_find(&p.tensors, (const unsigned char *)def->source);
        if (found < 0) continue; /* the trainer did not write it: the series stays NULL */
        d->series[s] = malloc(sizeof(float) * cells);
        if (!def->from_metrics) d->series_elements[s] = calloc((size_t)d->layer_count, sizeof(long long));
        if (!d->series[s] || (!def->from_metrics && !d->series_elements[s])) {
            error_set(err, "%s: out of memory for %zu values of %s", d->path, cells, def->label);
            goto done;
        }
        for (size_t i = 0; i < cells; i++) d->series[s][i] = NAN;
        if (def->from_metrics) {
            p.metric_series[found] = s;
            need_metrics = 1;
        } else {
            p.tensor_series[found * 3 + (int)def->column] = s;
            need_stats = 1;
        }
    }
    /* Without the per-tensor extremes only the tensors of requested series
     * are needed, and filtering them inside SQLite is cheaper than returning
     * every row. */
    if (need_stats) {
        char filter[1024] = "";
        if (!with_extremes) {
            size_t used = 0;
            for (int t = 0; t < p.tensors.count; t++) {
                if (p.tensor_series[t * 3] < 0 && p.tensor_series[t * 3 + 1] < 0 && p.tensor_series[t * 3 + 2] < 0)
                    continue;
                /* Names come from the database: bind-free SQL needs them quoted. */
                char *quoted = sqlite3_mprintf("%s%Q", used ? ", " : " AND tensor IN (", p.tensors.names[t]);
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
        }
        /* absmax, l2norm and zero_fraction are >= 0 when present: -1 stands
         * for NULL, which saves a type check per column and row. */
        snprintf(p.stats_sql, sizeof p.stats_sql,
                 "SELECT step, layer_id, tensor, "
                 "CASE WHEN nan_count + posinf_count + neginf_count > 0 "
                 "THEN -1 - (nan_count + posinf_count + neginf_count) ELSE IFNULL(absmax, -0.5) END, "
                 "IFNULL(absmax, -1), IFNULL(l2norm, -1), IFNULL(zero_fraction, -1), count FROM stats "
                 "WHERE run_id = ?1 AND step BETWEEN ?2 AND ?3%s",
                 filter);
    }
    if (need_metrics) {
        snprintf(p.metrics_sql, sizeof p.metrics_sql,
                 "SELECT step, layer_id, metric, value FROM layer_metrics WHERE run_id = ?1 AND step BETWEEN ?2 AND ?3 "
                 "AND value IS NOT NULL");
    }
    d->tensor_count = p.tensors.count;
    d->tensor_names = p.tensors.names;
    if (with_extremes) {
        d->extremes = calloc((size_t)d->layer_count * (size_t)(p.tensors.count + 1), sizeof *d->extremes);
        if (!d->extremes) {
            error_set(err, "%s: out of memory", d->path);
            goto done;
        }
    }

    /* Split by step range: each part is one contiguous primary-key range. */
    int threads = omp_get_max_threads();
    if (threads > 4) threads = 4;
    if (!sqlite3_threadsafe() || d->probe_count < 64) threads = 1;
    scan_part parts[4];
    memset(parts, 0, sizeof parts);
    for (int t = 0; t < threads; t++) {
        parts[t].first_probe = (int)((long long)d->probe_count * t / threads);
        parts[t].end_probe = (int)((long long)d->probe_count * (t + 1) / threads);
        if (with_extremes) {
            parts[t].extremes = calloc((size_t)d->layer_count * (size_t)(p.tensors.count + 1), sizeof(tensor_extreme));
            if (!parts[t].extremes) {
                for (int k = 0; k < t; k++) free(parts[k].extremes);
                error_set(err, "%s: out of memory", d->path);
                goto done;
            }
        }
    }
    #pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++)
        if (parts[t].end_probe > parts[t].first_probe) scan_range(d, &p, &parts[t]);
    rc = 0;
    for (int t = 0; t < threads; t++) {
        if (parts[t].failed && rc == 0) rc = error_set(err, "%s", parts[t].message);
        if (parts[t].extremes) {
            for (size_t i = 0; i < (size_t)d->layer_count * (size_t)p.tensors.count; i++) {
                tensor_extreme *to = &d->extremes[i], *from = &parts[t].extremes[i];
                if (from->absmax_step && (!to->absmax_step || from->absmax > to->absmax)) {
                    to->absmax = from->absmax;
                    to->absmax_step = from->absmax_step;
                }
                if (from->first_nonfinite_step &&
                    (!to->first_nonfinite_step || from->first_nonfinite_step < to->first_nonfinite_step))
                    to->first_nonfinite_step = from->first_nonfinite_step;
                to->nonfinite_total += from->nonfinite_total;
            }
            free(parts[t].extremes);
        }
    }
    for (int s = 0; s < SERIES_COUNT; s++) {
        if (!d->series[s]) continue;
        for (size_t i = 0; i < cells && !d->series_present[s]; i++)
            if (!isnan(d->series[s][i])) d->series_present[s] = 1;
    }
done:
    /* The tensor names moved into d (freed by rundata_free). */
    if (d->tensor_names != p.tensors.names) name_table_free(&p.tensors);
    else free(p.tensors.lengths);
    name_table_free(&p.metrics);
    free(p.tensor_series);
    free(p.metric_series);
    free(p.layer_of_id);
    free(p.probe_of_step);
    return rc;
}

int rundata_step_stats(const rundata *d, int step, rundata_stat **rows, int *count, error *err)
{
    *rows = NULL;
    *count = 0;
    sqlite3 *db = NULL;
    if (db_open_for_reading(&db, d->path, err)) return -1;
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT layer_id, tensor, count, mean, std, min, max, absmax, l2norm, zero_fraction, "
                "nan_count + posinf_count + neginf_count FROM stats WHERE run_id = ? AND step = ? "
                "ORDER BY layer_id, tensor",
                &st, d->path, err)) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_bind_int(st, 1, d->run.run_id);
    sqlite3_bind_int(st, 2, step);
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int layer = rundata_layer_index(d, sqlite3_column_int(st, 0));
        if (layer < 0) continue;
        if (grow((void **)rows, &capacity, *count + 1, sizeof **rows)) break;
        rundata_stat *r = &(*rows)[(*count)++];
        r->layer = layer;
        const unsigned char *tensor = sqlite3_column_text(st, 1);
        snprintf(r->tensor, sizeof r->tensor, "%s", tensor ? (const char *)tensor : "");
        r->count = sqlite3_column_int64(st, 2);
        r->mean = column_real(st, 3);
        r->std = column_real(st, 4);
        r->min = column_real(st, 5);
        r->max = column_real(st, 6);
        r->absmax = column_real(st, 7);
        r->l2norm = column_real(st, 8);
        r->zero_fraction = column_real(st, 9);
        r->nonfinite = sqlite3_column_int64(st, 10);
    }
    int failed = step_failed(db, rc, d->path, err);
    if (!failed && rc == SQLITE_ROW) failed = error_set(err, "%s: out of memory reading step %d", d->path, step);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (failed) {
        free(*rows);
        *rows = NULL;
        *count = 0;
    }
    return failed;
}

/* ------------------------------------------------------------------ API */

int rundata_load(rundata *d, const char *db_path, unsigned series_mask, int with_extremes, error *err)
{
    memset(d, 0, sizeof *d);
    d->path = strdup(db_path);
    if (!d->path) return error_set(err, "out of memory");
    sqlite3 *db = NULL;
    if (db_open_for_reading(&db, db_path, err)) {
        rundata_free(d);
        return -1;
    }
    int rc = load_run(d, db, err);
    if (!rc) rc = load_layers(d, db, err);
    if (!rc) rc = load_steps(d, db, err);
    if (!rc) rc = load_epochs(d, db, err);
    if (!rc) rc = load_events(d, db, err);
    if (!rc) rc = load_input_summary(d, db, err);
    if (!rc) rc = load_probe_steps(d, db, err);
    if (!rc) rc = load_series(d, db, series_mask, with_extremes, err);
    sqlite3_close(db);
    if (rc) rundata_free(d);
    return rc;
}

static void run_info_free(run_info *r)
{
    free(r->name);
    free(r->version);
    free(r->started_at);
    free(r->finished_at);
    free(r->status);
    free(r->clip);
    free(r->init);
    free(r->data);
    free(r->normalize);
}

void rundata_free(rundata *d)
{
    free(d->path);
    run_info_free(&d->run);
    for (int i = 0; i < d->layer_count; i++) {
        layer_info *l = &d->layers[i];
        free(l->name);
        free(l->path);
        free(l->kind);
        free(l->inputs);
        free(l->output_shape);
    }
    free(d->layers);
    free(d->steps);
    free(d->epochs);
    for (int i = 0; i < d->event_count; i++) {
        event_info *e = &d->events[i];
        free(e->kind);
        free(e->layer_name);
        free(e->layer_path);
        free(e->pass);
        free(e->tensor);
        free(e->value_class);
        free(e->message);
    }
    free(d->events);
    free(d->probe_steps);
    for (int s = 0; s < SERIES_COUNT; s++) {
        free(d->series[s]);
        free(d->series_elements[s]);
    }
    for (int t = 0; t < d->tensor_count; t++) free(d->tensor_names[t]);
    free(d->tensor_names);
    free(d->extremes);
    memset(d, 0, sizeof *d);
}

double rundata_value(const rundata *d, series_id s, int probe, int layer)
{
    if (!d->series[s] || probe < 0 || probe >= d->probe_count || layer < 0 || layer >= d->layer_count) return NAN;
    return d->series[s][(size_t)probe * (size_t)d->layer_count + (size_t)layer];
}

int rundata_layer_index(const rundata *d, int layer_id)
{
    for (int i = 0; i < d->layer_count; i++)
        if (d->layers[i].layer_id == layer_id) return i;
    return -1;
}

const step_info *rundata_step(const rundata *d, int step)
{
    int lo = 0, hi = d->step_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (d->steps[mid].step == step) return &d->steps[mid];
        if (d->steps[mid].step < step) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

const event_info *rundata_first_nan(const rundata *d)
{
    for (int i = 0; i < d->event_count; i++)
        if (strcmp(d->events[i].kind, "nan") == 0) return &d->events[i];
    return NULL;
}

int rundata_layer_has(const rundata *d, series_id s, int layer)
{
    if (!d->series[s]) return 0;
    for (int p = 0; p < d->probe_count; p++)
        if (!isnan(d->series[s][(size_t)p * (size_t)d->layer_count + (size_t)layer])) return 1;
    return 0;
}
