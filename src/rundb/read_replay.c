/* read_replay.c: loading a run's replays for the reports (see
 * read_replay.h).  A bad row is left out and counted, never fatal: the
 * replay is evidence beside the run, and a damaged replay row must not cost
 * the user the report of the run itself. */
#include "read_replay.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "read_columns.h"

#define REPLAY_MAX_STEP (1 << 30)
#define REPLAY_TEXT_MAX 2000 /* characters kept of a message */

/* ------------------------------------------------------------ columns */

/* Reads a row by its spec (read_columns.h); a row that breaks it is left
 * out and counted, and the first one's reason kept for the report. */
static int read_kept(replay_set *set, sqlite3_stmt *st, const char *table, const column_spec *spec, int count,
                     void *row)
{
    char why[sizeof set->ignored_reason];
    if (read_row(st, table, spec, count, row, why, sizeof why) == 0) return 0;
    if (++set->ignored == 1) snprintf(set->ignored_reason, sizeof set->ignored_reason, "%s", why);
    return -1;
}

#define INT_COLUMN(c, row, field, lo_, hi_) \
    {.column = c, .type = COLUMN_INTEGER, .lo = lo_, .hi = hi_, COLUMN_AT(row, field)}
#define NULLABLE_COLUMN(c, row, field, lo_, hi_) \
    {.column = c, .type = COLUMN_INTEGER, .nullable = 1, .lo = lo_, .hi = hi_, COLUMN_AT(row, field)}
/* A count used only in text: any non-negative integer, else -1 (kept). */
#define COUNT_COLUMN(c, row, field, hi_) \
    {.column = c, .type = COLUMN_INTEGER, .lenient = 1, .lo = 0, .hi = hi_, COLUMN_AT(row, field)}
#define REAL_COLUMN(c, row, field) {.column = c, .type = COLUMN_REAL, COLUMN_AT(row, field)}
#define TEXT_COLUMN(c, row, field) {.column = c, .type = COLUMN_TEXT_IN, COLUMN_AT(row, field)}

/* ------------------------------------------------------------ tables */

static int tables_present(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int n = 0;
    /* tables only: a view of the same name could be made to run forever */
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('replays', "
                               "'replay_tensors', 'replay_terms')", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n == 3;
}

static int read_failed(sqlite3 *db, int rc, const char *path, error *err)
{
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return 0;
    return error_set(err, "%s: reading the replay tables failed: %s", path, sqlite3_errmsg(db));
}

/* A prepare that fails means tables of another shape: no replay, said so. */
static int prepare_or_note(replay_set *set, sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK) return 0;
    sqlite3_finalize(*st);
    *st = NULL;
    set->ignored++;
    snprintf(set->ignored_reason, sizeof set->ignored_reason, "the replay tables are not the ones this nanprobe "
             "writes (%.160s)", sqlite3_errmsg(db));
    return -1;
}

/* Does the tensor's relative error measure rounding noise only? */
static int noise_only(const unsigned char *bias_noise, int layer, const char *tensor, double float_max_abs,
                      double double_max_abs)
{
    if (bias_noise && layer >= 0 && bias_noise[layer] && strncmp(tensor, "bias", 4) == 0) return 1;
    return replay_tensor_exact_zero(float_max_abs, double_max_abs);
}

/* ------------------------------------------------------------ replays */

#define REPLAY_COLUMNS                                                                                             \
    "replay_id, step, trigger, snapshot_step, threads, float_rerun, reproduced, layers_compared, "                \
    "layers_identical, first_difference_layer, rerun_event, double_rerun, finding, origin_layer, origin_tensor, " \
    "origin_element, float_value, double_value, double_value_text, double_max_abs, operation, message, "          \
    "float_seconds, double_seconds, terms_sum, terms_sum_text, term_count, dominant_channel, dominant_share, "    \
    "dominant_input_max, dominant_weight_typical, input_npy, kernel_npy, "

static void replay_info_free(replay_info *x)
{
    free(x->rerun_event);
    free(x->operation);
    free(x->message);
    free(x->input_npy);
    free(x->kernel_npy);
    free(x->tensors);
}

/* One replays row into x; 0 when it was kept.  layers_identical is bounded
 * by layers_compared, so the row is read in two parts. */
static int read_replay(replay_set *set, sqlite3_stmt *st, int layer_count, replay_info *x)
{
    column_spec spec[] = {
        INT_COLUMN(0, replay_info, replay_id, LLONG_MIN, LLONG_MAX),
        INT_COLUMN(1, replay_info, step, 1, REPLAY_MAX_STEP),
        {.column = 2, .type = COLUMN_ENUM, .names = STORED_REPLAY_TRIGGER, COLUMN_AT(replay_info, trigger)},
        INT_COLUMN(3, replay_info, snapshot_step, 0, REPLAY_MAX_STEP),
        INT_COLUMN(4, replay_info, threads, 0, 1 << 20),
        INT_COLUMN(5, replay_info, float_rerun, 0, 1),
        NULLABLE_COLUMN(6, replay_info, reproduced, 0, 1),
        NULLABLE_COLUMN(7, replay_info, layers_compared, 0, REPLAY_MAX_STEP),
        NULLABLE_COLUMN(8, replay_info, layers_identical, 0, 0),
        NULLABLE_COLUMN(9, replay_info, first_difference_layer, 0, layer_count),
        {.column = 10, .type = COLUMN_TEXT, .hi = REPLAY_TEXT_MAX, COLUMN_AT(replay_info, rerun_event)},
        INT_COLUMN(11, replay_info, double_rerun, 0, 1),
        {.column = 12, .type = COLUMN_ENUM, .names = STORED_REPLAY_FINDING, COLUMN_AT(replay_info, finding)},
        NULLABLE_COLUMN(13, replay_info, origin_layer, 0, layer_count - 1),
        TEXT_COLUMN(14, replay_info, origin_tensor),
        COUNT_COLUMN(15, replay_info, origin_element, LLONG_MAX),
        TEXT_COLUMN(16, replay_info, float_value),
        {.column = 17, .type = COLUMN_REAL, .twin = 18, COLUMN_AT(replay_info, double_value)},
        REAL_COLUMN(19, replay_info, double_max_abs),
        {.column = 20, .type = COLUMN_TEXT, .hi = REPLAY_TEXT_MAX, COLUMN_AT(replay_info, operation)},
        {.column = 21, .type = COLUMN_TEXT, .hi = REPLAY_TEXT_MAX, COLUMN_AT(replay_info, message)},
        REAL_COLUMN(22, replay_info, float_seconds),
        REAL_COLUMN(23, replay_info, double_seconds),
        {.column = 24, .type = COLUMN_REAL, .twin = 25, COLUMN_AT(replay_info, terms_sum)},
        COUNT_COLUMN(26, replay_info, term_count, LLONG_MAX),
        COUNT_COLUMN(27, replay_info, dominant_channel, (1 << 24) - 1),
        REAL_COLUMN(28, replay_info, dominant_share),
        REAL_COLUMN(29, replay_info, dominant_input_max),
        REAL_COLUMN(30, replay_info, dominant_weight_typical),
        {.column = 31, .type = COLUMN_TEXT, .hi = REPLAY_TEXT_MAX, COLUMN_AT(replay_info, input_npy)},
        {.column = 32, .type = COLUMN_TEXT, .hi = REPLAY_TEXT_MAX, COLUMN_AT(replay_info, kernel_npy)},
        NULLABLE_COLUMN(33, replay_info, loss_identical, 0, 1),
    };
    const int identical = 8;
    memset(x, 0, sizeof *x);
    int bad = read_kept(set, st, "replays", spec, identical, x);
    if (!bad) {
        spec[identical].hi = x->layers_compared >= 0 ? x->layers_compared : 0;
        bad = read_kept(set, st, "replays", spec + identical, SPEC_COUNT(spec) - identical, x);
    }
    if (bad) {
        replay_info_free(x);
        return -1;
    }
    x->has_provenance = sqlite3_column_type(st, 24) != SQLITE_NULL || sqlite3_column_type(st, 25) != SQLITE_NULL;
    return 0;
}

static int load_tensors(replay_set *set, sqlite3 *db, const char *path, int layer_count,
                        const unsigned char *bias_noise, replay_info *x, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare_or_note(set, db, "SELECT layer_id, tensor, float_max_abs, double_max_abs, relative_error, "
                        "double_nonfinite, chain_position, double_value FROM replay_tensors WHERE replay_id = ? "
                        "LIMIT 65536", &st))
        return 0;
    sqlite3_bind_int64(st, 1, x->replay_id);
    const column_spec spec[] = {
        INT_COLUMN(0, replay_tensor_info, layer, 0, layer_count - 1),
        TEXT_COLUMN(1, replay_tensor_info, tensor),
        REAL_COLUMN(2, replay_tensor_info, float_max_abs),
        REAL_COLUMN(3, replay_tensor_info, double_max_abs),
        REAL_COLUMN(4, replay_tensor_info, relative_error),
        COUNT_COLUMN(5, replay_tensor_info, double_nonfinite, LLONG_MAX),
        NULLABLE_COLUMN(6, replay_tensor_info, chain_position, 0, 1 << 20),
        REAL_COLUMN(7, replay_tensor_info, double_value),
    };
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        replay_tensor_info t;
        if (read_kept(set, st, "replay_tensors", spec, SPEC_COUNT(spec), &t)) continue;
        t.noise_only = noise_only(bias_noise, t.layer, t.tensor, t.float_max_abs, t.double_max_abs);
        if (array_grow((void **)&x->tensors, &capacity, x->tensor_count + 1, sizeof *x->tensors)) break;
        x->tensors[x->tensor_count++] = t;
    }
    int failed = read_failed(db, rc, path, err);
    sqlite3_finalize(st);
    if (!failed && rc == SQLITE_ROW) failed = error_set(err, "%s: out of memory reading replay_tensors", path);
    return failed;
}

/* Largest |term| first; a NaN or infinite term (the bad one) before all. */
static int term_order(const void *a, const void *b)
{
    double x = fabs(((const replay_term_info *)a)->term), y = fabs(((const replay_term_info *)b)->term);
    int xn = isnan(x), yn = isnan(y);
    if (xn != yn) return xn ? -1 : 1;
    if (x != y && !xn) return x > y ? -1 : 1;
    return ((const replay_term_info *)a)->rank - ((const replay_term_info *)b)->rank;
}

static int load_terms(replay_set *set, sqlite3 *db, const char *path, int layer_count, replay_info *x,
                      error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare_or_note(set, db, "SELECT rank, source_layer, channel, sample, d, h, w, tap, input, weight, term "
                        "FROM replay_terms WHERE replay_id = ? ORDER BY rank LIMIT 16", &st))
        return 0;
    sqlite3_bind_int64(st, 1, x->replay_id);
    const column_spec spec[] = {
        INT_COLUMN(0, replay_term_info, rank, 0, REPLAY_MAX_STEP),
        INT_COLUMN(1, replay_term_info, source_layer, 0, layer_count - 1),
        INT_COLUMN(2, replay_term_info, channel, 0, 1 << 24),
        NULLABLE_COLUMN(3, replay_term_info, sample, 0, 1 << 24),
        NULLABLE_COLUMN(4, replay_term_info, d, 0, 1 << 24),
        NULLABLE_COLUMN(5, replay_term_info, h, 0, 1 << 24),
        NULLABLE_COLUMN(6, replay_term_info, w, 0, 1 << 24),
        TEXT_COLUMN(7, replay_term_info, tap),
        REAL_COLUMN(8, replay_term_info, input),
        REAL_COLUMN(9, replay_term_info, weight),
        REAL_COLUMN(10, replay_term_info, term),
    };
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && x->term_rows < REPLAY_TERMS_MAX)
        if (read_kept(set, st, "replay_terms", spec, SPEC_COUNT(spec), &x->terms[x->term_rows]) == 0) x->term_rows++;
    int failed = read_failed(db, rc, path, err);
    sqlite3_finalize(st);
    qsort(x->terms, (size_t)x->term_rows, sizeof x->terms[0], term_order);
    return failed;
}

static int load_details(replay_set *set, sqlite3 *db, const char *path, int run_id, int layer_count,
                        const unsigned char *bias_noise, error *err)
{
    sqlite3_stmt *st = NULL;
    /* loss_identical came after the first replay tables: without it, NULL */
    if (sqlite3_prepare_v2(db, "SELECT " REPLAY_COLUMNS "loss_identical FROM replays WHERE run_id = ? AND trigger "
                           "<> 'shadow' ORDER BY replay_id DESC LIMIT 64", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        st = NULL;
        if (prepare_or_note(set, db, "SELECT " REPLAY_COLUMNS "NULL FROM replays WHERE run_id = ? AND trigger <> "
                            "'shadow' ORDER BY replay_id DESC LIMIT 64", &st))
            return 0;
    }
    sqlite3_bind_int(st, 1, run_id);
    set->items = calloc(REPLAY_DETAIL_MAX, sizeof *set->items);
    if (!set->items) {
        sqlite3_finalize(st);
        return error_set(err, "%s: out of memory reading the replays", path);
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && set->count < REPLAY_DETAIL_MAX) {
        if (read_replay(set, st, layer_count, &set->items[set->count]) == 0) set->count++;
    }
    int failed = read_failed(db, rc, path, err);
    sqlite3_finalize(st);
    for (int i = 0; i < set->count && !failed; i++)
        failed = load_tensors(set, db, path, layer_count, bias_noise, &set->items[i], err) ||
                 load_terms(set, db, path, layer_count, &set->items[i], err);
    return failed;
}

/* ------------------------------------------------------------ shadow */

#define SHADOW_SLOTS 8192 /* > 2 x REPLAY_SHADOW_SERIES_MAX */

typedef struct series_index {
    int slots[SHADOW_SLOTS]; /* series + 1, 0 = empty */
} series_index;

static unsigned series_hash(int layer, const char *tensor)
{
    unsigned h = 2166136261u ^ (unsigned)layer;
    for (const unsigned char *p = (const unsigned char *)tensor; *p; p++) h = (h ^ *p) * 16777619u;
    return h % SHADOW_SLOTS;
}

/* The series of (layer, tensor), added when add is set; -1 when absent/full. */
static int series_find(replay_shadow *s, series_index *ix, int layer, const char *tensor, int add)
{
    unsigned i = series_hash(layer, tensor);
    for (; ix->slots[i]; i = (i + 1) % SHADOW_SLOTS) {
        int k = ix->slots[i] - 1;
        if (s->series_layer[k] == layer && strcmp(s->series_tensor[k], tensor) == 0) return k;
    }
    if (!add || s->series_count >= REPLAY_SHADOW_SERIES_MAX) return -1;
    int k = s->series_count++;
    s->series_layer[k] = layer;
    snprintf(s->series_tensor[k], sizeof s->series_tensor[k], "%s", tensor);
    ix->slots[i] = k + 1;
    return k;
}

/* The newest shadow replay of each step, the latest REPLAY_SHADOW_STEPS_MAX. */
#define SHADOW_REPLAYS                                                                                 \
    "SELECT MAX(replay_id) AS id, step FROM replays WHERE run_id = ?1 AND trigger = 'shadow' GROUP BY step " \
    "ORDER BY step DESC LIMIT 2048"

typedef struct shadow_step {
    long long id;
    int step;
} shadow_step;

static int load_shadow_steps(replay_set *set, sqlite3 *db, const char *path, int run_id, long long *ids,
                             error *err)
{
    replay_shadow *s = &set->shadow;
    sqlite3_stmt *st = NULL;
    if (prepare_or_note(set, db, SHADOW_REPLAYS, &st)) return 0;
    sqlite3_bind_int(st, 1, run_id);
    const column_spec spec[] = {
        INT_COLUMN(0, shadow_step, id, LLONG_MIN, LLONG_MAX),
        INT_COLUMN(1, shadow_step, step, 1, REPLAY_MAX_STEP),
    };
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < REPLAY_SHADOW_STEPS_MAX) {
        shadow_step row;
        if (read_kept(set, st, "replays", spec, SPEC_COUNT(spec), &row)) continue;
        ids[n] = row.id;
        s->steps[n++] = row.step;
    }
    int failed = read_failed(db, rc, path, err);
    sqlite3_finalize(st);
    /* descending from the query: ascending for the figure */
    for (int i = 0; i < n / 2; i++) {
        int t = s->steps[i];
        s->steps[i] = s->steps[n - 1 - i], s->steps[n - 1 - i] = t;
        long long u = ids[i];
        ids[i] = ids[n - 1 - i], ids[n - 1 - i] = u;
    }
    s->step_count = n;
    return failed;
}

static int shadow_alloc(replay_shadow *s)
{
    s->steps = malloc(REPLAY_SHADOW_STEPS_MAX * sizeof *s->steps);
    s->series_layer = malloc(REPLAY_SHADOW_SERIES_MAX * sizeof *s->series_layer);
    s->series_tensor = malloc(REPLAY_SHADOW_SERIES_MAX * sizeof *s->series_tensor);
    return s->steps && s->series_layer && s->series_tensor ? 0 : -1;
}

typedef struct shadow_tensor {
    int layer;
    double relative_error, float_max_abs, double_max_abs;
} shadow_tensor;

/* Two passes over each shadow replay's tensors: the series, then the matrix
 * (whose width is known only after the first). */
static int load_shadow_errors(replay_set *set, sqlite3 *db, const char *path, int layer_count,
                              const unsigned char *bias_noise, const long long *ids, series_index *ix, error *err)
{
    replay_shadow *s = &set->shadow;
    sqlite3_stmt *st = NULL;
    if (prepare_or_note(set, db, "SELECT layer_id, tensor, relative_error, float_max_abs, double_max_abs FROM replay_tensors "
                        "WHERE replay_id = ? "
                        "LIMIT 65536", &st))
        return 0;
    const column_spec spec[] = {
        INT_COLUMN(0, shadow_tensor, layer, 0, layer_count - 1),
        REAL_COLUMN(2, shadow_tensor, relative_error),
        REAL_COLUMN(3, shadow_tensor, float_max_abs),
        REAL_COLUMN(4, shadow_tensor, double_max_abs),
    };
    int failed = 0;
    long long ignored = 0;
    for (int pass = 0; pass < 2 && !failed; pass++) {
        if (pass == 1) {
            ignored = set->ignored; /* the second pass meets the same bad rows: count them once */
            s->error = malloc((size_t)s->step_count * (size_t)(s->series_count ? s->series_count : 1) * sizeof *s->error);
            if (!s->error) failed = error_set(err, "%s: out of memory reading the shadow replays", path);
            for (size_t i = 0; !failed && i < (size_t)s->step_count * (size_t)s->series_count; i++) s->error[i] = NAN;
        }
        for (int k = 0; k < s->step_count && !failed; k++) {
            sqlite3_bind_int64(st, 1, ids[k]);
            int rc;
            while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                shadow_tensor t;
                if (read_kept(set, st, "replay_tensors", spec, SPEC_COUNT(spec), &t)) continue;
                const unsigned char *tensor = sqlite3_column_text(st, 1);
                if (!tensor || strlen((const char *)tensor) >= 48) continue;
                int series = series_find(s, ix, t.layer, (const char *)tensor, pass == 0);
                double e = noise_only(bias_noise, t.layer, (const char *)tensor, t.float_max_abs, t.double_max_abs)
                               ? NAN : t.relative_error;
                if (pass == 1 && series >= 0) s->error[(size_t)k * (size_t)s->series_count + (size_t)series] = (float)e;
            }
            failed = read_failed(db, rc, path, err);
            sqlite3_reset(st);
        }
    }
    if (ignored) set->ignored = ignored;
    sqlite3_finalize(st);
    return failed;
}

static int load_shadow(replay_set *set, sqlite3 *db, const char *path, int run_id, int layer_count,
                       const unsigned char *bias_noise, error *err)
{
    long long *ids = malloc(REPLAY_SHADOW_STEPS_MAX * sizeof *ids);
    series_index *ix = calloc(1, sizeof *ix);
    int failed = !ids || !ix || shadow_alloc(&set->shadow) ? error_set(err, "%s: out of memory", path) : 0;
    if (!failed) failed = load_shadow_steps(set, db, path, run_id, ids, err);
    if (!failed && set->shadow.step_count > 0) failed = load_shadow_errors(set, db, path, layer_count, bias_noise, ids, ix, err);
    free(ids);
    free(ix);
    return failed;
}

int replay_tensor_exact_zero(double float_max_abs, double double_max_abs)
{
    return float_max_abs > 0 && double_max_abs >= 0 && double_max_abs < 1e-6 * float_max_abs;
}

/* ------------------------------------------------------------ API */

int replay_set_load(replay_set *set, sqlite3 *db, const char *path, int run_id, int layer_count,
                    const unsigned char *bias_noise, error *err)
{
    memset(set, 0, sizeof *set);
    if (!tables_present(db)) return 0;
    set->tables = 1;
    int rc = load_details(set, db, path, run_id, layer_count, bias_noise, err);
    if (!rc) rc = load_shadow(set, db, path, run_id, layer_count, bias_noise, err);
    if (rc) replay_set_free(set);
    return rc;
}

void replay_set_free(replay_set *set)
{
    for (int i = 0; i < set->count; i++) replay_info_free(&set->items[i]);
    free(set->items);
    free(set->shadow.steps);
    free(set->shadow.series_layer);
    free(set->shadow.series_tensor);
    free(set->shadow.error);
    memset(set, 0, sizeof *set);
}

const replay_info *replay_set_nan(const replay_set *set)
{
    for (int i = 0; i < set->count; i++)
        if (set->items[i].trigger == REPLAY_TRIGGER_NAN) return &set->items[i];
    return NULL;
}
