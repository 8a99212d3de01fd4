/* read_run.c: loading one run of a run.db for the reports (see read_run.h). */
#include "read_run.h"

#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "array.h"
#include "db.h"
#include "read_columns.h"
#include "run_names.h"

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
    [SERIES_DATA_NORM] = {PROBE_NAME_DATA_NORM, 1, 0, "data_norm", "data-tap kernel norm"},
    [SERIES_PADDING_NORM] = {PROBE_NAME_PADDING_NORM, 1, 0, "padding_norm", "padding-only-tap kernel norm"},
    [SERIES_DATA_L2_PENALTY] = {PROBE_NAME_DATA_L2_PENALTY, 1, 0, "data_l2_penalty", "L2 penalty of the data taps"},
    [SERIES_PADDING_L2_PENALTY] = {PROBE_NAME_PADDING_L2_PENALTY, 1, 0, "padding_l2_penalty",
                                   "L2 penalty of the padding-only taps"},
    [SERIES_DATA_UPDATE_RATIO] = {PROBE_NAME_DATA_UPDATE_RATIO, 1, 0, "data_update_ratio",
                                  "data-tap update/weight ratio"},
    [SERIES_DATA_ANGLE] = {PROBE_NAME_DATA_ANGLE, 1, 0, "data_angle", "data-tap angular update"},
    [SERIES_DATA_L2_GRAD_RATIO] = {PROBE_NAME_DATA_L2_GRAD_RATIO, 1, 0, "data_l2_grad_ratio",
                                   "data-tap L2-gradient/data-gradient ratio"},
    [SERIES_L2_DOMINANT_FRACTION] = {PROBE_NAME_L2_DOMINANT_FRACTION, 1, 0, "l2_dominant_fraction",
                                     "share of coordinates where L2 outweighs the data gradient"},
    [SERIES_BN_MAX_VAR_RATIO] = {PROBE_NAME_BN_MAX_VAR_RATIO, 1, 0, "bn_max_var_ratio",
                                 "BN max batch/moving variance"},
    [SERIES_BN_MIN_VAR_RATIO] = {PROBE_NAME_BN_MIN_VAR_RATIO, 1, 0, "bn_min_var_ratio",
                                 "BN min batch/moving variance"},
    [SERIES_BN_MAX_MEAN_SHIFT] = {PROBE_NAME_BN_MAX_MEAN_SHIFT, 1, 0, "bn_mean_shift",
                                  "BN max (batch-moving mean)^2/moving variance"},
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

static double column_real(sqlite3_stmt *st, int column)
{
    return sqlite3_column_type(st, column) == SQLITE_NULL ? NAN : sqlite3_column_double(st, column);
}

/* Bounds of the values a report uses as an index, a count or a loop bound.
 * Steps and epochs stay far below INT_MAX, so step + 1 or a difference of
 * two steps never overflows. */
#define RUNDATA_MAX_STEP (1 << 30)
#define RUNDATA_MAX_LAYERS 65536
/* At most this many floats per series (1 GiB): probes x layers of a hostile
 * file must not turn into tens of gigabytes. */
#define RUNDATA_MAX_CELLS (1ll << 28)

/* A double stored where a count is read: clamped, never cast out of range. */
static long long count_of(double v)
{
    if (!(v > 0)) return 0;
    return v >= 9e18 ? 9000000000000000000ll : (long long)v;
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

/* The rows of the small tables are what every report stands on: one that
 * breaks its spec (read_columns.h) fails the load, naming the file. */
static int read_checked(const rundata *d, sqlite3_stmt *st, const char *table, const column_spec *specs, int count,
                        void *row, error *err)
{
    char why[320];
    int rc = read_row(st, table, specs, count, row, why, sizeof why);
    if (rc == 0) return 0;
    return error_set(err, "%s: %s%s", d->path, rc == -2 ? "" : "damaged database: ", why);
}

/* One statement's rows, each into the next slot of a growing array: the
 * array, its count and its element size.  The slot is counted before it is
 * read, so that rundata_free frees what a broken row already copied. */
typedef struct row_sink {
    void **items;
    int *count, capacity;
    size_t size;
} row_sink;

/* Reads every row of st into sink; before each row, bound (may be NULL)
 * adjusts the specs to the rows before it. */
static int read_rows(const rundata *d, sqlite3 *db, sqlite3_stmt *st, const char *table, column_spec *specs,
                     int count, row_sink *sink, void (*bound)(column_spec *, const void *items, int n), error *err)
{
    int rc, failed = 0;
    while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (array_grow(sink->items, &sink->capacity, *sink->count + 1, sink->size)) {
            failed = error_set(err, "%s: out of memory reading the %s table", d->path, table);
            break;
        }
        void *row = (char *)*sink->items + (size_t)*sink->count * sink->size;
        memset(row, 0, sink->size);
        if (bound) bound(specs, *sink->items, *sink->count);
        ++*sink->count;
        failed = read_checked(d, st, table, specs, count, row, err);
    }
    if (!failed) failed = step_failed(db, rc, d->path, err);
    sqlite3_finalize(st);
    return failed;
}

/* ------------------------------------------------------------ small tables */

typedef struct run_count {
    int attempts, run_id;
} run_count;

static int load_run_id(rundata *d, sqlite3 *db, error *err)
{
    static const column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .lo = 0, .hi = INT32_MAX, COLUMN_AT(run_count, attempts)},
        {.column = 1, .type = COLUMN_INTEGER, .lo = 1, .hi = INT32_MAX, COLUMN_AT(run_count, run_id)},
    };
    sqlite3_stmt *st = NULL;
    if (prepare(db, "SELECT COUNT(*), MAX(run_id) FROM runs", &st, d->path, err)) return -1;
    run_count n = {0, 0};
    int failed = sqlite3_step(st) == SQLITE_ROW &&
                 read_checked(d, st, "runs", spec, 1 + (sqlite3_column_int64(st, 0) > 0), &n, err);
    sqlite3_finalize(st);
    if (failed) return -1;
    if (n.attempts == 0)
        return error_set(err, "%s: the runs table is empty (no training run was recorded in this database)", d->path);
    d->run.run_id = n.run_id;
    d->run.attempts = n.attempts;
    return 0;
}

static int load_run(rundata *d, sqlite3 *db, error *err)
{
    /* Reports divide by classes and batch and step by probe_every. */
    static const column_spec spec[] = {
        {.column = 0, .type = COLUMN_TEXT, COLUMN_AT(run_info, name)},
        {.column = 1, .type = COLUMN_TEXT, COLUMN_AT(run_info, version)},
        {.column = 2, .type = COLUMN_TEXT, COLUMN_AT(run_info, started_at)},
        {.column = 3, .type = COLUMN_TEXT, COLUMN_AT(run_info, finished_at)},
        {.column = 4, .type = COLUMN_TEXT, COLUMN_AT(run_info, status)},
        {.column = 5, .type = COLUMN_INTEGER, .lo = 0, .hi = 1000, COLUMN_AT(run_info, depth)},
        {.column = 6, .type = COLUMN_INTEGER, .lo = 1, .hi = 1 << 20, COLUMN_AT(run_info, width)},
        {.column = 7, .type = COLUMN_TEXT, COLUMN_AT(run_info, clip)},
        {.column = 8, .type = COLUMN_INTEGER, .lo = 1, .hi = 1 << 20, COLUMN_AT(run_info, classes)},
        {.column = 9, .type = COLUMN_INTEGER, .lo = 1, .hi = 1 << 20, COLUMN_AT(run_info, batch)},
        {.column = 10, .type = COLUMN_TEXT, COLUMN_AT(run_info, init)},
        {.column = 11, .type = COLUMN_REAL, COLUMN_AT(run_info, l2)},
        {.column = 12, .type = COLUMN_REAL, COLUMN_AT(run_info, lr)},
        {.column = 13, .type = COLUMN_INTEGER, .lenient = 1, .lo = LLONG_MIN, .hi = LLONG_MAX, COLUMN_AT(run_info, seed)},
        {.column = 14, .type = COLUMN_TEXT, COLUMN_AT(run_info, data)},
        {.column = 15, .type = COLUMN_TEXT, COLUMN_AT(run_info, normalize)},
        {.column = 16, .type = COLUMN_INTEGER, .lo = 1, .hi = RUNDATA_MAX_STEP, COLUMN_AT(run_info, probe_every)},
        {.column = 17, .type = COLUMN_INTEGER, .nullable = 1, .lo = 0, .hi = RUNDATA_MAX_STEP,
         COLUMN_AT(run_info, resumed_from)},
    };
    sqlite3_stmt *st = NULL;
    if (load_run_id(d, db, err) ||
        prepare(db,
                "SELECT name, version, started_at, finished_at, status, depth, width, clip, classes, batch, init, "
                "l2, lr, seed, data, normalize, probe_every, resumed_from FROM runs WHERE run_id = ?",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    int rc = sqlite3_step(st), failed;
    if (rc != SQLITE_ROW)
        failed = error_set(err, "%s: cannot read run %d: %s", d->path, d->run.run_id, sqlite3_errmsg(db));
    else
        failed = read_checked(d, st, "runs", spec, SPEC_COUNT(spec), &d->run, err);
    sqlite3_finalize(st);
    return failed;
}

/* layer_id is the position in execution order: 0..N-1, each once.  Every
 * lookup by id is then an index check, and no id can make a table the size
 * of its value. */
static void layer_bound(column_spec *spec, const void *items, int n)
{
    (void)items;
    spec[0].lo = spec[0].hi = n;
}

static int load_layers(rundata *d, sqlite3 *db, error *err)
{
    column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, COLUMN_AT(layer_info, layer_id)},
        {.column = 1, .type = COLUMN_TEXT, COLUMN_AT(layer_info, name)},
        {.column = 2, .type = COLUMN_TEXT, COLUMN_AT(layer_info, path)},
        /* a class this nanprobe does not build is no analysis' concern: kept */
        {.column = 3, .type = COLUMN_ENUM, .lenient = 1, .names = STORED_LAYER_KIND, COLUMN_AT(layer_info, kind)},
        {.column = 4, .type = COLUMN_TEXT, COLUMN_AT(layer_info, inputs)},
        {.column = 5, .type = COLUMN_TEXT, COLUMN_AT(layer_info, output_shape)},
        {.column = 6, .type = COLUMN_INTEGER, .lenient = 1, .lo = 0, .hi = LLONG_MAX, COLUMN_AT(layer_info, param_count)},
    };
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT layer_id, name, path, kind, inputs, output_shape, param_count FROM layers "
                "WHERE run_id = ? ORDER BY layer_id LIMIT 65537", /* RUNDATA_MAX_LAYERS + 1 */
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    row_sink sink = {(void **)&d->layers, &d->layer_count, 0, sizeof *d->layers};
    if (read_rows(d, db, st, "layers", spec, SPEC_COUNT(spec), &sink, layer_bound, err)) return -1;
    if (d->layer_count > RUNDATA_MAX_LAYERS)
        return error_set(err, "%s: damaged database: more than %d layers", d->path, RUNDATA_MAX_LAYERS);
    if (d->layer_count == 0)
        return error_set(err, "%s: run %d has no layers recorded (the trainer writes them before the first step)",
                         d->path, d->run.run_id);
    return 0;
}

/* Steps ascend strictly (rundata_step searches them by bisection). */
static void step_bound(column_spec *spec, const void *items, int n)
{
    spec[0].lo = n ? ((const step_info *)items)[n - 1].step + 1 : 1;
}

static int load_steps(rundata *d, sqlite3 *db, error *err)
{
    column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .hi = RUNDATA_MAX_STEP, COLUMN_AT(step_info, step)},
        {.column = 1, .type = COLUMN_INTEGER, .lo = 1, .hi = RUNDATA_MAX_STEP, COLUMN_AT(step_info, epoch)},
        {.column = 2, .type = COLUMN_REAL, COLUMN_AT(step_info, lr)},
        {.column = 3, .type = COLUMN_REAL, COLUMN_AT(step_info, loss)},
        {.column = 4, .type = COLUMN_REAL, COLUMN_AT(step_info, data_loss)},
        {.column = 5, .type = COLUMN_REAL, COLUMN_AT(step_info, l2_penalty)},
        {.column = 6, .type = COLUMN_REAL, COLUMN_AT(step_info, accuracy)},
        {.column = 7, .type = COLUMN_INTEGER, .lo = 0, .hi = 1, COLUMN_AT(step_info, probed)},
        {.column = 8, .type = COLUMN_INTEGER, .lo = 0, .hi = 1, COLUMN_AT(step_info, loss_finite)},
    };
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT step, epoch, lr, loss, data_loss, l2_penalty, accuracy, probed, loss_finite FROM steps "
                "WHERE run_id = ? ORDER BY step",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    row_sink sink = {(void **)&d->steps, &d->step_count, 0, sizeof *d->steps};
    if (read_rows(d, db, st, "steps", spec, SPEC_COUNT(spec), &sink, step_bound, err)) return -1;
    if (d->step_count == 0)
        return error_set(err, "%s: run %d ('%.200s') has no steps recorded yet: nothing to report", d->path,
                         d->run.run_id, d->run.name);
    return 0;
}

static void epoch_bound(column_spec *spec, const void *items, int n)
{
    spec[0].lo = n ? ((const epoch_info *)items)[n - 1].epoch + 1 : 1;
}

static int load_epochs(rundata *d, sqlite3 *db, error *err)
{
    column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .hi = RUNDATA_MAX_STEP, COLUMN_AT(epoch_info, epoch)},
        {.column = 1, .type = COLUMN_INTEGER, .lo = 0, .hi = RUNDATA_MAX_STEP, COLUMN_AT(epoch_info, last_step)},
        {.column = 2, .type = COLUMN_REAL, COLUMN_AT(epoch_info, loss)},
        {.column = 3, .type = COLUMN_REAL, COLUMN_AT(epoch_info, accuracy)},
        {.column = 4, .type = COLUMN_REAL, COLUMN_AT(epoch_info, val_loss)},
        {.column = 5, .type = COLUMN_REAL, COLUMN_AT(epoch_info, val_accuracy)},
        {.column = 6, .type = COLUMN_REAL, COLUMN_AT(epoch_info, lr)},
    };
    sqlite3_stmt *st = NULL;
    if (prepare(db,
                "SELECT epoch, last_step, loss, accuracy, val_loss, val_accuracy, lr FROM epochs "
                "WHERE run_id = ? ORDER BY epoch",
                &st, d->path, err))
        return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    row_sink sink = {(void **)&d->epochs, &d->epoch_count, 0, sizeof *d->epochs};
    return read_rows(d, db, st, "epochs", spec, SPEC_COUNT(spec), &sink, epoch_bound, err);
}

#define EVENT_INT(c, field, lo_, hi_) \
    {.column = c, .type = COLUMN_INTEGER, .nullable = 1, .lo = lo_, .hi = hi_, COLUMN_AT(event_info, field)}
/* Coordinates and ids only printed: a damaged one reads as unknown (-1). */
#define EVENT_INDEX(c, field) \
    {.column = c, .type = COLUMN_INTEGER, .lenient = 1, .lo = 0, .hi = LLONG_MAX, COLUMN_AT(event_info, field)}
#define EVENT_NAME(c, field, which) \
    {.column = c, .type = COLUMN_ENUM, .lenient = 1, .names = which, COLUMN_AT(event_info, field)}

static int load_events(rundata *d, sqlite3 *db, error *err)
{
    column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .lo = LLONG_MIN, .hi = LLONG_MAX, COLUMN_AT(event_info, event_id)},
        EVENT_INT(1, step, 0, RUNDATA_MAX_STEP),
        EVENT_INT(2, epoch, 0, RUNDATA_MAX_STEP),
        EVENT_NAME(3, kind, STORED_EVENT_KIND),
        EVENT_INT(4, layer_id, 0, d->layer_count - 1),
        {.column = 5, .type = COLUMN_TEXT, COLUMN_AT(event_info, layer_name)},
        {.column = 6, .type = COLUMN_TEXT, COLUMN_AT(event_info, layer_path)},
        EVENT_NAME(7, pass, STORED_PASS),
        {.column = 8, .type = COLUMN_TEXT, COLUMN_AT(event_info, tensor)},
        EVENT_NAME(9, value_class, STORED_VALUE_CLASS),
        EVENT_INDEX(10, element_index),
        EVENT_INDEX(11, sample),
        EVENT_INDEX(12, d),
        EVENT_INDEX(13, h),
        EVENT_INDEX(14, w),
        EVENT_INDEX(15, channel),
        EVENT_INDEX(16, sample_id),
        EVENT_INT(17, is_origin, 0, 1),
        {.column = 18, .type = COLUMN_REAL, COLUMN_AT(event_info, old_value)},
        {.column = 19, .type = COLUMN_REAL, COLUMN_AT(event_info, new_value)},
        {.column = 20, .type = COLUMN_TEXT, COLUMN_AT(event_info, message)},
        EVENT_NAME(21, inject_kind, STORED_INJECT_KIND),
    };
    sqlite3_stmt *st = NULL;
    char sql[400]; /* events.inject_kind came later: NULL in a database made before it */
    snprintf(sql, sizeof sql,
             "SELECT event_id, step, epoch, kind, layer_id, layer_name, layer_path, pass, tensor, value_class, "
             "element_index, sample, d, h, w, channel, sample_id, is_origin, old_value, new_value, message, %s "
             "FROM events WHERE run_id = ? ORDER BY event_id",
             db_has_column(db, "events", "inject_kind") ? "inject_kind" : "NULL");
    if (prepare(db, sql, &st, d->path, err)) return -1;
    sqlite3_bind_int(st, 1, d->run.run_id);
    row_sink sink = {(void **)&d->events, &d->event_count, 0, sizeof *d->events};
    if (read_rows(d, db, st, "events", spec, SPEC_COUNT(spec), &sink, NULL, err)) return -1;
    /* An injection's kind: its column, or in a database made before the
     * column, the "(--inject KIND@" its message quotes. */
    for (int i = 0; i < d->event_count; i++) {
        event_info *e = &d->events[i];
        e->inject_kind = e->kind != EVENT_INJECTION ? -1
                         : e->inject_kind < INJECT_KIND_COUNT ? e->inject_kind
                                                              : stored_injection_kind(NULL, e->message);
    }
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
        in->nonfinite_clips = count_of(sqlite3_column_double(st, 1));
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
            long long step_value = sqlite3_column_int64(st, 0);
            int step = step_value >= 0 && step_value <= RUNDATA_MAX_STEP ? (int)step_value : 0;
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

/* The probed steps, by seeking to the next step present in stats.  Each
 * must be an integer above the one before: a step of 1.5 (read as 1) or
 * 4294967297 (1 in 32 bits) would otherwise seek to itself forever. */
static int load_probe_steps(rundata *d, sqlite3 *db, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(db, "SELECT step FROM stats WHERE run_id = ? AND step > ? ORDER BY step LIMIT 1", &st, d->path,
                err))
        return -1;
    int capacity = 0, last = 0;
    for (;;) {
        sqlite3_bind_int(st, 1, d->run.run_id);
        sqlite3_bind_int(st, 2, last);
        int rc = sqlite3_step(st), step;
        if (rc != SQLITE_ROW) {
            int failed = step_failed(db, rc, d->path, err);
            sqlite3_finalize(st);
            return failed;
        }
        column_spec spec = {.column = 0, .type = COLUMN_INTEGER, .lo = last + 1, .hi = RUNDATA_MAX_STEP,
                            .size = sizeof step};
        if (read_checked(d, st, "stats", &spec, 1, &step, err)) {
            sqlite3_finalize(st);
            return -1;
        }
        last = step;
        sqlite3_reset(st);
        if (array_grow((void **)&d->probe_steps, &capacity, d->probe_count + 1, sizeof *d->probe_steps)) {
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

static int load_series(rundata *d, sqlite3 *db, unsigned mask, int with_extremes, error *err)
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
    /* A row of a layer that is not there is left out, as the scan does. */
    const column_spec spec[] = {
        {.column = 0, .type = COLUMN_INTEGER, .lo = 0, .hi = d->layer_count - 1, COLUMN_AT(rundata_stat, layer)},
        {.column = 1, .type = COLUMN_TEXT_IN, COLUMN_AT(rundata_stat, tensor)},
        {.column = 2, .type = COLUMN_INTEGER, .lenient = 1, .lo = 0, .hi = LLONG_MAX, COLUMN_AT(rundata_stat, count)},
        {.column = 3, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, mean)},
        {.column = 4, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, std)},
        {.column = 5, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, min)},
        {.column = 6, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, max)},
        {.column = 7, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, absmax)},
        {.column = 8, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, l2norm)},
        {.column = 9, .type = COLUMN_REAL, COLUMN_AT(rundata_stat, zero_fraction)},
        {.column = 10, .type = COLUMN_INTEGER, .lenient = 1, .lo = 0, .hi = LLONG_MAX,
         COLUMN_AT(rundata_stat, nonfinite)},
    };
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rundata_stat r;
        char why[320];
        if (read_row(st, "stats", spec, SPEC_COUNT(spec), &r, why, sizeof why)) continue;
        if (array_grow((void **)rows, &capacity, *count + 1, sizeof **rows)) break;
        (*rows)[(*count)++] = r;
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

/* The replays, knowing which convolutions feed a BatchNorm: their biases'
 * float32 error is rounding noise (read_replay.h). */
static int load_replays(rundata *d, sqlite3 *db, error *err)
{
    unsigned char *bias_noise = calloc((size_t)d->layer_count, 1);
    if (!bias_noise) return error_set(err, "%s: out of memory", d->path);
    for (int i = 0; i < d->layer_count; i++) {
        if (d->layers[i].kind != LAYER_BATCHNORM) continue;
        for (int j = 0; j < d->layer_count; j++)
            if (d->layers[j].kind == LAYER_CONV3D && strcmp(d->layers[j].name, d->layers[i].inputs) == 0)
                bias_noise[j] = 1;
    }
    int rc = replay_set_load(&d->replays, db, d->path, d->run.run_id, d->layer_count, bias_noise, err);
    free(bias_noise);
    return rc;
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
    if (!rc) rc = load_replays(d, db, err);
    if (!rc) precision_info_load(&d->precision, db, d->run.run_id);
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
        free(l->inputs);
        free(l->output_shape);
    }
    free(d->layers);
    free(d->steps);
    free(d->epochs);
    for (int i = 0; i < d->event_count; i++) {
        event_info *e = &d->events[i];
        free(e->layer_name);
        free(e->layer_path);
        free(e->tensor);
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
    replay_set_free(&d->replays);
    memset(d, 0, sizeof *d);
}

double rundata_value(const rundata *d, series_id s, int probe, int layer)
{
    if (!d->series[s] || probe < 0 || probe >= d->probe_count || layer < 0 || layer >= d->layer_count) return NAN;
    return d->series[s][(size_t)probe * (size_t)d->layer_count + (size_t)layer];
}

int rundata_layer_index(const rundata *d, int layer_id)
{
    return plan_layer(d, layer_id);
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
        if (d->events[i].kind == EVENT_NAN) return &d->events[i];
    return NULL;
}

int rundata_layer_has(const rundata *d, series_id s, int layer)
{
    if (!d->series[s]) return 0;
    for (int p = 0; p < d->probe_count; p++)
        if (!isnan(d->series[s][(size_t)p * (size_t)d->layer_count + (size_t)layer])) return 1;
    return 0;
}

double rundata_first_value(const rundata *d, series_id s, int layer, int end, int *step)
{
    for (int p = 0; p < end && p < d->probe_count; p++) {
        double v = rundata_value(d, s, p, layer);
        if (isfinite(v)) {
            if (step) *step = d->probe_steps[p];
            return v;
        }
    }
    return NAN;
}
