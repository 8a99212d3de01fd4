/* replay_data.c: loading a run's replays for the reports (see
 * replay_data.h).  A bad row is left out and counted, never fatal: the
 * replay is evidence beside the run, and a damaged replay row must not cost
 * the user the report of the run itself. */
#include "replay_data.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"


#define REPLAY_MAX_STEP (1 << 30)
#define REPLAY_TEXT_MAX 2000 /* characters kept of a message */

/* ------------------------------------------------------------ columns */

typedef struct row_reader {
    replay_set *set;
    sqlite3_stmt *st;
    const char *table;
    int bad; /* a check failed: the row is left out */
} row_reader;

static void left_out(row_reader *r, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void left_out(row_reader *r, const char *format, ...)
{
    if (r->bad) return;
    r->bad = 1;
    r->set->ignored++;
    if (r->set->ignored > 1) return;
    va_list args;
    va_start(args, format);
    vsnprintf(r->set->ignored_reason, sizeof r->set->ignored_reason, format, args);
    va_end(args);
}

/* An integer column within [lo, hi]; NULL gives -1 when nullable. */
static int column_int(row_reader *r, int column, long long lo, long long hi, int nullable)
{
    int type = sqlite3_column_type(r->st, column);
    if (type == SQLITE_NULL && nullable) return -1;
    long long v = sqlite3_column_int64(r->st, column);
    if (type == SQLITE_INTEGER && v >= lo && v <= hi) return (int)v;
    const unsigned char *text = sqlite3_column_text(r->st, column);
    left_out(r, "%s.%s = '%.32s' where an integer in [%lld, %lld] was expected", r->table,
             sqlite3_column_name(r->st, column), text ? (const char *)text : "NULL", lo, hi);
    return -1;
}

/* A count used only in text: any non-negative integer, else -1. */
static long long column_count(sqlite3_stmt *st, int column)
{
    if (sqlite3_column_type(st, column) != SQLITE_INTEGER) return -1;
    long long v = sqlite3_column_int64(st, column);
    return v >= 0 ? v : -1;
}

/* A REAL column, or its text twin ("nan", "+inf", "1.5e+40") when that
 * parses: SQLite keeps a NaN only as text.  Anything else is NaN. */
static double column_value(sqlite3_stmt *st, int column, int text_column)
{
    const unsigned char *text = text_column >= 0 ? sqlite3_column_text(st, text_column) : NULL;
    if (text && strlen((const char *)text) < 48) {
        char *end = NULL;
        double v = strtod((const char *)text, &end);
        if (end != (const char *)text && *end == '\0') return v;
    }
    int type = sqlite3_column_type(st, column);
    return type == SQLITE_INTEGER || type == SQLITE_FLOAT ? sqlite3_column_double(st, column) : NAN;
}

static void column_copy(sqlite3_stmt *st, int column, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text(st, column);
    snprintf(out, size, "%s", text ? (const char *)text : "");
}

static char *column_dup(sqlite3_stmt *st, int column)
{
    const unsigned char *text = sqlite3_column_text(st, column);
    return strndup(text ? (const char *)text : "", REPLAY_TEXT_MAX);
}

/* The index of text in names[count], or -1 (and the row left out). */
static int column_name_index(row_reader *r, int column, const char *const *names, int count)
{
    const unsigned char *text = sqlite3_column_text(r->st, column);
    for (int i = 0; text && i < count; i++)
        if (strcmp((const char *)text, names[i]) == 0) return i;
    left_out(r, "%s.%s = '%.32s' is not one this nanprobe knows", r->table, sqlite3_column_name(r->st, column),
             text ? (const char *)text : "NULL");
    return -1;
}

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

static void read_provenance(sqlite3_stmt *st, replay_info *x)
{
    x->has_provenance = sqlite3_column_type(st, 24) != SQLITE_NULL || sqlite3_column_type(st, 25) != SQLITE_NULL;
    x->terms_sum = column_value(st, 24, 25);
    x->term_count = column_count(st, 26);
    long long channel = column_count(st, 27);
    x->dominant_channel = channel >= 0 && channel < (1 << 24) ? (int)channel : -1;
    x->dominant_share = column_value(st, 28, -1);
    x->dominant_input_max = column_value(st, 29, -1);
    x->dominant_weight_typical = column_value(st, 30, -1);
}

/* One replays row into x; 0 when it was kept. */
static int read_replay(row_reader *r, int layer_count, replay_info *x)
{
    sqlite3_stmt *st = r->st;
    memset(x, 0, sizeof *x);
    x->replay_id = sqlite3_column_int64(st, 0);
    x->step = column_int(r, 1, 1, REPLAY_MAX_STEP, 0);
    x->trigger = (replay_trigger)column_name_index(r, 2, replay_trigger_names, REPLAY_TRIGGER_COUNT);
    x->snapshot_step = column_int(r, 3, 0, REPLAY_MAX_STEP, 0);
    x->threads = column_int(r, 4, 0, 1 << 20, 0);
    x->float_rerun = column_int(r, 5, 0, 1, 0);
    x->reproduced = column_int(r, 6, 0, 1, 1);
    x->layers_compared = column_int(r, 7, 0, REPLAY_MAX_STEP, 1);
    x->layers_identical = column_int(r, 8, 0, x->layers_compared >= 0 ? x->layers_compared : 0, 1);
    x->first_difference_layer = column_int(r, 9, 0, layer_count, 1);
    x->double_rerun = column_int(r, 11, 0, 1, 0);
    x->finding = (replay_finding)column_name_index(r, 12, replay_finding_names, REPLAY_FINDING_COUNT);
    x->origin_layer = column_int(r, 13, 0, layer_count - 1, 1);
    column_copy(st, 14, x->origin_tensor, sizeof x->origin_tensor);
    x->origin_element = column_count(st, 15);
    column_copy(st, 16, x->float_value, sizeof x->float_value);
    x->double_value = column_value(st, 17, 18);
    x->double_max_abs = column_value(st, 19, -1);
    x->float_seconds = column_value(st, 22, -1);
    x->double_seconds = column_value(st, 23, -1);
    x->loss_identical = column_int(r, 33, 0, 1, 1);
    read_provenance(st, x);
    if (r->bad) return -1;
    x->rerun_event = column_dup(st, 10);
    x->operation = column_dup(st, 20);
    x->message = column_dup(st, 21);
    x->input_npy = column_dup(st, 31);
    x->kernel_npy = column_dup(st, 32);
    return 0;
}

static void replay_info_free(replay_info *x)
{
    free(x->rerun_event);
    free(x->operation);
    free(x->message);
    free(x->input_npy);
    free(x->kernel_npy);
    free(x->tensors);
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
    int capacity = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        row_reader r = {set, st, "replay_tensors", 0};
        replay_tensor_info t;
        t.layer = column_int(&r, 0, 0, layer_count - 1, 0);
        column_copy(st, 1, t.tensor, sizeof t.tensor);
        t.float_max_abs = column_value(st, 2, -1);
        t.double_max_abs = column_value(st, 3, -1);
        t.relative_error = column_value(st, 4, -1);
        t.double_nonfinite = column_count(st, 5);
        t.chain_position = column_int(&r, 6, 0, 1 << 20, 1);
        t.double_value = column_value(st, 7, -1);
        if (r.bad) continue;
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
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && x->term_rows < REPLAY_TERMS_MAX) {
        row_reader r = {set, st, "replay_terms", 0};
        replay_term_info *t = &x->terms[x->term_rows];
        t->rank = column_int(&r, 0, 0, REPLAY_MAX_STEP, 0);
        t->source_layer = column_int(&r, 1, 0, layer_count - 1, 0);
        t->channel = column_int(&r, 2, 0, 1 << 24, 0);
        int *cell[4] = {&t->sample, &t->d, &t->h, &t->w};
        for (int k = 0; k < 4; k++) *cell[k] = column_int(&r, 3 + k, 0, 1 << 24, 1);
        column_copy(st, 7, t->tap, sizeof t->tap);
        t->input = column_value(st, 8, -1);
        t->weight = column_value(st, 9, -1);
        t->term = column_value(st, 10, -1);
        if (!r.bad) x->term_rows++;
    }
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
        row_reader r = {set, st, "replays", 0};
        if (read_replay(&r, layer_count, &set->items[set->count]) == 0) set->count++;
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

static int load_shadow_steps(replay_set *set, sqlite3 *db, const char *path, int run_id, long long *ids,
                             error *err)
{
    replay_shadow *s = &set->shadow;
    sqlite3_stmt *st = NULL;
    if (prepare_or_note(set, db, SHADOW_REPLAYS, &st)) return 0;
    sqlite3_bind_int(st, 1, run_id);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < REPLAY_SHADOW_STEPS_MAX) {
        row_reader r = {set, st, "replays", 0};
        int step = column_int(&r, 1, 1, REPLAY_MAX_STEP, 0);
        if (r.bad) continue;
        ids[n] = sqlite3_column_int64(st, 0);
        s->steps[n++] = step;
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
                row_reader r = {set, st, "replay_tensors", 0};
                int layer = column_int(&r, 0, 0, layer_count - 1, 0);
                const unsigned char *tensor = sqlite3_column_text(st, 1);
                if (r.bad || !tensor || strlen((const char *)tensor) >= 48) continue;
                int series = series_find(s, ix, layer, (const char *)tensor, pass == 0);
                double e = noise_only(bias_noise, layer, (const char *)tensor, column_value(st, 3, -1),
                                      column_value(st, 4, -1)) ? NAN : column_value(st, 2, -1);
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

static int float_order(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The growth of series k; 0 when it has fewer than two usable points. */
static int series_growth(const replay_shadow *s, int k, float *points, replay_growth *g)
{
    int n = 0;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < s->step_count; i++) {
        float v = s->error[(size_t)i * (size_t)s->series_count + (size_t)k];
        if (!(v > 0) || isinf(v)) continue;
        if (n == 0) g->first_step = s->steps[i];
        g->last_step = s->steps[i];
        g->last = v;
        points[n++] = v;
    }
    if (n < 2) return 0;
    int early = n / 4 > 0 ? n / 4 : 1;
    qsort(points, (size_t)early, sizeof *points, float_order);
    g->series = k;
    g->points = n;
    g->baseline = early % 2 ? points[early / 2] : 0.5 * ((double)points[early / 2 - 1] + points[early / 2]);
    g->decades = log10(g->last / g->baseline);
    return 1;
}

int replay_shadow_growth(const replay_shadow *s, replay_growth *out, int max)
{
    if (!s->error || s->step_count < 2 || max <= 0) return 0;
    float *points = malloc((size_t)s->step_count * sizeof *points);
    if (!points) return 0;
    int n = 0;
    for (int k = 0; k < s->series_count; k++) {
        replay_growth g;
        if (!series_growth(s, k, points, &g)) continue;
        int pos = n < max ? n : max; /* insertion into the top max */
        while (pos > 0 && out[pos - 1].decades < g.decades) pos--;
        if (pos >= max) continue;
        for (int i = (n < max ? n : max - 1); i > pos; i--) out[i] = out[i - 1];
        out[pos] = g;
        if (n < max) n++;
    }
    free(points);
    return n;
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
