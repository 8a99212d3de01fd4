/* diagnose_cases.h: failures with known causes, made with ./nanprobe train
 * on small models, and the check of a cause trace against the known cause.
 * Shared by tests/test_diagnose.c (the pinned cases) and
 * bench/diagnose_bench.c (a larger set over several seeds).
 *
 * A case names its expected mechanism and root.  Roots that depend on the
 * run are given by a rule derived from the planted cause, never by a value
 * read from the run being checked:
 *   ROOT_LAYER   the named layer and tensor;
 *   ROOT_KERNEL_UPDATE  a Conv3D/Dense kernel.update that jumped >= 3
 *                decades in one step (an lr blow-up moves every kernel), or,
 *                without L2 (norm before unknown), one whose update/weight
 *                ratio reached CAUSE_JUMP_RATIO;
 *   ROOT_OVERFLOW_INPUT the statistic that ran to overflow: the input of
 *                the origin BatchNorm (its output absmax), or the origin's
 *                own batch_variance when the moving variance overflowed;
 *   ROOT_MOVING_STATISTICS  a BatchNormalization layer's moving_mean or
 *                moving_variance (a validation-first NaN, inference mode). */
#ifndef NANPROBE_DIAGNOSE_CASES_H
#define NANPROBE_DIAGNOSE_CASES_H

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cause.h"
#include "cause_text.h"
#include "npy.h"
#include "rng.h"
#include "read_run.h"
#include "test_trace.h"
#include "test_util.h"

/* DATA_VAL_*: clean training clips and val_clips.npy of DIAG_VAL_CLIPS clips
 * whose clip DIAG_BAD_VAL_CLIP holds two NaN pixels, or whose every clip is
 * 1e36 x the training scale (finite, below 3.4e38: the first convolution
 * overflows; inference-mode BatchNorm would not have renormalized it). */
typedef enum diag_data { DATA_SYNTHETIC, DATA_NAN_PIXELS, DATA_CONSTANT_CLIP, DATA_HUGE, DATA_VAL_NAN, DATA_VAL_HUGE } diag_data;
typedef enum diag_root { ROOT_NONE, ROOT_LAYER, ROOT_KERNEL_UPDATE, ROOT_OVERFLOW_INPUT, ROOT_MOVING_STATISTICS } diag_root;

typedef struct diag_case {
    const char *label;
    const char *args[8]; /* extra train options, NULL-terminated */
    diag_data data;
    const char *normalize;
    mechanism expected;
    diag_root root_rule;
    const char *root_layer, *root_tensor; /* ROOT_LAYER */
} diag_case;

/* Clips of the data cases: 16 clips of 8x32x32x3, labels i % 4; clip 12 is
 * the bad one (two NaN pixels, or every value 7). */
#define DIAG_CLIPS 16
#define DIAG_BAD_CLIP 12
#define DIAG_CLIP_VALUES (8 * 32 * 32 * 3)
#define DIAG_VAL_CLIPS 8
#define DIAG_BAD_VAL_CLIP 5

static inline int diag_validation_data(diag_data kind)
{
    return kind == DATA_VAL_NAN || kind == DATA_VAL_HUGE;
}

/* val_clips.npy / val_labels.npy of a DATA_VAL_* case (clips made from the
 * training ones, so the scale is the training data's). */
static inline int diag_write_validation(const char *dir, diag_data kind, const float *train, error *err)
{
    const size_t n = (size_t)DIAG_VAL_CLIPS * DIAG_CLIP_VALUES;
    float *clips = malloc(n * sizeof *clips);
    if (!clips) return error_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) clips[i] = train[n - 1 - i] * (kind == DATA_VAL_HUGE ? 1e36f : 1.0f);
    float *bad = clips + (size_t)DIAG_BAD_VAL_CLIP * DIAG_CLIP_VALUES;
    if (kind == DATA_VAL_NAN) bad[1000] = bad[5000] = NAN;
    int64_t labels[DIAG_VAL_CLIPS];
    for (int i = 0; i < DIAG_VAL_CLIPS; i++) labels[i] = i % 4;
    const int64_t shape[5] = {DIAG_VAL_CLIPS, 8, 32, 32, 3}, label_shape[1] = {DIAG_VAL_CLIPS};
    char path[4300];
    snprintf(path, sizeof path, "%s/val_clips.npy", dir);
    int rc = npy_write(path, "<f4", 5, shape, clips, 1, err);
    snprintf(path, sizeof path, "%s/val_labels.npy", dir);
    if (!rc) rc = npy_write(path, "<i8", 1, label_shape, labels, 1, err);
    free(clips);
    return rc;
}

static inline int diag_write_data(const char *dir, diag_data kind, error *err)
{
    mkdir(dir, 0777);
    float *clips = malloc((size_t)DIAG_CLIPS * DIAG_CLIP_VALUES * sizeof *clips);
    if (!clips) return error_set(err, "out of memory");
    rng r;
    rng_seed(&r, 5, 5);
    for (size_t i = 0; i < (size_t)DIAG_CLIPS * DIAG_CLIP_VALUES; i++)
        clips[i] = (float)(kind == DATA_HUGE ? 1e30 * (0.5 + rng_uniform(&r)) : floor(255.0 * rng_uniform(&r)));
    float *bad = clips + (size_t)DIAG_BAD_CLIP * DIAG_CLIP_VALUES;
    if (kind == DATA_NAN_PIXELS) bad[1000] = bad[5000] = NAN;
    if (kind == DATA_CONSTANT_CLIP)
        for (int i = 0; i < DIAG_CLIP_VALUES; i++) bad[i] = 7.0f;
    int64_t labels[DIAG_CLIPS];
    for (int i = 0; i < DIAG_CLIPS; i++) labels[i] = i % 4;
    const int64_t shape[5] = {DIAG_CLIPS, 8, 32, 32, 3}, label_shape[1] = {DIAG_CLIPS};
    char path[4300];
    snprintf(path, sizeof path, "%s/train_clips.npy", dir);
    int rc = npy_write(path, "<f4", 5, shape, clips, 1, err);
    snprintf(path, sizeof path, "%s/train_labels.npy", dir);
    if (!rc) rc = npy_write(path, "<i8", 1, label_shape, labels, 1, err);
    if (!rc && diag_validation_data(kind)) rc = diag_write_validation(dir, kind, clips, err);
    free(clips);
    return rc;
}

/* Trains one case into base/label (seed appended); returns the exit code. */
static inline int diag_train(const char *nanprobe, const char *base, const diag_case *c, int seed, char *dir,
                             size_t size)
{
    char data[4200], seed_text[32], output[8192];
    snprintf(dir, size, "%s/%s-s%d", base, c->label, seed);
    snprintf(seed_text, sizeof seed_text, "--seed=%d", seed);
    char *argv[40];
    int n = 0;
    const char *common[] = {"train", "--depth=18", "--width=4", "--clip=8x32x32x3", "--classes=4", "--batch=4",
                            "--threads=1", "--no-report", "--quiet", NULL};
    argv[n++] = (char *)nanprobe;
    for (int i = 0; common[i]; i++) argv[n++] = (char *)common[i];
    argv[n++] = seed_text;
    if (c->data != DATA_SYNTHETIC) {
        error err;
        snprintf(data, sizeof data, "%s/%s-data", base, c->label);
        if (diag_write_data(data, c->data, &err)) {
            fprintf(stderr, "%s: %s\n", c->label, err.message);
            return -1;
        }
        argv[n++] = "--data";
        argv[n++] = data;
        if (!diag_validation_data(c->data)) argv[n++] = "--val-clips=0";
        argv[n++] = "--train-clips=0";
    } else {
        argv[n++] = "--train-clips=64";
        argv[n++] = "--val-clips=8";
    }
    if (c->normalize) {
        argv[n++] = "--normalize";
        argv[n++] = (char *)c->normalize;
    }
    for (int i = 0; c->args[i]; i++) argv[n++] = (char *)c->args[i];
    argv[n++] = "--out";
    argv[n++] = dir;
    argv[n] = NULL;
    return test_run(argv, output, sizeof output);
}

static inline int diag_layer_named(const rundata *d, int l, const char *name)
{
    return l >= 0 && l < d->layer_count && strcmp(d->layers[l].name, name) == 0;
}

/* Does the trace's root follow the case's rule?  why gets the reason. */
static inline int diag_root_ok(const rundata *d, const cause_trace *t, const diag_case *c, char *why, size_t size)
{
    const cause_link *root = &t->chain.links[t->chain.count - 1];
    const cause_link *origin = &t->chain.links[0];
    const char *name = d->layers[root->layer].name;
    snprintf(why, size, "root %s %s %s", name, root->tensor, root->statistic);
    switch (c->root_rule) {
    case ROOT_NONE: return 1;
    case ROOT_LAYER: return strcmp(name, c->root_layer) == 0 && strcmp(root->tensor, c->root_tensor) == 0;
    case ROOT_KERNEL_UPDATE:
        return (d->layers[root->layer].kind == LAYER_CONV3D || d->layers[root->layer].kind == LAYER_DENSE) &&
               strcmp(root->tensor, "kernel.update") == 0 &&
               (root->decades >= 3.0 || (isnan(root->before) && root->decades >= CAUSE_JUMP_DECADES));
    case ROOT_MOVING_STATISTICS:
        return d->layers[root->layer].kind == LAYER_BATCHNORM && strncmp(root->tensor, "moving_", 7) == 0;
    case ROOT_OVERFLOW_INPUT: {
        const char *inputs = d->layers[origin->layer].inputs;
        if (strcmp(origin->tensor, "moving_variance") == 0)
            return root->layer == origin->layer && strcmp(root->tensor, "batch_variance") == 0;
        return strcmp(origin->tensor, "batch_variance") == 0 && strcmp(root->tensor, "output") == 0 &&
               strcmp(root->statistic, "absmax") == 0 && strcmp(inputs, name) == 0;
    }
    }
    return 0;
}

/* Trains, traces and checks one case: 1 right, 0 wrong, -1 not run.  The
 * verdict's first lines go to stdout when verbose. */
static inline int diag_check(const char *nanprobe, const char *base, const diag_case *c, int seed, int verbose,
                             char *why, size_t size)
{
    char dir[4300], db[4400];
    int status = diag_train(nanprobe, base, c, seed, dir, sizeof dir);
    int want_nan = c->expected != MECHANISM_NONE;
    if (status != (want_nan ? 3 : 0)) {
        snprintf(why, size, "train exited %d (expected %d)", status, want_nan ? 3 : 0);
        return status < 0 ? -1 : 0;
    }
    snprintf(db, sizeof db, "%s/run.db", dir);
    rundata d;
    error err;
    cause_trace t;
    if (rundata_load(&d, db, 0, 0, &err)) {
        snprintf(why, size, "%.300s", err.message);
        return -1;
    }
    int ok = 0;
    if (cause_trace_load_and_build(&d, &t, &err)) {
        snprintf(why, size, "%.300s", err.message);
    } else {
        ok = t.klass == c->expected;
        char root_why[300] = "";
        if (t.klass != MECHANISM_NONE) ok = diag_root_ok(&d, &t, c, root_why, sizeof root_why) && ok;
        snprintf(why, size, "class %s (expected %s), %s", mechanism_names[t.klass], mechanism_names[c->expected],
                 root_why);
        if (verbose && t.klass != MECHANISM_NONE) {
            strbuf b = {0};
            cause_text_compose(&d, &t, &b);
            printf("  %s seed %d:\n    %.*s\n", c->label, seed, (int)strcspn(strbuf_text(&b), "\n"), strbuf_text(&b));
            strbuf_free(&b);
        }
    }
    rundata_free(&d);
    return ok;
}

#endif
