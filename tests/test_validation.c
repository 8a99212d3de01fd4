/* test_validation.c: a NaN first seen in validation (issue 22), with known
 * answers.  Each case trains a ResNet3D-18 (width 4, 8x32x32x3 clips, batch
 * 4, one thread, 16 training and 8 validation clips of .npy data: 4 steps an
 * epoch, 2 validation batches) with ./nanprobe train and asserts the
 * recorded row, the mechanism class, the root and the verdict's words:
 *   - a NaN in validation clip 5 (batch 1, position 1);
 *   - an inference-only overflow: a checkpoint whose moving variances are 0
 *     and whose first BatchNorm's moving mean is -1e30, resumed for one
 *     step (momentum 0.99 keeps the mean ~1e30 off and the variances at 1 %
 *     of the batch's) then validated: training on batch statistics stays
 *     finite, validation overflows; and the same made by training alone:
 *     one Adam step of lr 3000 (synthetic clips) moves every kernel by
 *     about its norm while the moving statistics follow 1 % of it;
 *   - a moving variance of -1 in one channel: sqrt of a negative number, in
 *     a nanprobe checkpoint and in a Keras file (--from-keras);
 *   - a healthy run: validation statistics recorded, no alarm;
 *   - a resumed run whose validation NaN comes after the resume;
 *   - --on-nan continue=N past a validation NaN: every later NaN recorded,
 *     ReduceLROnPlateau counting NaN val_loss as no improvement.
 * Margins: the planted values are NaN, -1 or 1e30 against a float32 range
 * of 3.4e38 reached through 10 x or more per BatchNorm, so no assertion
 * rests on the rounding of one BLAS kernel.  ~15 s on 2 cores. */
#include <hdf5.h>
#include <math.h>
#include <sys/stat.h>

#include "cause.h"
#include "cause_text.h"
#include "checkpoint.h"
#include "inference_trace.h"
#include "model.h"
#include "npy.h"
#include "rng.h"
#include "rules.h"
#include "read_run.h"
#include "test_db.h"
#include "test_trace.h"
#include "test_util.h"
#include "verdict.h"

static const char *nanprobe;
static char base[256];

#define TRAIN_CLIPS 16
#define VAL_CLIPS 8
#define CLIP_VALUES (8 * 32 * 32 * 3)
#define BAD_VAL_CLIP 5

/* Training and validation clips (uniform 0..255, labels i % 4); a NaN in
 * validation clip BAD_VAL_CLIP when asked. */
static int write_data(const char *dir, int val_nan)
{
    error err;
    mkdir(dir, 0777);
    float *clips = malloc((size_t)TRAIN_CLIPS * CLIP_VALUES * sizeof *clips);
    if (!clips) return -1;
    rng r;
    rng_seed(&r, 22, 22);
    int64_t labels[TRAIN_CLIPS];
    for (int i = 0; i < TRAIN_CLIPS; i++) labels[i] = i % 4;
    int rc = 0;
    const char *names[2][2] = {{"train_clips.npy", "train_labels.npy"}, {"val_clips.npy", "val_labels.npy"}};
    for (int split = 0; split < 2 && rc == 0; split++) {
        int n = split ? VAL_CLIPS : TRAIN_CLIPS;
        for (size_t i = 0; i < (size_t)n * CLIP_VALUES; i++) clips[i] = (float)floor(255.0 * rng_uniform(&r));
        if (split && val_nan) clips[(size_t)BAD_VAL_CLIP * CLIP_VALUES + 777] = NAN;
        const int64_t shape[5] = {n, 8, 32, 32, 3}, label_shape[1] = {n};
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[split][0]);
        rc = npy_write(path, "<f4", 5, shape, clips, 1, &err);
        snprintf(path, sizeof path, "%s/%s", dir, names[split][1]);
        if (!rc) rc = npy_write(path, "<i8", 1, label_shape, labels, 1, &err);
    }
    free(clips);
    return rc;
}

/* ./nanprobe train with the common options, then the extra ones
 * (NULL-ended); with resume, `train --resume out` and the extra ones. */
static int train(const char *data, const char *out, int resume, char *output, size_t size, const char *const *extra)
{
    char *argv[40];
    int n = 0;
    const char *common[] = {"--depth=18", "--width=4", "--clip=8x32x32x3", "--classes=4", "--batch=4",
                            "--threads=1", "--seed=3", "--no-report", NULL};
    argv[n++] = (char *)nanprobe;
    argv[n++] = "train";
    for (int i = 0; !resume && common[i]; i++) argv[n++] = (char *)common[i];
    for (int i = 0; extra && extra[i]; i++) argv[n++] = (char *)extra[i];
    if (data && !resume) argv[n++] = "--data", argv[n++] = (char *)data;
    argv[n++] = resume ? "--resume" : "--out";
    argv[n++] = (char *)out;
    argv[n] = NULL;
    return test_run(argv, output, size);
}

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", base, name);
}

/* ------------------------------------------------------------ database */

/* The trace and the verdict of a run (what `nanprobe report` writes). */
typedef struct traced {
    rundata d;
    cause_trace t;
    strbuf verdict;
    int ok;
} traced;

static void trace_run(const char *db_path, traced *r)
{
    error err;
    memset(r, 0, sizeof *r);
    if (rundata_load(&r->d, db_path, 0, 1, &err)) {
        CHECK(0, "%s", err.message);
        return;
    }
    if (cause_trace_load_and_build(&r->d, &r->t, &err)) {
        CHECK(0, "%s", err.message);
        rundata_free(&r->d);
        return;
    }
    rule_finding findings[RULE_COUNT];
    precursor_ranking ranking = {0};
    int end = r->t.nan_step ? r->t.nan_step : r->d.steps[r->d.step_count - 1].step + 1;
    rules_evaluate(&r->d, end, findings);
    verdict_compose_traced(&r->d, &r->t, &ranking, findings, &r->verdict);
    r->ok = 1;
    if (getenv("TEST_VALIDATION_VERBOSE")) printf("---- %s\n%s", db_path, strbuf_text(&r->verdict));
}

static void traced_free(traced *r)
{
    if (!r->ok) return;
    rundata_free(&r->d);
    strbuf_free(&r->verdict);
}

static const cause_link *root_of(const traced *r)
{
    return &r->t.chain.links[r->t.chain.count - 1];
}

static const char *layer_name(const traced *r, int index)
{
    return index >= 0 && index < r->d.layer_count ? r->d.layers[index].name : "?";
}

/* ------------------------------------------------------------ checkpoint */

/* Sets moving statistics in a run's checkpoint, as a corrupted or foreign
 * checkpoint would carry them: every BatchNorm's moving variance to
 * all_variance (unless NaN), and one layer's channel 0 moving mean and
 * variance (NaN: unchanged). */
static int edit_checkpoint(const char *dir, double all_variance, const char *bn_name, double mean, double variance)
{
    error err;
    int argc;
    char **argv;
    if (checkpoint_read_arguments(dir, &argc, &argv, &err)) return -1;
    model m;
    model_config mc = {.depth = 18, .width = 4, .clip = {8, 32, 32, 3}, .classes = 4, .batch = 4, .threads = 1};
    checkpoint_state state;
    int rc = model_build(&m, &mc, &err);
    if (rc == 0) rc = checkpoint_load(dir, &state, &m, &err);
    for (int i = 0; rc == 0 && i < m.param_count; i++) {
        parameter *p = &m.params[i];
        int mine = strcmp(m.layers[p->layer].name, bn_name) == 0;
        if (p->role == PARAM_MOVING_VARIANCE && !isnan(all_variance))
            for (size_t k = 0; k < p->value.count; k++) p->value.data[k] = (real)all_variance;
        if (mine && p->role == PARAM_MOVING_MEAN && !isnan(mean)) p->value.data[0] = (real)mean;
        if (mine && p->role == PARAM_MOVING_VARIANCE && !isnan(variance)) p->value.data[0] = (real)variance;
    }
    if (rc == 0) rc = checkpoint_save(dir, &state, &m, argc, argv, &err);
    if (rc) fprintf(stderr, "edit_checkpoint: %s\n", err.message);
    model_free(&m);
    free(argv);
    return rc;
}

/* ------------------------------------------------------------ cases */

static void test_validation_clip_nan(void)
{
    char data[400], out[400], db[500], row[2048];
    static char output[65536];
    path_in(data, sizeof data, "nan-data");
    path_in(out, sizeof out, "clip-nan");
    snprintf(db, sizeof db, "%s/run.db", out);
    CHECK(write_data(data, 1) == 0, "writing the data");
    const char *extra[] = {"--epochs=2", "--report", NULL};
    int status = train(data, out, 0, output, sizeof output, extra);
    CHECK(status == 3, "a validation NaN exits 3, got %d: %s", status, output);
    /* Step 4 ends epoch 1; clip 5 is position 1 of validation batch 1 (clips 4..7). */
    test_db_row(out, "SELECT step, epoch, pass, layer_name, val_batch, sample, sample_id, is_origin FROM first_nan", row,
               sizeof row);
    CHECK(strcmp(row, "4|1|validation|input_1|1|1|5|1") == 0, "first_nan row: %s", row);
    test_db_row(out, "SELECT status, (SELECT COUNT(*) FROM steps), (SELECT COUNT(*) FROM events WHERE kind = 'nan') "
               "FROM runs", row, sizeof row);
    CHECK(strcmp(row, "nan|4|1") == 0, "status, steps, nan events: %s (the run stops at the validation NaN)", row);
    test_db_row(out, "SELECT message FROM first_nan", row, sizeof row);
    CHECK(strstr(output, row) != NULL, "the console's sentinel line is the event's message: %s", row);
    CHECK(strstr(row, "validation batch 1") && strstr(row, "clip 5 of the validation split"), "message: %s", row);
    /* Every validation batch of the failing epoch is kept, layer by layer. */
    test_db_row(out, "SELECT COUNT(DISTINCT val_batch), SUM(nan_count) FROM validation_stats WHERE epoch = 1 AND "
               "layer_id = 0 AND val_batch >= 0", row, sizeof row);
    CHECK(strcmp(row, "2|1") == 0, "validation batches and the one NaN at the input: %s", row);

    traced r;
    trace_run(db, &r);
    if (r.ok) {
        const cause_link *root = root_of(&r);
        CHECK(r.t.klass == MECHANISM_DATA, "class %s", mechanism_names[r.t.klass]);
        CHECK(root->layer == 0 && root->sample_id == BAD_VAL_CLIP, "root %s clip %lld", layer_name(&r, root->layer),
              root->sample_id);
        const char *v = strbuf_text(&r.verdict);
        CHECK(strstr(v, "Cause: data: validation clip 5 (position 1 of validation batch 1 after epoch 1)") &&
              strstr(v, "validation_only_nan") && strstr(v, "Validation: the forward pass in inference mode"),
              "verdict:\n%s", v);
    }
    traced_free(&r);
    char index[600];
    snprintf(index, sizeof index, "%s/report/index.html", out);
    char *html = test_read_file(index, NULL);
    CHECK(html && !strstr(html, "No NaN or Inf recorded") && strstr(html, "validation clip 5"),
          "the report names the validation NaN");
    free(html);
}

/* A checkpoint after step 3 of 4, its moving statistics edited, resumed:
 * step 4 trains on batch statistics, then validation runs on the moving ones. */
static int edited_run(const char *label, double all_variance, const char *bn_name, double mean, double variance,
                      char *out, size_t out_size, char *output, size_t size, const char *const *resume_extra)
{
    char data[400];
    path_in(data, sizeof data, "clean-data");
    path_in(out, out_size, label);
    struct stat st;
    if (stat(data, &st) != 0 && write_data(data, 0)) return -1;
    const char *first[] = {"--epochs=3", "--max-steps=3", NULL};
    int status = train(data, out, 0, output, size, first);
    CHECK(status == 0, "%s: the first part exited %d: %s", label, status, output);
    if (edit_checkpoint(out, all_variance, bn_name, mean, variance)) return -1;
    return train(NULL, out, 1, output, size, resume_extra);
}

static void test_inference_overflow(void)
{
    char out[400], db[500], row[2048];
    static char output[65536];
    const char *resume[] = {"--max-steps=100", NULL};
    int status = edited_run("overflow", 0.0, "batch_normalization", -1e30, NAN, out, sizeof out, output,
                            sizeof output, resume);
    CHECK(status == 3, "the edited run exits 3, got %d: %s", status, output);
    snprintf(db, sizeof db, "%s/run.db", out);
    test_db_row(out, "SELECT step, epoch, pass, (SELECT COUNT(*) FROM steps WHERE loss_finite = 0) FROM first_nan", row,
               sizeof row);
    CHECK(strcmp(row, "4|1|validation|0") == 0, "first_nan (step, epoch, pass, non-finite training losses): %s", row);
    /* The first BatchNorm's moving mean sits ~1e30 / batch std away. */
    double shift = test_db_double(out, "SELECT mean_shift_max FROM validation_batchnorm v JOIN layers l USING (run_id, "
                                    "layer_id) WHERE l.name = 'batch_normalization'");
    CHECK(shift > 1e25, "mean shift of batch_normalization: %g batch std", shift);
    traced r;
    trace_run(db, &r);
    if (r.ok) {
        const cause_link *root = root_of(&r);
        CHECK(r.t.klass == MECHANISM_INFERENCE_STATISTICS, "class %s", mechanism_names[r.t.klass]);
        CHECK(strcmp(layer_name(&r, root->layer), "batch_normalization") == 0 &&
              strcmp(root->tensor, "moving_mean") == 0, "root %s %s", layer_name(&r, root->layer), root->tensor);
        /* Compounding: the links' factors grow from the root toward the origin. */
        int links = 0, growing = 1;
        for (int i = r.t.chain.count - 2; i >= 1; i--) {
            const cause_link *k = &r.t.chain.links[i];
            if (strcmp(k->statistic, "inference_scale") != 0) continue;
            if (links && !(k->after >= r.t.chain.links[i + 1].after)) growing = 0;
            links++;
        }
        CHECK(links >= 2 && growing, "%d BatchNorm links, growing %d", links, growing);
        const char *v = strbuf_text(&r.verdict);
        CHECK(strstr(v, "Cause: BatchNorm moving statistics in inference mode at batch_normalization") &&
              strstr(v, "Inference path: RMS of (x - moving mean)") && strstr(v, "validation_only_nan") &&
              strstr(v, "Fix: re-estimate the moving statistics"), "verdict:\n%s", v);
    }
    traced_free(&r);
}

static void test_one_huge_update(void)
{
    char out[400], row[2048];
    static char output[65536];
    path_in(out, sizeof out, "one-huge-update");
    const char *extra[] = {"--train-clips=64", "--val-clips=8", "--lr=3000", "--epochs=2", "--steps-per-epoch=1",
                           NULL};
    int status = train("synthetic", out, 0, output, sizeof output, extra);
    CHECK(status == 3, "exits 3, got %d: %s", status, output);
    test_db_row(out, "SELECT f.step, f.pass, s.loss_finite FROM first_nan f JOIN steps s USING (run_id, step)", row,
               sizeof row);
    CHECK(strcmp(row, "1|validation|1") == 0, "first_nan after a finite step 1: %s", row);
    char db[500];
    snprintf(db, sizeof db, "%s/run.db", out);
    traced r;
    trace_run(db, &r);
    if (r.ok) {
        const cause_link *root = root_of(&r);
        CHECK(r.t.klass == MECHANISM_INFERENCE_STATISTICS && strncmp(root->tensor, "moving_", 7) == 0 &&
              r.d.layers[root->layer].kind == LAYER_BATCHNORM,
              "class %s, root %s %s", mechanism_names[r.t.klass], layer_name(&r, root->layer), root->tensor);
        CHECK(strstr(strbuf_text(&r.verdict), "the update of step 1 changed kernels by up to"), "verdict:\n%s",
              strbuf_text(&r.verdict));
    }
    traced_free(&r);
}

static void test_negative_moving_variance(void)
{
    char out[400], db[500], row[2048];
    static char output[65536];
    const char *resume[] = {"--max-steps=100", NULL};
    int status = edited_run("negative-variance", NAN, "batch_normalization_5", NAN, -1.0, out, sizeof out, output,
                            sizeof output, resume);
    CHECK(status == 3, "exits 3, got %d: %s", status, output);
    snprintf(db, sizeof db, "%s/run.db", out);
    test_db_row(out, "SELECT pass, layer_name, channel FROM first_nan", row, sizeof row);
    CHECK(strcmp(row, "validation|batch_normalization_5|0") == 0, "first_nan: %s", row);
    test_db_row(out, "SELECT bad_moving_variance, bad_channel FROM validation_batchnorm v JOIN layers l USING (run_id, "
               "layer_id) WHERE l.name = 'batch_normalization_5'", row, sizeof row);
    CHECK(strcmp(row, "1|0") == 0, "bad moving variance, channel: %s", row);
    traced r;
    trace_run(db, &r);
    if (r.ok) {
        const cause_link *root = root_of(&r);
        CHECK(r.t.klass == MECHANISM_INFERENCE_STATISTICS, "class %s", mechanism_names[r.t.klass]);
        CHECK(strcmp(layer_name(&r, root->layer), "batch_normalization_5") == 0 &&
              strcmp(root->tensor, "moving_variance") == 0, "root %s %s", layer_name(&r, root->layer), root->tensor);
        CHECK(strstr(strbuf_text(&r.verdict), "is <= 0 or non-finite in 1 of"), "verdict:\n%s",
              strbuf_text(&r.verdict));
    }
    traced_free(&r);
}

/* A copy of tests/keras/full_legacy.h5 whose first BatchNorm (the stem's,
 * batch_normalization_34 in the file) has a moving variance of -1 in
 * channel 0, as a checkpoint damaged outside Keras could carry it. */
static int keras_with_negative_variance(const char *path)
{
    size_t size;
    char *bytes = test_read_file("tests/keras/full_legacy.h5", &size);
    FILE *f = bytes ? fopen(path, "wb") : NULL;
    int rc = f && fwrite(bytes, 1, size, f) == size ? 0 : -1;
    if (f) fclose(f);
    free(bytes);
    if (rc) return -1;
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t set = file >= 0 ? H5Dopen2(file, "model_weights/batch_normalization_34/batch_normalization_34/"
                                           "moving_variance:0", H5P_DEFAULT) : -1;
    float values[4];
    rc = set >= 0 && H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0 ? 0 : -1;
    values[0] = -1.0f;
    if (rc == 0 && H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) rc = -1;
    if (set >= 0) H5Dclose(set);
    if (file >= 0) H5Fclose(file);
    return rc;
}

static void test_keras_negative_variance(void)
{
    char h5[400], out[400], db[500], row[2048];
    static char output[65536];
    path_in(h5, sizeof h5, "negative.h5");
    path_in(out, sizeof out, "keras-negative");
    snprintf(db, sizeof db, "%s/run.db", out);
    CHECK(keras_with_negative_variance(h5) == 0, "writing %s", h5);
    char *argv[] = {(char *)nanprobe, "train", "--from-keras", h5, "--data", "synthetic", "--train-clips", "4",
                    "--val-clips", "2", "--batch", "2", "--steps-per-epoch", "1", "--epochs", "2", "--threads", "1",
                    "--no-report", "--out", out, NULL};
    int status = test_run(argv, output, sizeof output);
    CHECK(status == 3, "--from-keras with a negative moving variance exits 3, got %d: %s", status, output);
    /* Keras' iteration 40 is the file's; step 41 trains, then validation. */
    test_db_row(out, "SELECT step, pass, layer_name, channel FROM first_nan", row, sizeof row);
    CHECK(strcmp(row, "41|validation|batch_normalization|0") == 0, "first_nan: %s", row);
    traced r;
    trace_run(db, &r);
    if (r.ok) {
        const cause_link *root = root_of(&r);
        CHECK(r.t.klass == MECHANISM_INFERENCE_STATISTICS && strcmp(root->tensor, "moving_variance") == 0 &&
              strcmp(layer_name(&r, root->layer), "batch_normalization") == 0,
              "class %s, root %s %s", mechanism_names[r.t.klass], layer_name(&r, root->layer), root->tensor);
    }
    traced_free(&r);
}

static void test_healthy(void)
{
    char data[400], out[400], db[500], row[2048];
    static char output[65536];
    path_in(data, sizeof data, "clean-data");
    path_in(out, sizeof out, "healthy");
    snprintf(db, sizeof db, "%s/run.db", out);
    struct stat st;
    if (stat(data, &st) != 0) CHECK(write_data(data, 0) == 0, "writing the data");
    const char *extra[] = {"--epochs=2", NULL};
    int status = train(data, out, 0, output, sizeof output, extra);
    CHECK(status == 0, "healthy run exited %d: %s", status, output);
    /* One summary row per layer and epoch, no per-batch rows, no event. */
    test_db_row(out, "SELECT COUNT(*), COUNT(DISTINCT epoch), SUM(val_batch >= 0), SUM(nan_count + posinf_count + "
               "neginf_count), (SELECT COUNT(*) FROM layers), (SELECT COUNT(*) FROM events WHERE kind = 'nan') FROM "
               "validation_stats", row, sizeof row);
    int rows = 0, epochs = 0, batches = -1, bad = -1, layers = 0, events = -1;
    sscanf(row, "%d|%d|%d|%d|%d|%d", &rows, &epochs, &batches, &bad, &layers, &events);
    CHECK(epochs == 2 && rows == 2 * layers && batches == 0 && bad == 0 && events == 0, "validation_stats: %s", row);
    /* Every BatchNorm compared, every epoch; moving statistics that fit. */
    test_db_row(out, "SELECT COUNT(*), (SELECT COUNT(*) FROM layers WHERE kind = 'BatchNormalization'), "
               "SUM(bad_moving_variance), MAX(inference_scale) < 10, MIN(train_steps), MIN(var_ratio_min) > 0 FROM "
               "validation_batchnorm", row, sizeof row);
    int bn_rows = 0, bn_layers = 0, bad_variance = -1, fits = 0, window = 0, ratio_positive = 0;
    sscanf(row, "%d|%d|%d|%d|%d|%d", &bn_rows, &bn_layers, &bad_variance, &fits, &window, &ratio_positive);
    CHECK(bn_layers > 0 && bn_rows == 2 * bn_layers && bad_variance == 0 && fits == 1 && window == 4 &&
          ratio_positive == 1, "validation_batchnorm: %s", row);
    traced r;
    trace_run(db, &r);
    if (r.ok) {
        CHECK(r.t.klass == MECHANISM_NONE, "class %s", mechanism_names[r.t.klass]);
        const char *v = strbuf_text(&r.verdict);
        CHECK(strstr(v, "No NaN or Inf recorded") && !strstr(v, "validation_only_nan (fail)"), "verdict:\n%s", v);
    }
    traced_free(&r);
}

static void test_resumed(void)
{
    char data[400], out[400], db[500], row[2048];
    static char output[65536];
    path_in(data, sizeof data, "nan-data");
    path_in(out, sizeof out, "resumed");
    snprintf(db, sizeof db, "%s/run.db", out);
    struct stat st;
    if (stat(data, &st) != 0) CHECK(write_data(data, 1) == 0, "writing the data");
    const char *first[] = {"--epochs=2", "--max-steps=2", NULL};
    int status = train(data, out, 0, output, sizeof output, first);
    CHECK(status == 0, "first part exited %d: %s", status, output);
    test_db_row(out, "SELECT COUNT(*) FROM events WHERE kind = 'nan'", row, sizeof row);
    CHECK(strcmp(row, "0") == 0, "no NaN before the resume: %s", row);
    const char *second[] = {"--max-steps=100", NULL};
    status = train(NULL, out, 1, output, sizeof output, second);
    CHECK(status == 3, "resumed part exited %d: %s", status, output);
    test_db_row(out, "SELECT step, epoch, pass, val_batch, sample_id, event_id > (SELECT event_id FROM events WHERE "
               "kind = 'resumed'), (SELECT resumed_from FROM runs) FROM first_nan", row, sizeof row);
    CHECK(strcmp(row, "4|1|validation|1|5|1|2") == 0, "first_nan after the resume from step 2: %s", row);
    traced r;
    trace_run(db, &r);
    if (r.ok) {
        CHECK(r.t.klass == MECHANISM_DATA && root_of(&r)->sample_id == BAD_VAL_CLIP, "class %s, clip %lld",
              mechanism_names[r.t.klass], root_of(&r)->sample_id);
        CHECK(strstr(strbuf_text(&r.verdict), "validation clip 5"), "verdict:\n%s", strbuf_text(&r.verdict));
    }
    traced_free(&r);
}

/* --on-nan continue=N: validation NaN after every epoch (clip 5), a
 * training NaN planted at step 6, each recorded; the NaN val_loss counts
 * as no improvement for ReduceLROnPlateau (patience 1: a reduction each
 * epoch until min_lr). */
static void test_continue(void)
{
    char data[400], out[400], db[500], row[2048];
    static char output[65536];
    path_in(data, sizeof data, "nan-data");
    path_in(out, sizeof out, "continue");
    snprintf(db, sizeof db, "%s/run.db", out);
    const char *extra[] = {"--epochs=3", "--on-nan", "continue=20", "--min-lr=1e-6",
                           "--inject=inf-forward@layer=conv3d_5,step=6", "--report", NULL};
    int status = train(data, out, 0, output, sizeof output, extra);
    CHECK(status == 3, "exited %d: %s", status, output);
    test_db_row(out, "SELECT group_concat(step || ':' || pass, ' ') FROM (SELECT step, pass FROM events WHERE kind = "
               "'nan' ORDER BY event_id)", row, sizeof row);
    CHECK(strcmp(row, "4:validation 6:forward 8:validation 12:validation") == 0, "nan events: %s", row);
    test_db_row(out, "SELECT pass FROM first_nan", row, sizeof row);
    CHECK(strcmp(row, "validation") == 0, "first_nan is the validation one: %s", row);
    test_db_row(out, "SELECT COUNT(*), MAX(epoch) FROM events WHERE kind = 'lr_reduced'", row, sizeof row);
    CHECK(strcmp(row, "3|3") == 0, "a reduction after each NaN val_loss: %s", row);
    CHECK(strstr(output, "in validation") && strstr(output, "in the forward pass"),
          "both sentinel lines on the console: %s", output);
    test_db_row(out, "SELECT COUNT(*) FROM steps", row, sizeof row);
    CHECK(strcmp(row, "12") == 0, "the run went on to its last epoch: %s steps", row);
    /* The loss figure marks both first NaNs. */
    char script[600];
    snprintf(script, sizeof script, "%s/report/loss.gp", out);
    char *gp = test_read_file(script, NULL);
    CHECK(gp && strstr(gp, "'first validation NaN: after step 4 (epoch 1)' at 4") &&
          strstr(gp, "'first training NaN: step 6' at 6"), "loss.gp marks both NaNs");
    free(gp);
}

/* `nanprobe schema` documents the validation pass and its tables. */
static void test_schema(void)
{
    static char output[65536];
    int status = test_run_args(nanprobe, output, sizeof output, "schema", NULL);
    CHECK(status == 0 && strstr(output, "validation: the forward pass in inference mode") &&
              strstr(output, "val_batch     INTEGER") && strstr(output, "CREATE TABLE IF NOT EXISTS validation_stats") &&
              strstr(output, "CREATE TABLE IF NOT EXISTS validation_batchnorm") && strstr(output, "'video_decode'") &&
              strstr(output, "inference_statistics"),
          "nanprobe schema (exit %d) lacks the validation pass", status);
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    if (test_temp_dir(base, sizeof base, "validation")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    test_schema();
    test_validation_clip_nan();
    test_inference_overflow();
    test_one_huge_update();
    test_negative_moving_variance();
    test_keras_negative_variance();
    test_healthy();
    test_resumed();
    test_continue();
    if (!getenv("TEST_VALIDATION_VERBOSE")) test_remove_tree(base);
    return test_finish();
}
