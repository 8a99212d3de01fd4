/* test_diagnose.c: the causal verdict on failures with known causes.
 *
 * Each case trains a small ResNet3D-18 (width 4, 8x32x32x3 clips, batch 4,
 * one thread) into its own directory with ./nanprobe train, then traces the
 * cause from the database and asserts the mechanism class and the root
 * (layer and statistic, see diagnose_cases.h).  Rates and scales are chosen
 * with a margin, so no case rests on one rounding of one BLAS kernel:
 *   - lr 1e20 and 1e6 move every weight by ~lr in Adam's first step, 5 to
 *     19 decades past the weights' scale (NaN at step 2);
 *   - lr 300 and 500 grow the un-normalized residual stream for 10-30 steps
 *     before BatchNorm's variance passes FLT_MAX (a blow-up would need the NaN
 *     within 3 steps of a jump);
 *   - faults are 1e30 or Inf, the data faults are NaN, constant or 1e30.
 * The whole program takes ~20 s on 2 cores. */
#include "diagnose_cases.h"

#include "cause_rows.h"
#include "precursor.h"
#include "rules.h"
#include "test_db.h"
#include "verdict.h"

static const diag_case cases[] = {
    {"lr-1e20", {"--lr=1e20", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_LAYER,
     "conv3d", "kernel.update"},
    {"lr-1e6", {"--lr=1e6", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE,
     NULL, NULL},
    {"lr-700", {"--lr=700", "--epochs=4", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT,
     NULL, NULL},
    {"lr-500", {"--lr=500", "--epochs=4", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT,
     NULL, NULL},
    {"scale-conv3d_15", {"--epochs=1", "--inject=scale-weights@layer=conv3d_15,step=6,factor=1e30", NULL},
     DATA_SYNTHETIC, NULL, MECHANISM_INJECTED, ROOT_LAYER, "conv3d_15", "kernel"},
    {"scale-dense", {"--epochs=1", "--inject=scale-weights@layer=dense,step=3,factor=1e37", NULL}, DATA_SYNTHETIC,
     NULL, MECHANISM_INJECTED, ROOT_LAYER, "dense", "kernel"},
    {"inf-conv3d_5", {"--epochs=1", "--inject=inf-forward@layer=conv3d_5,step=4", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_INJECTED, ROOT_LAYER, "conv3d_5", "output"},
    {"nan-pixels", {"--epochs=1", NULL}, DATA_NAN_PIXELS, "scale", MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    {"constant-clip", {"--epochs=1", NULL}, DATA_CONSTANT_CLIP, "standardize", MECHANISM_DATA, ROOT_LAYER, "input_1",
     "output"},
    {"huge-input", {"--epochs=1", NULL}, DATA_HUGE, "none", MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    {"healthy", {"--epochs=1", "--max-steps=20", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_NONE, ROOT_NONE, NULL, NULL},
    {"healthy-glorot", {"--epochs=1", "--init=glorot_uniform", "--lr=0.01", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_NONE, ROOT_NONE, NULL, NULL},
};

static const diag_case *case_named(const char *label)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].label, label) == 0) return &cases[i];
    return &cases[0];
}

static void test_cases(const char *nanprobe, const char *base)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const diag_case *c = &cases[i];
        int seeds = c->root_rule == ROOT_KERNEL_UPDATE || c->root_rule == ROOT_OVERFLOW_INPUT ? 2 : 1;
        for (int seed = 1; seed <= seeds; seed++) {
            char why[1200];
            int ok = diag_check(nanprobe, base, c, seed, 1, why, sizeof why);
            CHECK(ok == 1, "%s seed %d: %s", c->label, seed, why);
        }
    }
}


/* ------------------------------------------------ store, text, edited DBs */

/* Loads, traces and composes the verdict of one database. */
static int trace_db(const char *path, rundata *d, cause_trace *t, strbuf *verdict)
{
    error err;
    if (rundata_load(d, path, 0, 0, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    if (cause_trace_load_and_build(d, t, &err)) {
        fprintf(stderr, "%s\n", err.message);
        rundata_free(d);
        return -1;
    }
    precursor_ranking ranking = {0};
    rule_finding findings[RULE_COUNT];
    rules_evaluate(d, t->nan_step ? t->nan_step : d->steps[d->step_count - 1].step + 1, findings);
    verdict_compose_traced(d, t, &ranking, findings, verdict);
    return 0;
}

/* The walk's window (cause_load) holds only the steps and names it can
 * ask for; the trace built from it is the one traced before, its links
 * draw from it, and a trace without its window fails naming the run. */
static void test_window(const rundata *d, const cause_trace *traced)
{
    error err;
    cause_window w;
    run_reader *r = run_reader_open(d->path, d->run.run_id, &err);
    int loaded = r && cause_load(r, d, &w, &err) == 0;
    run_reader_close(r);
    CHECK(loaded, "cause_load: %s", loaded ? "" : err.message);
    if (!loaded) return;
    CHECK(w.nan_step == traced->nan_step && w.first_step >= 1 && w.stats.count > 0 && w.metrics.count > 0,
          "window of steps %d..%d, %d stats and %d metric rows (NaN at %d)", w.first_step, w.nan_step,
          w.stats.count, w.metrics.count, traced->nan_step);
    int outside = 0, unused = 0;
    for (int i = 0; i < w.stats.count; i++) outside += w.stats.steps[i] < w.first_step || w.stats.steps[i] > w.nan_step;
    for (int i = 0; i < w.metrics.count; i++)
        outside += w.metrics.steps[i] < w.first_step - 1 || w.metrics.steps[i] > w.nan_step;
    for (int i = 0; i < w.stats.series_count; i++) unused += strcmp(w.stats.series[i].name, "beta") == 0;
    CHECK(outside == 0 && unused == 0, "%d rows outside the window, %d series of a tensor the walk never reads",
          outside, unused);
    cause_trace t;
    CHECK(cause_trace_build(d, &w, &t, &err) == 0 && t.klass == traced->klass && t.chain.count == traced->chain.count,
          "the trace from the window differs: %s, %d links (traced %s, %d)", mechanism_names[t.klass],
          t.chain.count, mechanism_names[traced->klass], traced->chain.count);
    int steps[256];
    double values[256];
    int points = cause_link_series(d, &t, &t.chain.links[0], steps, values, 256, &err);
    CHECK(points > 0 && steps[points - 1] <= t.nan_step, "the origin's curve has %d points", points);
    cause_window_free(&w);
    CHECK(cause_trace_build(d, NULL, &t, &err) == -1 && strstr(err.message, d->path) != NULL,
          "a trace without its window: '%s'", err.message);
}

/* The chain goes into cause_chain (replaced, not appended, on a second
 * store), and the verdict opens with Cause / Path / Fix. */
static void test_store_and_text(const char *nanprobe, const char *base)
{
    char dir[4300], db_path[4400];
    int status = diag_train(nanprobe, base, case_named("scale-conv3d_15"), 7, dir, sizeof dir);
    CHECK(status == 3, "store case: train exited %d", status);
    snprintf(db_path, sizeof db_path, "%s/run.db", dir);
    rundata d;
    cause_trace t;
    strbuf v = {0};
    if (trace_db(db_path, &d, &t, &v)) {
        CHECK(0, "cannot trace %s", db_path);
        return;
    }
    const char *text = strbuf_text(&v);
    CHECK(strncmp(text, "Cause: injected fault at conv3d_15", 34) == 0, "verdict opens with:\n%s", text);
    const char *path = strchr(text, '\n');
    CHECK(path && strncmp(path + 1, "Path: conv3d_15 kernel l2norm ", 30) == 0, "second line:\n%s", text);
    const char *fix = path ? strchr(path + 1, '\n') : NULL;
    CHECK(fix && strncmp(fix + 1, "Fix: ", 5) == 0, "third line:\n%s", text);
    CHECK(strstr(text, " of 32 values non-finite") != NULL, "no N of M count:\n%s", text);
    test_window(&d, &t);
    error err;
    db_cause_chain stored;
    cause_rows(&d, &t, &stored);
    int rc = db_cause_store(db_path, &stored, &err) || db_cause_store(db_path, &stored, &err);
    CHECK(rc == 0, "db_cause_store: %s", rc ? err.message : "");
    sqlite3 *db = test_db_open(dir, SQLITE_OPEN_READONLY);
    if (db) {
        double rows = test_sql_double(db, "SELECT COUNT(*) FROM cause_chain WHERE chain = 0");
        CHECK(rows == t.chain.count && rows >= 2, "cause_chain holds %g rows for a chain of %d", rows, t.chain.count);
        CHECK(test_sql_double(db, "SELECT COUNT(*) FROM cause_chain WHERE chain = 0 AND role = 'root' AND "
                                  "layer_name = 'conv3d_15' AND tensor = 'kernel' AND mechanism = 'injected' AND "
                                  "value_after > 1e30") == 1,
              "the root row does not name conv3d_15's kernel, injected, with its norm after the factor");
        CHECK(test_sql_double(db, "SELECT COUNT(*) FROM cause_chain WHERE position = 0 AND role = 'origin' AND "
                                  "tensor = 'batch_variance'") == 1,
              "the origin row is missing");
        char check[64];
        test_sql_row(db, "PRAGMA integrity_check", check, sizeof check);
        CHECK(strcmp(check, "ok") == 0, "the database is not intact after two stores");
    }
    sqlite3_close(db);
    strbuf_free(&v);
    rundata_free(&d);
}

/* The train command stores the chain through run.db's owner; `nanprobe
 * report` on the finished run leaves the database byte for byte as it was
 * (with its chain removed first, a report that wrote would add it back). */
static void test_train_stores_report_reads(const char *nanprobe, const char *base)
{
    char dir[4300], db_path[4400], out[4400], output[8192];
    snprintf(dir, sizeof dir, "%s/train-stores", base);
    snprintf(db_path, sizeof db_path, "%s/run.db", dir);
    snprintf(out, sizeof out, "%s/report-again", dir);
    int status = test_run_args(nanprobe, output, sizeof output, "train", "--depth=18", "--width=4",
                               "--clip=8x32x32x3", "--classes=4", "--batch=4", "--threads=1", "--quiet", "--seed=7",
                               "--train-clips=64", "--val-clips=8", "--epochs=1",
                               "--inject=scale-weights@layer=dense,step=3,factor=1e37", "--out", dir, NULL);
    CHECK(status == 3, "train with its report exited %d:\n%s", status, output);
    CHECK(test_db_double(dir, "SELECT COUNT(*) FROM cause_chain WHERE chain = 0 AND role = 'root' AND layer_name = "
                              "'dense' AND mechanism = 'injected'") == 1,
          "train did not store the chain's root (dense, injected)");
    CHECK(test_db_exec(dir, "DELETE FROM cause_chain") == 0, "cannot empty cause_chain");
    size_t before_size = 0, after_size = 0;
    char *before = test_read_file(db_path, &before_size);
    status = test_run_args(nanprobe, output, sizeof output, "report", db_path, "-o", out, NULL);
    char *after = test_read_file(db_path, &after_size);
    CHECK(status == 0 || strstr(output, "gnuplot"), "report exited %d:\n%s", status, output);
    CHECK(strstr(output, "Cause: injected fault at dense") != NULL, "the report's verdict:\n%s", output);
    CHECK(before && after && before_size == after_size && memcmp(before, after, before_size) == 0,
          "nanprobe report changed %s (%zu bytes before, %zu after)", db_path, before_size, after_size);
    free(before);
    free(after);
}

/* Every mechanism is a stored name that reads back as itself and has its
 * words for the user; a chain that cannot be written fails with the file's
 * name and leaves nothing behind. */
static void test_mechanism_names_and_store_failure(const char *base)
{
    for (int m = 0; m < MECHANISM_COUNT; m++) {
        CHECK(stored_enum_parse(STORED_MECHANISM, mechanism_names[m]) == m, "mechanism %d (%s) does not read back",
              m, mechanism_names[m]);
        CHECK(mechanism_defs[m].title && mechanism_defs[m].title[0], "mechanism %s has no title", mechanism_names[m]);
    }
    CHECK(stored_enum_parse(STORED_MECHANISM, "no_such_mechanism") == -1, "an unknown mechanism parsed");
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/no-such-dir/run.db", base);
    db_cause_chain chain = {.run_id = 1, .mechanism = MECHANISM_DATA, .count = 1};
    chain.links[0].role = CHAIN_ROOT;
    error err = {{0}};
    CHECK(db_cause_store(missing, &chain, &err) == -1 && strstr(err.message, missing) != NULL,
          "storing into a missing database: %s", err.message);
    struct stat st;
    CHECK(stat(missing, &st) != 0, "storing the chain created %s", missing);
}

/* A healthy database edited to hold a NaN event: a classifier branch the
 * network cannot reach naturally (BatchNorm's epsilon 1e-3 and its double
 * accumulation keep n = 1 and cancellation finite; the loss is computed in
 * double).  The edit names the layer, pass and tensor; the history stays
 * healthy, so nothing upstream moved. */
static void test_edited(const char *nanprobe, const char *base)
{
    char dir[4300], db_path[4400], sql[1024];
    int status = diag_train(nanprobe, base, case_named("healthy"), 3, dir, sizeof dir); /* 16 steps */
    CHECK(status == 0, "healthy base: train exited %d", status);
    snprintf(db_path, sizeof db_path, "%s/run.db", dir);
    struct {
        const char *label, *layer, *pass, *tensor, *edit;
        mechanism expected;
        int weak;
    } edits[] = {
        {"bn-count-1", "batch_normalization_14", "forward", "batch_variance",
         "UPDATE layer_metrics SET value = 1 WHERE metric = 'bn.count' AND layer_id = (SELECT layer_id FROM layers "
         "WHERE name = 'batch_normalization_14')",
         MECHANISM_BATCHNORM, 0},
        {"loss", "dense", "loss", "loss", "", MECHANISM_LOSS_SATURATION, 0},
        {"conv-after-healthy-history", "conv3d_9", "forward", "output", "", MECHANISM_GRADUAL_GROWTH, 1},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM events WHERE kind = 'nan'; INSERT INTO events (run_id, step, epoch, kind, layer_id, "
                 "layer_name, layer_path, pass, tensor, value_class, is_origin, message) SELECT run_id, (SELECT MAX(step) FROM "
                 "steps), 1, 'nan', "
                 "layer_id, name, path, '%s', '%s', 'nan', 1, 'edited' FROM layers WHERE name = '%s'; %s",
                 edits[i].pass, edits[i].tensor, edits[i].layer, edits[i].edit);
        CHECK(test_db_exec(dir, sql) == 0, "%s: cannot edit the database", edits[i].label);
        rundata d;
        cause_trace t;
        strbuf v = {0};
        if (trace_db(db_path, &d, &t, &v)) {
            CHECK(0, "%s: cannot trace", edits[i].label);
            continue;
        }
        const cause_link *root = &t.chain.links[t.chain.count - 1];
        CHECK(t.klass == edits[i].expected && strcmp(d.layers[root->layer].name, edits[i].layer) == 0 &&
                  t.weak == edits[i].weak,
              "%s: class %s, root %s, weak %d:\n%s", edits[i].label, mechanism_names[t.klass],
              d.layers[root->layer].name, t.weak, strbuf_text(&v));
        if (edits[i].weak)
            CHECK(strstr(strbuf_text(&v), "Uncertain: ") != NULL, "%s: weak evidence not said:\n%s", edits[i].label,
                  strbuf_text(&v));
        printf("  %s: %.*s\n", edits[i].label, (int)strcspn(strbuf_text(&v), "\n"), strbuf_text(&v));
        strbuf_free(&v);
        rundata_free(&d);
    }
    /* without a NaN event: no cause at all */
    CHECK(test_db_exec(dir, "DELETE FROM events WHERE kind = 'nan'") == 0, "cannot remove the edit");
    rundata d;
    cause_trace t;
    strbuf v = {0};
    if (trace_db(db_path, &d, &t, &v) == 0) {
        CHECK(t.klass == MECHANISM_NONE && strstr(strbuf_text(&v), "Cause:") == NULL,
              "a healthy run got a cause:\n%s", strbuf_text(&v));
        strbuf_free(&v);
        rundata_free(&d);
    }
}

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    char base[256];
    if (test_temp_dir(base, sizeof base, "diagnose")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    test_cases(nanprobe, base);
    test_mechanism_names_and_store_failure(base);
    test_store_and_text(nanprobe, base);
    test_train_stores_report_reads(nanprobe, base);
    test_edited(nanprobe, base);
    test_remove_tree(base);
    return test_finish();
}
