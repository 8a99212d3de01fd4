/* test_probes.c: the statistics, the database the probes fill, and the
 * sentinel: injected faults must be named exactly (step, layer, pass,
 * tensor, element), natural failures (a huge learning rate, a NaN inside a
 * clip file, inputs of 1e30) must be found at their origin, the ring must
 * flush the run-up to a NaN, and a trainer killed at random moments must
 * leave a valid database with contiguous steps. */
#include <math.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "db_memory.h"
#include "npy.h"
#include "rng.h"
#include "stats.h"
#include "test_db.h"
#include "test_util.h"

static const char *nanprobe;

/* ------------------------------------------------------------ statistics */

static void test_stats(void)
{
    rng r;
    rng_seed(&r, 3, 3);
    size_t n = 300001; /* not a multiple of the block, above the parallel threshold */
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(1e6 + rng_normal(&r)); /* mean^2/var = 1e12 */
    x[17] = 0.0f;
    x[1000] = NAN;
    x[200000] = INFINITY;
    x[250000] = -INFINITY;
    x[299999] = NAN;
    double sum = 0, sum_sq = 0, lo = INFINITY, hi = -INFINITY;
    long finite = 0, zeros = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        finite++;
        sum += x[i];
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
        zeros += x[i] == 0.0f;
    }
    double mean = sum / finite;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) sum_sq += ((double)x[i] - mean) * ((double)x[i] - mean);
    double std = sqrt(sum_sq / finite);
    tensor_stats s;
    stats_compute(x, n, &s);
    CHECK(s.count == (int64_t)n && s.nan_count == 2 && s.posinf_count == 1 && s.neginf_count == 1,
          "counts: %lld %lld %lld %lld", (long long)s.count, (long long)s.nan_count, (long long)s.posinf_count,
          (long long)s.neginf_count);
    CHECK(s.first_nonfinite == 1000, "first non-finite at %lld, expected 1000", (long long)s.first_nonfinite);
    CHECK(fabs(stats_mean(&s) - mean) < 1e-9 * fabs(mean), "mean %.12g vs %.12g", stats_mean(&s), mean);
    /* std ~1 around a mean of 1e6: a naive float E[x^2]-E[x]^2 gives garbage. */
    CHECK(fabs(stats_std(&s) - std) < 1e-3 * std, "std %.9g vs %.9g (mean^2/var = 1e12)", stats_std(&s), std);
    CHECK(s.min == (float)lo && s.max == (float)hi, "min/max");
    CHECK(s.zero_count == zeros, "zeros %lld vs %ld", (long long)s.zero_count, zeros);
    double l2 = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) l2 += (double)x[i] * x[i];
    CHECK(fabs(stats_l2norm(&s) - sqrt(l2)) < 1e-9 * sqrt(l2), "l2norm");

    /* Chunked accumulation and merging give the same result as one pass. */
    tensor_stats a, b;
    stats_clear(&a);
    stats_clear(&b);
    stats_accumulate(&a, x, 123457, 0);
    stats_accumulate(&b, x + 123457, n - 123457, 123457);
    stats_merge(&a, &b);
    CHECK(a.count == s.count && a.nan_count == s.nan_count && a.first_nonfinite == s.first_nonfinite &&
              fabs(stats_mean(&a) - stats_mean(&s)) < 1e-9 * 1e6 && fabs(stats_std(&a) - stats_std(&s)) < 1e-6,
          "merged statistics differ");

    /* A finite value whose square overflows float is still exact. */
    float big[4] = {3e19f, -3e19f, 1.0f, 2.0f};
    stats_compute(big, 4, &s);
    CHECK(stats_nonfinite(&s) == 0 && fabs(stats_l2norm(&s) - sqrt(2 * 9e38 + 5)) < 1e28,
          "squares above FLT_MAX: l2norm %g", stats_l2norm(&s));
    free(x);
}

/* SQLite's allocator: blocks never overlap (each keeps its own pattern),
 * sizes are at least what was asked, resizing keeps the contents, and a
 * repeated workload stops taking memory from the system. */
static void test_db_memory(void)
{
    enum { SLOTS = 512 };
    unsigned char *blocks[SLOTS] = {0};
    int sizes[SLOTS] = {0};
    rng r;
    rng_seed(&r, 11, 11);
    int corrupt = 0, short_blocks = 0;
    size_t after_warmup = 0;
    for (int round = 0; round < 40; round++) {
        if (round == 20) after_warmup = db_memory_system_bytes();
        for (int k = 0; k < 4000; k++) {
            int i = (int)rng_below(&r, SLOTS);
            if (blocks[i]) {
                for (int j = 0; j < sizes[i]; j++) corrupt += blocks[i][j] != (unsigned char)(i + j);
                if (rng_below(&r, 2)) {
                    db_memory_release(blocks[i]);
                    blocks[i] = NULL;
                    continue;
                }
                int grown = 1 + (int)rng_below(&r, 9000);
                int keep = grown < sizes[i] ? grown : sizes[i];
                blocks[i] = db_memory_resize(blocks[i], grown);
                for (int j = 0; j < keep; j++) corrupt += blocks[i][j] != (unsigned char)(i + j);
                sizes[i] = grown;
            } else {
                /* Mostly SQLite-like sizes, sometimes above the largest class. */
                sizes[i] = rng_below(&r, 50) ? 1 + (int)rng_below(&r, 9000) : 100000 + (int)rng_below(&r, 50000);
                blocks[i] = db_memory_allocate(sizes[i]);
            }
            short_blocks += db_memory_size(blocks[i]) < sizes[i];
            for (int j = 0; j < sizes[i]; j++) blocks[i][j] = (unsigned char)(i + j);
        }
    }
    size_t at_end = db_memory_system_bytes();
    for (int i = 0; i < SLOTS; i++) db_memory_release(blocks[i]);
    CHECK(corrupt == 0, "allocator: %d bytes changed under their owner", corrupt);
    CHECK(short_blocks == 0, "allocator: %d blocks smaller than asked", short_blocks);
    /* Large blocks go to malloc every time; pooled memory must stop growing. */
    printf("  SQLite allocator: %.1f MiB from the system after warm-up, %.1f MiB after 20 more rounds\n",
           after_warmup / 1048576.0, at_end / 1048576.0);
    CHECK(at_end < after_warmup * 1.5, "allocator keeps taking memory: %zu -> %zu bytes", after_warmup, at_end);
}

/* --------------------------------------------------------------- helpers */

typedef struct db_view {
    sqlite3 *db;
} db_view;

/* Opened as the reports open it (db_open_reader): a database a kill left
 * behind must be readable by them, not only by a writer. */
static int db_view_open(db_view *v, const char *dir)
{
    char path[4300];
    error err;
    snprintf(path, sizeof path, "%s/run.db", dir);
    if (db_open_reader(&v->db, path, 0, &err) == 0) return 0;
    fprintf(stderr, "%s\n", err.message);
    return -1;
}

/* The first 'nan' event of a run. */
typedef struct nan_event {
    long step;
    char layer[64], pass[32], tensor[32], value_class[8];
    int sample, d, h, w, channel, is_origin;
    long sample_id;
    int found;
} nan_event;

/* A column of test_sql_row's text as an int, -1 for NULL. */
static int field_int(const char *text)
{
    return strcmp(text, "NULL") == 0 ? -1 : atoi(text);
}

static nan_event first_nan(db_view *v)
{
    nan_event e;
    memset(&e, 0, sizeof e);
    char row[512], *field[12];
    test_sql_row(v->db,
                 "SELECT step, layer_name, pass, tensor, value_class, sample, d, h, w, channel, sample_id, is_origin "
                 "FROM first_nan",
                 row, sizeof row);
    int n = 0;
    for (char *p = row; row[0] && p && n < 12; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL) field[n++] = p;
    if (n < 12) return e;
    for (char *p = row; (p = strchr(p, '|')); p++) *p = '\0';
    e.found = 1;
    e.step = atol(field[0]);
    snprintf(e.layer, sizeof e.layer, "%s", field[1]);
    snprintf(e.pass, sizeof e.pass, "%s", field[2]);
    snprintf(e.tensor, sizeof e.tensor, "%s", field[3]);
    snprintf(e.value_class, sizeof e.value_class, "%s", field[4]);
    e.sample = field_int(field[5]);
    e.d = field_int(field[6]);
    e.h = field_int(field[7]);
    e.w = field_int(field[8]);
    e.channel = field_int(field[9]);
    e.sample_id = field_int(field[10]);
    e.is_origin = field_int(field[11]);
    return e;
}

static int train(char *output, size_t size, const char *dir, const char *const *extra)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)nanprobe;
    argv[n++] = "train";
    const char *common[] = {"--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3", "--batch=4",
                            "--train-clips=64", "--val-clips=8", "--epochs=2", "--no-report", "--quiet", NULL};
    for (int i = 0; common[i]; i++) argv[n++] = (char *)common[i];
    for (int i = 0; extra && extra[i]; i++) argv[n++] = (char *)extra[i];
    argv[n++] = "--out";
    argv[n++] = (char *)dir;
    argv[n] = NULL;
    return test_run(argv, output, size);
}

/* The dataset id at a batch position of a step, from steps.sample_ids. */
static long sample_id_at(db_view *v, long step, int position)
{
    char sql[160], ids[1024];
    snprintf(sql, sizeof sql, "SELECT sample_ids FROM steps WHERE step = %ld", step);
    test_sql_row(v->db, sql, ids, sizeof ids);
    char *p = ids;
    for (int i = 0; i < position && p; i++) {
        p = strchr(p, ',');
        if (p) p++;
    }
    return p ? strtol(p, NULL, 10) : -1;
}

/* ------------------------------------------------------------ injections */

static void test_injections(const char *base)
{
    char dir[4200], output[8192];
    struct {
        const char *spec, *layer, *pass, *tensor, *value_class;
        long step;
        int sample, d, h, w, channel;
    } cases[] = {
        /* Clip 4x16x16x2: the input's centre is d=2 h=8 w=8. */
        {"--inject=nan-input@step=3,sample=2", "input_1", "input", "output", "nan", 3, 2, 2, 8, 8, 0},
        /* conv3d_5 is stage2.block1.conv1: output (1, 2, 2, 8) -> centre d=0 h=1 w=1. */
        {"--inject=inf-forward@layer=conv3d_5,step=4", "conv3d_5", "forward", "output", "+inf", 4, 0, 0, 1, 1, 0},
        /* Stage 1 of this network is (1, 4, 4, 4) per clip. */
        {"--inject=inf-forward@layer=activation_3,step=2,sample=1,d=0,h=3,w=0,channel=2", "activation_3", "forward",
         "output", "+inf", 2, 1, 0, 3, 0, 2},
        {"--inject=inf-backward@layer=batch_normalization_3,step=5", "batch_normalization_3", "backward",
         "output_grad", "+inf", 5, 0, 0, 2, 2, 0},
        /* The dense layer's output is (N, classes): the element is (sample, class). */
        {"--inject=inf-forward@layer=dense,step=1,sample=3,channel=1", "dense", "forward", "output", "+inf", 1, 3,
         -1, -1, -1, 1},
        /* A factor that overflows float32 makes the kernel itself +-Inf. */
        {"--inject=scale-weights@layer=conv3d_3,step=6,factor=1e300", "conv3d_3", "update", "kernel", "", 6, -1, -1,
         -1, -1, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(dir, sizeof dir, "%s/inject-%zu", base, k);
        const char *extra[] = {cases[k].spec, NULL};
        int status = train(output, sizeof output, dir, extra);
        CHECK(status == 3, "%s: exit %d, expected 3 (stopped at NaN):\n%s", cases[k].spec, status, output);
        db_view v;
        if (db_view_open(&v, dir)) continue;
        nan_event e = first_nan(&v);
        CHECK(e.found, "%s: no nan event", cases[k].spec);
        CHECK(e.step == cases[k].step && strcmp(e.layer, cases[k].layer) == 0 && strcmp(e.pass, cases[k].pass) == 0 &&
                  strcmp(e.tensor, cases[k].tensor) == 0,
              "%s: event names step %ld layer %s pass %s tensor %s", cases[k].spec, e.step, e.layer, e.pass, e.tensor);
        if (cases[k].value_class[0])
            CHECK(strcmp(e.value_class, cases[k].value_class) == 0, "%s: value class %s", cases[k].spec,
                  e.value_class);
        if (cases[k].sample >= 0 || cases[k].channel >= 0)
            CHECK(e.sample == cases[k].sample && e.d == cases[k].d && e.h == cases[k].h && e.w == cases[k].w &&
                      e.channel == cases[k].channel,
                  "%s: element (sample %d, d %d, h %d, w %d, channel %d)", cases[k].spec, e.sample, e.d, e.h, e.w,
                  e.channel);
        if (cases[k].sample >= 0)
            CHECK(e.sample_id == sample_id_at(&v, e.step, e.sample), "%s: sample id %ld does not match the batch",
                  cases[k].spec, e.sample_id);
        CHECK(e.is_origin == 1, "%s: an injected value has finite inputs, so it is the origin", cases[k].spec);
        CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM events WHERE kind = 'injection'") == 1, "%s: injection event",
              cases[k].spec);
        CHECK(test_sql_double(v.db, "SELECT MAX(step) FROM steps") == cases[k].step,
              "%s: training went on after the NaN", cases[k].spec);
        char status_text[32];
        test_sql_row(v.db, "SELECT status FROM runs", status_text, sizeof status_text);
        CHECK(strcmp(status_text, "nan") == 0, "%s: runs.status '%s'", cases[k].spec, status_text);
        sqlite3_close(v.db);
    }

    /* Downstream of a merely huge weight: the NaN appears at that step,
     * after the injection, and is an origin (finite inputs overflowed). */
    snprintf(dir, sizeof dir, "%s/inject-scale", base);
    const char *extra[] = {"--inject=scale-weights@layer=conv3d_3,step=4,factor=1e30", NULL};
    int status = train(output, sizeof output, dir, extra);
    db_view v;
    if (status == 3 && db_view_open(&v, dir) == 0) {
        nan_event e = first_nan(&v);
        CHECK(e.step == 4 && e.is_origin == 1, "scale 1e30: first NaN at step %ld (origin %d)", e.step, e.is_origin);
        printf("  scale-weights 1e30 on conv3d_3 at step 4: first non-finite value in %s of %s (%s pass)\n",
               e.tensor, e.layer, e.pass);
        sqlite3_close(v.db);
    } else {
        CHECK(0, "scale 1e30: exit %d", status);
    }
}

/* ------------------------------------------------------ natural failures */

static void write_npy_dir(const char *dir, float value, int nan_clip)
{
    mkdir(dir, 0777);
    enum { N = 8, COUNT = N * 4 * 16 * 16 * 2 };
    static float clips[COUNT];
    rng r;
    rng_seed(&r, 9, 9);
    for (int i = 0; i < COUNT; i++) clips[i] = value * (float)(0.5 + rng_uniform(&r));
    if (nan_clip >= 0) clips[(size_t)nan_clip * (COUNT / N) + 100] = NAN;
    int64_t labels[N];
    for (int i = 0; i < N; i++) labels[i] = i % 3;
    const int64_t shape[5] = {N, 4, 16, 16, 2}, label_shape[1] = {N};
    char path[4300];
    error err;
    snprintf(path, sizeof path, "%s/train_clips.npy", dir);
    npy_write(path, "<f4", 5, shape, clips, 1, &err);
    snprintf(path, sizeof path, "%s/train_labels.npy", dir);
    npy_write(path, "<i8", 1, label_shape, labels, 1, &err);
}

static void test_natural_failures(const char *base)
{
    char dir[4200], data[4200], output[8192];
    db_view v;

    /* 1. A learning rate large enough to overflow: Adam's first step moves
     * every weight by ~lr (1e30), so step 2's forward pass overflows. */
    snprintf(dir, sizeof dir, "%s/huge-lr", base);
    const char *huge_lr[] = {"--lr=1e30", NULL};
    int status = train(output, sizeof output, dir, huge_lr);
    CHECK(status == 3, "--lr 1e30: exit %d", status);
    if (db_view_open(&v, dir) == 0) {
        nan_event e = first_nan(&v);
        CHECK(e.step == 2 && e.is_origin == 1 && (strcmp(e.pass, "forward") == 0 || strcmp(e.pass, "update") == 0),
              "--lr 1e30: first non-finite value at step %ld, %s %s of %s (origin %d)", e.step, e.pass, e.tensor,
              e.layer, e.is_origin);
        CHECK(test_sql_double(v.db, "SELECT loss_finite FROM steps WHERE step = 1") == 1,
              "step 1 must still be finite");
        printf("  --lr 1e30: step %ld, %s pass, %s of %s\n", e.step, e.pass, e.tensor, e.layer);
        sqlite3_close(v.db);
    }

    /* 2. A clip file with one NaN (clip 5 of 8): the input pass, that clip. */
    snprintf(data, sizeof data, "%s/npy-nan", base);
    write_npy_dir(data, 1.0f, 5);
    snprintf(dir, sizeof dir, "%s/nan-clip", base);
    const char *nan_clip[] = {"--data", data, "--normalize=none", "--val-clips=0", "--train-clips=0", NULL};
    status = train(output, sizeof output, dir, nan_clip);
    CHECK(status == 3, "NaN clip: exit %d:\n%s", status, output);
    if (db_view_open(&v, dir) == 0) {
        nan_event e = first_nan(&v);
        CHECK(strcmp(e.pass, "input") == 0 && e.sample_id == 5 && e.is_origin == 1,
              "NaN clip: event in %s pass, clip %ld (expected input pass, clip 5)", e.pass, e.sample_id);
        CHECK(test_sql_double(v.db, "SELECT nan_count FROM input_samples WHERE sample_id = 5 ORDER BY step "
                                    "LIMIT 1") == 1,
              "input_samples does not show the NaN of clip 5");
        sqlite3_close(v.db);
    }

    /* 3. Inputs of ~1e30: the stem conv stays finite (~1e31) but the first
     * BatchNorm's variance (~1e62) overflows float32: that is the origin. */
    snprintf(data, sizeof data, "%s/npy-huge", base);
    write_npy_dir(data, 1e30f, -1);
    snprintf(dir, sizeof dir, "%s/huge-input", base);
    const char *huge_input[] = {"--data", data, "--normalize=none", "--val-clips=0", "--train-clips=0", NULL};
    status = train(output, sizeof output, dir, huge_input);
    CHECK(status == 3, "inputs 1e30: exit %d:\n%s", status, output);
    if (db_view_open(&v, dir) == 0) {
        nan_event e = first_nan(&v);
        CHECK(e.step == 1 && strcmp(e.layer, "batch_normalization") == 0 && strcmp(e.tensor, "batch_variance") == 0 &&
                  e.is_origin == 1,
              "inputs 1e30: event at step %ld in %s of %s", e.step, e.tensor, e.layer);
        CHECK(test_sql_double(v.db, "SELECT absmax FROM stats WHERE step = 1 AND layer_id = 0 AND "
                                    "tensor = 'output'") > 1e29,
              "the input's statistics must show its scale");
        sqlite3_close(v.db);
    }
}

/* --------------------------------------------------- ring and aftermath */

static void test_probe_every_and_ring(const char *base)
{
    char dir[4200], output[8192];
    snprintf(dir, sizeof dir, "%s/ring", base);
    const char *extra[] = {"--probe-every=5", "--ring=4", "--inject=inf-forward@layer=conv3d_2,step=13", NULL};
    int status = train(output, sizeof output, dir, extra);
    CHECK(status == 3, "ring run: exit %d:\n%s", status, output);
    db_view v;
    if (db_view_open(&v, dir)) return;
    char probed[256];
    test_sql_row(v.db, "SELECT group_concat(step) FROM (SELECT step FROM steps WHERE probed = 1 ORDER BY step)", probed,
                 sizeof probed);
    CHECK(strcmp(probed, "5,9,10,11,12,13") == 0, "probed steps '%s', expected 5,9,10,11,12,13 (every 5th + ring of 4)",
          probed);
    double with_stats = test_sql_double(v.db, "SELECT COUNT(DISTINCT step) FROM stats");
    CHECK(with_stats == 6, "statistics present for %g steps, expected 6", with_stats);
    double layers = test_sql_double(v.db, "SELECT COUNT(*) FROM layers");
    double outputs = test_sql_double(v.db, "SELECT COUNT(*) FROM stats WHERE step = 11 AND tensor = 'output'");
    CHECK(outputs == layers, "ring-flushed step 11 has %g output rows for %g layers", outputs, layers);
    sqlite3_close(v.db);

    /* --on-nan continue=3 logs the aftermath. */
    snprintf(dir, sizeof dir, "%s/continue", base);
    const char *go_on[] = {"--on-nan=continue=3", "--inject=inf-backward@layer=activation_5,step=2", NULL};
    status = train(output, sizeof output, dir, go_on);
    CHECK(status == 3, "continue=3: exit %d", status);
    if (db_view_open(&v, dir) == 0) {
        CHECK(test_sql_double(v.db, "SELECT MAX(step) FROM steps") == 5, "continue=3 after step 2 must end at step 5");
        CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM events WHERE kind = 'nan'") == 1, "one nan event");
        CHECK(test_sql_double(v.db, "SELECT SUM(nan_count + posinf_count + neginf_count) FROM stats "
                                    "WHERE step = 4") > 0,
              "the aftermath's statistics must show the non-finite values");
        sqlite3_close(v.db);
    }

    /* Probes off: no statistics, but a NaN loss is still caught. */
    snprintf(dir, sizeof dir, "%s/probes-off", base);
    const char *off[] = {"--probes=off", "--inject=inf-forward@layer=conv3d_4,step=3", NULL};
    status = train(output, sizeof output, dir, off);
    CHECK(status == 3, "probes off: exit %d", status);
    if (db_view_open(&v, dir) == 0) {
        nan_event e = first_nan(&v);
        CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM stats") == 0, "probes off wrote statistics");
        CHECK(e.found && strcmp(e.pass, "loss") == 0 && e.step == 3, "probes off: event %s at step %ld", e.pass,
              e.step);
        sqlite3_close(v.db);
    }
}

/* A NaN soon after --resume: the lead-up of W steps reaches back before the
 * resume, into steps a previous process kept only in its ring.  The
 * checkpoint writes them, so the lead-up is complete.  Also: a checkpoint
 * event is recorded with the epoch of the step it follows. */
static void test_ring_after_resume(const char *base)
{
    char dir[4200], output[8192];
    snprintf(dir, sizeof dir, "%s/ring-resume", base);
    /* 16 steps per epoch; stop (with a checkpoint) at step 20. */
    const char *first[] = {"--probe-every=10", "--ring=6", "--max-steps=20", NULL};
    int status = train(output, sizeof output, dir, first);
    CHECK(status == 0, "ring/resume first part: exit %d:\n%s", status, output);
    char *const resume[] = {(char *)nanprobe, "train", "--resume", dir, "--inject=inf-forward@layer=conv3d_2,step=23",
                            "--quiet", NULL};
    status = test_run(resume, output, sizeof output);
    CHECK(status == 3, "ring/resume: exit %d, expected the NaN stop:\n%s", status, output);
    db_view v;
    if (db_view_open(&v, dir)) return;
    /* The lead-up of step 23 with a ring of 6: steps 17..22, all probed. */
    double missing = test_sql_double(v.db, "SELECT COUNT(*) FROM steps WHERE step BETWEEN 17 AND 23 AND probed = 0");
    double with_stats = test_sql_double(v.db, "SELECT COUNT(DISTINCT step) FROM stats WHERE step BETWEEN 17 AND 23");
    CHECK(missing == 0 && with_stats == 7, "lead-up after resume: %g of steps 17..23 unprobed, %g with statistics "
          "(expected 0 and 7)", missing, with_stats);
    double epoch = test_sql_double(v.db, "SELECT epoch FROM events WHERE kind = 'checkpoint' AND step = 16");
    CHECK(epoch == 1, "the checkpoint at the end of epoch 1 is recorded with epoch %g", epoch);
    sqlite3_close(v.db);
}

/* ------------------------------------------------------ database content */

static void test_database_content(const char *base)
{
    char dir[4200], output[8192];
    snprintf(dir, sizeof dir, "%s/content", base);
    int status = train(output, sizeof output, dir, NULL);
    CHECK(status == 0, "clean run: exit %d:\n%s", status, output);
    db_view v;
    if (db_view_open(&v, dir)) return;
    char check[64];
    test_sql_row(v.db, "PRAGMA integrity_check", check, sizeof check);
    CHECK(strcmp(check, "ok") == 0, "integrity_check: %s", check);
    double layers = test_sql_double(v.db, "SELECT COUNT(*) FROM layers");
    double steps = test_sql_double(v.db, "SELECT COUNT(*) FROM steps");
    CHECK(steps == 32, "%g steps, expected 32", steps);
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM stats WHERE tensor = 'output'") == layers * steps,
          "an output row per layer per step");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM stats WHERE tensor = 'output_grad'") == (layers - 1) * steps,
          "an output_grad row per layer (but the input) per step");
    double convs = test_sql_double(v.db, "SELECT COUNT(*) FROM layers WHERE kind = 'Conv3D'");
    const char *per_conv[] = {"kernel", "kernel.grad", "kernel.update", "kernel.adam_m", "kernel.adam_v", "bias"};
    for (int i = 0; i < 6; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT COUNT(*) FROM stats s JOIN layers l USING (run_id, layer_id) WHERE l.kind = 'Conv3D' AND "
                 "s.tensor = '%s'",
                 per_conv[i]);
        CHECK(test_sql_double(v.db, sql) == convs * steps, "%s rows for every conv every step", per_conv[i]);
    }
    double bns = test_sql_double(v.db, "SELECT COUNT(*) FROM layers WHERE kind = 'BatchNormalization'");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM stats WHERE tensor = 'batch_variance'") == bns * steps,
          "BN batch statistics");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM layer_metrics WHERE metric = 'bn.max_mean2_over_var'") ==
              bns * steps,
          "BN metrics");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM layer_metrics WHERE metric = 'kernel.l2_grad_norm'") ==
              (convs + 1) * steps,
          "L2 gradient norms for every kernel (convs + dense)");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM input_samples") == 4 * steps, "a row per clip per step");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM epochs WHERE val_loss IS NOT NULL") == 2,
          "two epochs with validation");
    /* The L2 part of the gradient: 2 lambda ||w|| against the kernel norm before the update. */
    double l2_norm = test_sql_double(v.db, "SELECT value FROM layer_metrics m JOIN layers l USING (run_id, layer_id) "
                                           "WHERE l.name = 'conv3d_2' AND m.metric = 'kernel.l2_grad_norm' AND "
                                           "m.step = 2");
    double w_norm = test_sql_double(v.db, "SELECT l2norm FROM stats s JOIN layers l USING (run_id, layer_id) "
                                          "WHERE l.name = 'conv3d_2' AND s.tensor = 'kernel' AND s.step = 1");
    CHECK(fabs(l2_norm - 2e-4 * w_norm) < 1e-6 * l2_norm, "l2_grad_norm %g vs 2*lambda*||w|| %g", l2_norm,
          2e-4 * w_norm);
    /* The objective is data loss + penalty, and the penalty is lambda*sum(w^2). */
    CHECK(test_sql_double(v.db, "SELECT MAX(ABS(loss - data_loss - l2_penalty)) FROM steps") < 1e-12,
          "loss = data_loss + l2_penalty");
    /* Views answer the common questions. */
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM gradient_norms WHERE step = 1") == layers - 1,
          "gradient_norms view");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM weight_norms WHERE step = 1") == convs + 1, "weight_norms view");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM update_ratios WHERE step = 1") == convs + 1,
          "update_ratios view");
    CHECK(test_sql_double(v.db, "SELECT COUNT(*) FROM first_nan") == 0, "no NaN in a clean run");
    char path[4300];
    snprintf(path, sizeof path, "%s/run.db", dir);
    struct stat st;
    stat(path, &st);
    printf("  database: %.0f layers, %.1f KiB per fully probed step (ResNet3D-18 width 4)\n", layers,
           (double)st.st_size / steps / 1024.0);
    sqlite3_close(v.db);
}

/* ------------------------------------------------------------ kill test */

/* After a kill the directory must still be usable: a run.db that exists
 * resumes (its checkpoint belongs to it), and a directory without one takes
 * a new run.  Returns 1 when that works. */
static int kill_leaves_usable(const char *dir, int has_database, double steps)
{
    char output[8192], max_steps[64];
    snprintf(max_steps, sizeof max_steps, "--max-steps=%.0f", steps + 1);
    if (has_database) {
        char *const resume[] = {(char *)nanprobe, "train", "--resume", (char *)dir, max_steps, "--quiet", NULL};
        int s = test_run(resume, output, sizeof output);
        CHECK(s == 0, "after a kill at step %g: --resume exits %d:\n%s", steps, s, output);
        return s == 0;
    }
    char *const again[] = {(char *)nanprobe, "train", "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3",
                           "--batch=4", "--train-clips=64", "--val-clips=8", "--epochs=50", "--no-report",
                           "--quiet", "--max-steps=1", "--out", (char *)dir, NULL};
    int s = test_run(again, output, sizeof output);
    CHECK(s == 0, "after a kill before run.db existed: a new run in the directory exits %d:\n%s", s, output);
    return s == 0;
}

static void test_kill_anywhere(const char *base, int rounds)
{
    rng r;
    rng_seed(&r, (uint64_t)time(NULL), 5);
    int valid = 0, early = 0;
    for (int k = 0; k < rounds; k++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/kill-%d", base, k);
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execl(nanprobe, nanprobe, "train", "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3",
                  "--batch=4", "--train-clips=64", "--val-clips=8", "--epochs=50", "--no-report",
                  "--checkpoint-every=7", "--out", dir, (char *)NULL);
            _exit(127);
        }
        /* A quarter of the kills land in the first 100 ms (while the
         * directory, the checkpoint and the database are being made), the
         * rest anywhere up to well into training. */
        long delay_ms = k % 4 == 0 ? (long)rng_below(&r, 100) : 20 + (long)rng_below(&r, 1500);
        early += delay_ms < 100;
        struct timespec t = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
        nanosleep(&t, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        char path[4300];
        snprintf(path, sizeof path, "%s/run.db", dir);
        struct stat st;
        if (stat(path, &st) != 0) {
            valid += kill_leaves_usable(dir, 0, 0);
            continue;
        }
        db_view v;
        if (db_view_open(&v, dir)) {
            CHECK(0, "kill %d: cannot open the database", k);
            continue;
        }
        char check[64];
        test_sql_row(v.db, "PRAGMA integrity_check", check, sizeof check);
        /* Killed after SQLite created the file but before the schema was
         * written (a wide window on a loaded machine): an empty, intact
         * database, nothing to corrupt. */
        if (strcmp(check, "ok") == 0 && test_sql_double(v.db, "SELECT COUNT(*) FROM sqlite_master") == 0) {
            valid++;
            sqlite3_close(v.db);
            continue;
        }
        double steps = test_sql_double(v.db, "SELECT COUNT(*) FROM steps"),
               last = test_sql_double(v.db, "SELECT MAX(step) FROM steps");
        if (steps == 0) last = 0;
        /* Each step's statistics arrive in the same transaction as the step. */
        double orphan =
            test_sql_double(v.db, "SELECT COUNT(*) FROM stats WHERE step > (SELECT IFNULL(MAX(step), 0) FROM steps)");
        double layers = test_sql_double(v.db, "SELECT COUNT(*) FROM layers");
        double runs = test_sql_double(v.db, "SELECT COUNT(*) FROM runs");
        double incomplete =
            test_sql_double(v.db, "SELECT COUNT(*) FROM (SELECT step, COUNT(*) c FROM stats WHERE tensor = 'output' "
                                  "GROUP BY step) WHERE c != (SELECT COUNT(*) FROM layers)");
        sqlite3_close(v.db);
        /* A run.db that exists holds its run and layers (it is published
         * only once they are committed). */
        int ok = strcmp(check, "ok") == 0 && steps == last && orphan == 0 && runs == 1 && layers > 0 &&
                 incomplete == 0;
        CHECK(ok, "kill %d after %ld ms: integrity '%s', %g runs, %g layers, %g steps up to %g, %g orphan rows, "
                  "%g incomplete steps", k, delay_ms, check, runs, layers, steps, last, orphan, incomplete);
        valid += ok && kill_leaves_usable(dir, 1, steps);
    }
    printf("  SIGKILL at random moments (%d in the first 100 ms): %d of %d directories valid and usable again\n",
           early, valid, rounds);
}

/* A full disk, simulated by a file-size limit (writes past it fail with
 * EFBIG, as they would with ENOSPC): the run stops with a message naming
 * the problem, exit 1, and the database keeps every step it committed.
 * At 3 MiB the log fills first and folds back at close; at 8 MiB (check-full
 * only: 25 s) run.db itself is full and the committed steps stay in -wal. */
static void limit_file_size(void *mib)
{
    signal(SIGXFSZ, SIG_IGN); /* stays ignored across exec: writes fail instead of killing */
    struct rlimit limit = {(rlim_t)*(int *)mib << 20, (rlim_t)*(int *)mib << 20};
    setrlimit(RLIMIT_FSIZE, &limit);
}

static void test_disk_full(const char *base, int mib)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/disk-full-%d", base, mib);
    char *const argv[] = {(char *)nanprobe, "train", "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3",
                          "--batch=4", "--train-clips=64", "--val-clips=8", "--epochs=50", "--no-report", "--out",
                          dir, NULL};
    char output[4096] = "";
    test_process p;
    int code = test_spawn(&p, argv, limit_file_size, &mib) ? -1 : test_collect(&p, output, sizeof output, 0);
    CHECK(code == 1, "file size limit: exit %d, expected 1:\n%s", code, output);
    CHECK(strstr(output, "run database") || strstr(output, "checkpoint"), "the message does not say what failed:\n%s",
          output);
    /* Committed steps left in run.db-wal (no room to fold them back): the
     * message must say where they are and how to recover them. */
    char wal[4300];
    struct stat wal_st;
    snprintf(wal, sizeof wal, "%s/run.db-wal", dir);
    if (stat(wal, &wal_st) == 0 && wal_st.st_size > 0)
        CHECK(strstr(output, "run.db-wal") && strstr(output, "wal_checkpoint"),
              "run.db-wal holds %lld bytes after the failure and the message does not say so:\n%s",
              (long long)wal_st.st_size, output);
    else
        printf("  write failure at %d MiB: no committed step was left in run.db-wal\n", mib);
    db_view v;
    if (db_view_open(&v, dir) == 0) {
        char check[64];
        test_sql_row(v.db, "PRAGMA integrity_check", check, sizeof check);
        double steps = test_sql_double(v.db, "SELECT COUNT(*) FROM steps"),
               last = test_sql_double(v.db, "SELECT MAX(step) FROM steps");
        CHECK(strcmp(check, "ok") == 0 && steps == last && steps > 0,
              "after the write failure: integrity '%s', %g steps up to %g", check, steps, last);
        printf("  write failure at %d MiB: database valid with steps 1..%g; message: %.*s", mib, steps,
               (int)strcspn(output, "\n") + 1, strstr(output, "nanprobe train:") ? strstr(output, "nanprobe train:") : output);
        sqlite3_close(v.db);
    } else {
        CHECK(0, "the database cannot be opened after the write failure");
    }
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    char base[256];
    if (test_temp_dir(base, sizeof base, "probes")) return 1;
    test_stats();
    test_db_memory();
    test_database_content(base);
    test_injections(base);
    test_natural_failures(base);
    test_probe_every_and_ring(base);
    test_ring_after_resume(base);
    test_kill_anywhere(base, test_full() ? 100 : 12);
    test_disk_full(base, 3);
    if (test_full()) test_disk_full(base, 8);
    test_remove_tree(base);
    return test_finish();
}
