/* read_run.c: loading one run of a run.db for the reports (see read_run.h):
 * the small tables (runs, layers, steps, epochs, events, input samples,
 * replays) through read_columns.h's checks; the big ones are read_series.c's. */
#include "read_run.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "read_columns.h"
#include "read_run_private.h"
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
    if (!rc) rc = read_run_series(d, db, series_mask, with_extremes, err);
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
    return layer_id >= 0 && layer_id < d->layer_count ? layer_id : -1;
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
