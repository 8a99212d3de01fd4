/* test_keras.c: Keras checkpoints in and out (src/keras), against fixtures
 * written in Keras' own layouts by tools/make_keras_fixtures.py (which
 * documents them) and a float64 PyTorch reference computed from the same
 * state (tests/keras/reference.h5).  No Python runs at test time.
 *
 * 1. Import, every file kind (tf.keras 2.x full model with OptimizerV2 and
 *    with TF 2.11+ optimizer names, weights only, Keras 3 .weights.h5 and
 *    .keras): what keras_inspect infers; every kind loads bit-identical
 *    weights; then inference-mode logits (moving statistics), training-mode
 *    logits, data loss and L2 penalty, and, for the files with Adam state, the
 *    first step's update of every parameter and moving statistic, against
 *    PyTorch float64.  Metric max|ours - ref| / max|ref| per tensor (as
 *    test_parity.c); tolerance max(floor, 10 x PyTorch float32's own error on
 *    the same tensor), floors as test_parity.c's: outputs 2e-5, loss 1e-5, L2
 *    1e-6; the update 2e-4 like a gradient (it is alpha*m'/(sqrt(v')+eps) with
 *    m' = 0.9 m + 0.1 g: the gradient's error enters through 0.1 g and the
 *    loaded m, an exact float32 input, dominates), moving statistics 2e-5.
 * 2. The Keras topological order against the fixture's layer_names.
 * 3. Round trip: export then import is bit-identical (weights, moving
 *    statistics, m, v, t, learning rate).
 * 4. Hostile files, made here from the fixtures with libhdf5 / libzip:
 *    truncated, a layer missing, wrong shapes, float16 / float64 weights
 *    (converted) and out-of-range float64 / integer weights (refused), an
 *    attribute that is not a string, a zip without a weights file: each a
 *    clear error naming the file and the variable.
 * 5. The CLI: train --from-keras (inferred model, Adam state carried over,
 *    NaN in the loaded weights reported before any step, exit codes),
 *    export-keras, and training resumed from an exported file bit-identical
 *    to --resume. */
#include <cblas.h>
#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "keras.h"
#include "keras_h5.h"
#include "keras_order.h"
#include "loss.h"
#include "model.h"
#include "optimizer.h"
#include "test_db.h"
#include "test_util.h"

#define FIXTURES "tests/keras/"
#define REFERENCE FIXTURES "reference.h5"
#define CONDITIONING_FACTOR 10.0

static const model_config fixture_model = {.depth = 18, .width = 4, .clip = {8, 64, 64, 3}, .classes = 5,
                                           .batch = 2, .threads = 1};

/* ------------------------------------------------------------ reference */

typedef struct reference {
    hid_t file;
    float *input;
    int labels[2];
    double l2, learning_rate;
    long iterations;
} reference;

static double attribute_double(hid_t loc, const char *object, const char *name)
{
    double v = NAN;
    hid_t a = H5Aopen_by_name(loc, object, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_DOUBLE, &v);
        H5Aclose(a);
    }
    return v;
}

/* A reference dataset of count values (NULL and a failed check if absent). */
static float *reference_read(const reference *r, const char *path, size_t count, double *float32_error)
{
    float *data = malloc(sizeof(float) * count);
    error err;
    int converted;
    int rc = data ? keras_h5_read_floats(r->file, path, REFERENCE, path, data, count, &converted, &err) : -1;
    CHECK(rc == 0, "reference %s: %s", path, rc ? err.message : "");
    if (rc) {
        free(data);
        return NULL;
    }
    *float32_error = attribute_double(r->file, path, "float32_error");
    return data;
}

static int reference_open(reference *r)
{
    error err;
    memset(r, 0, sizeof *r);
    r->file = keras_h5_open(REFERENCE, REFERENCE, &err);
    CHECK(r->file >= 0, "%s", err.message);
    if (r->file < 0) return -1;
    /* uint8 pixels; the input is pixels / 255 in float32 on both sides. */
    size_t n = 2 * 8 * 64 * 64 * 3;
    unsigned char *pixels = malloc(n);
    r->input = malloc(sizeof(float) * n);
    hid_t p = H5Dopen2(r->file, "pixels", H5P_DEFAULT);
    int ok = pixels && r->input && p >= 0 && H5Dread(p, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels) >= 0;
    CHECK(ok, "reference pixels unreadable");
    for (size_t i = 0; ok && i < n; i++) r->input[i] = (float)pixels[i] / 255.0f;
    if (p >= 0) H5Dclose(p);
    free(pixels);
    if (!ok) {
        free(r->input);
        r->input = NULL;
    }
    hid_t d = H5Dopen2(r->file, "labels", H5P_DEFAULT);
    CHECK(d >= 0 && H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->labels) >= 0, "reference labels");
    if (d >= 0) H5Dclose(d);
    r->l2 = attribute_double(r->file, ".", "l2");
    r->learning_rate = attribute_double(r->file, ".", "learning_rate");
    r->iterations = (long)attribute_double(r->file, ".", "iterations");
    return r->input ? 0 : -1;
}

static void reference_close(reference *r)
{
    free(r->input);
    keras_h5_close(r->file);
}

/* ---------------------------------------------------------------- metrics */

static double normwise(const float *ours, const float *ref, size_t n)
{
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ours[i])) return INFINITY;
        double d = fabs((double)ours[i] - (double)ref[i]);
        if (d > worst) worst = d;
        if (fabs((double)ref[i]) > scale) scale = fabs((double)ref[i]);
    }
    return scale > 0 ? worst / scale : worst;
}

static double worst_ratio;
static char worst_what[160];

static void compare(const char *file, const char *what, double measured, double floor, double float32_error)
{
    double tolerance = floor;
    if (isfinite(float32_error) && CONDITIONING_FACTOR * float32_error > tolerance)
        tolerance = CONDITIONING_FACTOR * float32_error;
    if (isnan(measured)) measured = INFINITY;
    if (measured / tolerance > worst_ratio) {
        worst_ratio = measured / tolerance;
        snprintf(worst_what, sizeof worst_what, "%s %s: %.2e, PyTorch float32 %.2e, tolerance %.2e", file, what,
                 measured, float32_error, tolerance);
    }
    CHECK(measured <= tolerance, "%s: %s error %.3e exceeds its tolerance %.2e", file, what, measured, tolerance);
}

static void compare_tensor(const char *file, const reference *r, const char *path, const float *ours, size_t n,
                           double floor)
{
    double f32;
    float *ref = reference_read(r, path, n, &f32);
    if (!ref) return;
    compare(file, path, normwise(ours, ref, n), floor, f32);
    free(ref);
}


/* ------------------------------------------------------------ 1. import */

typedef struct kind_case {
    const char *file;
    keras_kind kind;
    int has_config, has_optimizer;
} kind_case;

static const kind_case kinds[] = {
    {FIXTURES "full_legacy.h5", KERAS_H5_MODEL, 1, 1},
    {FIXTURES "full_tf211.h5", KERAS_H5_MODEL, 1, 1},
    {FIXTURES "weights_only.h5", KERAS_H5_WEIGHTS, 0, 0},
    {FIXTURES "resnet.weights.h5", KERAS3_WEIGHTS, 0, 1},
    {FIXTURES "resnet.keras", KERAS3_ARCHIVE, 1, 0},
};
#define KIND_COUNT ((int)(sizeof kinds / sizeof kinds[0]))

static void check_info(const kind_case *c, const keras_model_info *info, const reference *r)
{
    CHECK(info->kind == c->kind, "%s: kind %d, expected %d", c->file, info->kind, c->kind);
    CHECK(info->depth == 18 && info->width == 4 && info->classes == 5 && info->clip[3] == 3,
          "%s: inferred depth %d width %d classes %d channels %d", c->file, info->depth, info->width, info->classes,
          info->clip[3]);
    CHECK(info->has_config == c->has_config, "%s: has_config %d", c->file, info->has_config);
    if (c->has_config)
        CHECK(info->has_clip && info->clip[0] == 8 && info->clip[1] == 64 && info->clip[2] == 64 && info->has_l2 &&
                  fabs(info->l2 - r->l2) < 1e-9,
              "%s: clip %dx%dx%d (known %d), l2 %g", c->file, info->clip[0], info->clip[1], info->clip[2],
              info->has_clip, info->l2);
    CHECK(info->has_optimizer == c->has_optimizer, "%s: has_optimizer %d", c->file, info->has_optimizer);
    if (c->has_optimizer)
        CHECK(info->iterations == r->iterations && fabs(info->learning_rate - r->learning_rate) < 1e-9 &&
                  info->learning_rate_source && strstr(info->learning_rate_source, "variable"),
              "%s: iterations %ld, learning rate %g from %s", c->file, info->iterations, info->learning_rate,
              info->learning_rate_source ? info->learning_rate_source : "nowhere");
}

/* Every parameter (and m, v) of a and b bit for bit. */
static int same_state(const model *a, const model *b, int with_adam)
{
    for (int i = 0; i < a->param_count; i++) {
        const parameter *p = &a->params[i], *q = &b->params[i];
        size_t bytes = sizeof(float) * p->value.count;
        if (memcmp(p->value.data, q->value.data, bytes) != 0) return 0;
        if (with_adam && p->trainable &&
            (memcmp(p->adam_m, q->adam_m, bytes) != 0 || memcmp(p->adam_v, q->adam_v, bytes) != 0))
            return 0;
    }
    return 1;
}

static void check_forward(const char *file, model *m, const reference *r)
{
    const size_t logits = 2 * 5;
    memcpy(model_input(m), r->input, sizeof(float) * 2 * 8 * 64 * 64 * 3);
    model_forward(m, 0);
    compare_tensor(file, r, "infer_logits", model_logits(m), logits, 2e-5);
    model_forward(m, 1);
    compare_tensor(file, r, "train_logits", model_logits(m), logits, 2e-5);
    loss_result lr = loss_from_logits(2, 5, model_logits(m), r->labels, model_logits_gradient(m));
    float loss = (float)lr.loss, penalty = (float)model_l2_penalty(m, (float)r->l2);
    double f32;
    float *ref = reference_read(r, "data_loss", 1, &f32);
    if (ref) compare(file, "data_loss", fabs(loss - ref[0]) / fabs(ref[0]), 1e-5, f32);
    free(ref);
    ref = reference_read(r, "l2_penalty", 1, &f32);
    if (ref) compare(file, "l2_penalty", fabs(penalty - ref[0]) / fabs(ref[0]), 1e-6, NAN);
    free(ref);
}

/* One Adam step from the loaded state; the update of every parameter and
 * the moving statistics after it against the reference. */
static void check_first_update(const char *file, model *m, const reference *r, const keras_model_info *info)
{
    float **before = calloc((size_t)m->param_count, sizeof(float *));
    for (int i = 0; i < m->param_count; i++) {
        before[i] = malloc(sizeof(float) * m->params[i].value.count);
        memcpy(before[i], m->params[i].value.data, sizeof(float) * m->params[i].value.count);
    }
    model_backward(m);
    adam_config adam = ADAM_KERAS_DEFAULTS;
    optimizer_step(m, &adam, (float)info->learning_rate, info->iterations + 1, (float)r->l2, NULL);
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        char path[128];
        if (p->trainable) {
            float *update = malloc(sizeof(float) * p->value.count);
            for (size_t j = 0; j < p->value.count; j++) update[j] = p->value.data[j] - before[i][j];
            snprintf(path, sizeof path, "update/%s", p->name);
            compare_tensor(file, r, path, update, p->value.count, 2e-4);
            free(update);
        } else {
            snprintf(path, sizeof path, "moving/%s", p->name);
            compare_tensor(file, r, path, p->value.data, p->value.count, 2e-5);
        }
        free(before[i]);
    }
    free(before);
}

static void test_import(const reference *r)
{
    model first;
    int have_first = 0;
    for (int k = 0; k < KIND_COUNT; k++) {
        const kind_case *c = &kinds[k];
        keras_model_info info;
        error err;
        int rc = keras_inspect(c->file, &info, &err);
        CHECK(rc == 0, "keras_inspect %s: %s", c->file, rc ? err.message : "");
        if (rc) continue;
        check_info(c, &info, r);
        model m;
        if (model_build(&m, &fixture_model, &err)) {
            CHECK(0, "model_build: %s", err.message);
            continue;
        }
        keras_load_result result;
        rc = keras_load(c->file, &m, &result, &err);
        CHECK(rc == 0, "keras_load %s: %s", c->file, rc ? err.message : "");
        if (rc == 0) {
            CHECK(result.converted == 0, "%s: %d variables converted", c->file, result.converted);
            if (k == 0) CHECK(result.renamed > 0, "%s: the offset names were not noticed", c->file);
            if (!have_first) {
                first = m;
                have_first = 1;
            } else {
                CHECK(same_state(&first, &m, c->has_optimizer && kinds[0].has_optimizer),
                      "%s loads other values than %s", c->file, kinds[0].file);
            }
            if (!c->has_optimizer) {
                int zero = 1;
                for (int i = 0; i < m.param_count; i++)
                    if (m.params[i].trainable)
                        for (size_t j = 0; j < m.params[i].value.count; j++)
                            zero &= m.params[i].adam_m[j] == 0.0f && m.params[i].adam_v[j] == 0.0f;
                CHECK(zero && result.info.iterations == 0, "%s: Adam does not start fresh", c->file);
            }
            size_t element;
            CHECK(keras_first_nonfinite(&m, &element) < 0, "%s: loaded weights not finite", c->file);
        }
        if (rc == 0 && c->has_optimizer && k != 0) {
            /* The parity checks run on a copy of the state: first keeps the file's. */
            check_forward(c->file, &m, r);
            check_first_update(c->file, &m, r, &result.info);
        } else if (rc == 0 && !c->has_optimizer) {
            check_forward(c->file, &m, r);
        }
        if (!(have_first && first.params == m.params)) model_free(&m);
    }
    if (have_first) {
        check_forward(kinds[0].file, &first, r);
        keras_model_info info;
        error err;
        if (keras_inspect(kinds[0].file, &info, &err) == 0) check_first_update(kinds[0].file, &first, r, &info);
        model_free(&first);
    }
    printf("import: %d file kinds, worst error/tolerance %.3f (%s)\n", KIND_COUNT, worst_ratio, worst_what);
}

/* ------------------------------------------------------------- 2. order */

static void test_order(void)
{
    model m;
    error err;
    if (model_build(&m, &fixture_model, &err)) {
        CHECK(0, "model_build: %s", err.message);
        return;
    }
    int *order = malloc(sizeof(int) * (size_t)m.layer_count);
    CHECK(keras_layer_order(&m, order) == 0, "keras_layer_order failed");
    hid_t f = keras_h5_open(FIXTURES "full_tf211.h5", "full_tf211.h5", &err);
    hid_t g = f >= 0 ? H5Gopen2(f, "model_weights", H5P_DEFAULT) : -1;
    string_array names = {0};
    CHECK(g >= 0 && keras_h5_read_strings(g, "layer_names", "fixture", "model_weights", &names, &err) == 0,
          "fixture layer_names unreadable");
    CHECK(names.count == m.layer_count, "fixture has %d layers, the model %d", names.count, m.layer_count);
    int same = names.count == m.layer_count, differs_from_creation = 0;
    for (int k = 0; same && k < m.layer_count; k++) {
        same = strcmp(names.items[k], m.layers[order[k]].name) == 0;
        if (!same) fprintf(stderr, "layer %d: fixture %s, ours %s\n", k, names.items[k], m.layers[order[k]].name);
        differs_from_creation |= order[k] != k;
    }
    CHECK(same, "Keras' model.layers order differs from the fixture's (an independent implementation)");
    CHECK(differs_from_creation, "the topological order should differ from creation order (shortcuts)");
    string_array_free(&names);
    if (g >= 0) H5Gclose(g);
    keras_h5_close(f);
    free(order);
    model_free(&m);
}

/* --------------------------------------------------------- 3. round trip */

static char temp_dir[256];

static void temp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", temp_dir, name);
}

static void test_round_trip(void)
{
    model a, b;
    error err;
    keras_load_result ra, rb;
    if (model_build(&a, &fixture_model, &err) || model_build(&b, &fixture_model, &err)) {
        CHECK(0, "model_build: %s", err.message);
        return;
    }
    int rc = keras_load(FIXTURES "full_legacy.h5", &a, &ra, &err);
    CHECK(rc == 0, "load: %s", rc ? err.message : "");
    char path[512];
    temp_path(path, sizeof path, "exported.h5");
    keras_export_options o = {.with_optimizer = 1, .iterations = ra.info.iterations,
                              .learning_rate = (float)ra.info.learning_rate, .l2 = 1e-4};
    rc = keras_export(path, &a, &o, &err);
    CHECK(rc == 0, "export: %s", rc ? err.message : "");
    rc = rc ? rc : keras_load(path, &b, &rb, &err);
    CHECK(rc == 0, "reimport: %s", rc ? err.message : "");
    if (rc == 0) {
        CHECK(same_state(&a, &b, 1), "export then import is not bit-identical");
        CHECK(rb.info.kind == KERAS_H5_MODEL && rb.info.has_config && rb.info.has_optimizer &&
                  rb.info.iterations == ra.info.iterations &&
                  (float)rb.info.learning_rate == (float)ra.info.learning_rate && rb.info.depth == 18 &&
                  rb.info.width == 4 && rb.info.classes == 5 && rb.info.clip[0] == 8 && rb.info.clip[2] == 64 &&
                  fabs(rb.info.l2 - 1e-4) < 1e-12 && rb.renamed == 0,
              "reimported info: t %ld lr %g depth %d width %d classes %d renamed %d", rb.info.iterations,
              rb.info.learning_rate, rb.info.depth, rb.info.width, rb.info.classes, rb.renamed);
    }
    o.with_optimizer = 0;
    rc = keras_export(path, &a, &o, &err);
    keras_model_info info;
    CHECK(rc == 0 && keras_inspect(path, &info, &err) == 0 && !info.has_optimizer,
          "export without --optimizer still carries Adam state");
    model_free(&a);
    model_free(&b);
}

/* ------------------------------------------------------------- 4. hostile */

/* Inspecting and loading path fails with a message naming the file and
 * holding fragment. */
static void expect_failure(const char *path, const char *fragment, const char *why)
{
    model m;
    error err;
    keras_model_info info;
    keras_load_result result;
    if (model_build(&m, &fixture_model, &err)) return;
    int rc = keras_inspect(path, &info, &err);
    if (rc == 0) rc = keras_load(path, &m, &result, &err);
    CHECK(rc != 0, "%s: %s was accepted", why, path);
    if (rc) {
        CHECK(strstr(err.message, path) != NULL, "%s: the message does not name the file: %s", why, err.message);
        CHECK(strstr(err.message, fragment) != NULL, "%s: expected '%s' in: %s", why, fragment, err.message);
        printf("  %-28s %s\n", why, err.message);
    }
    model_free(&m);
}

/* Opens a fresh copy of a fixture for editing. */
static hid_t edit_copy(const char *fixture, const char *name, char *path, size_t size)
{
    temp_path(path, size, name);
    if (test_copy_file(fixture, path, -1)) return -1;
    return H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
}

/* Replaces a dataset by one of another type/shape filled from values. */
static void replace_dataset(hid_t file, const char *at, hid_t type, int rank, const hsize_t *dims, hid_t mem_type,
                            const void *values)
{
    H5Ldelete(file, at, H5P_DEFAULT);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(file, at, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(d >= 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0, "cannot rewrite %s", at);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
}

#define KERNEL12 "model_weights/conv3d_12/conv3d_12/kernel:0"

static void hostile_layers(void)
{
    char path[512];
    /* A layer missing: gone from layer_names and from the file. */
    hid_t f = edit_copy(FIXTURES "full_tf211.h5", "missing_layer.h5", path, sizeof path);
    hid_t g = H5Gopen2(f, "model_weights", H5P_DEFAULT);
    string_array names;
    error err;
    keras_h5_read_strings(g, "layer_names", path, "model_weights", &names, &err);
    int kept = 0;
    for (int i = 0; i < names.count; i++)
        if (strcmp(names.items[i], "batch_normalization_5") != 0) names.items[kept++] = names.items[i];
        else free(names.items[i]);
    names.count = kept;
    H5Adelete(g, "layer_names");
    keras_h5_write_strings(g, "layer_names", names.items, names.count);
    H5Ldelete(g, "batch_normalization_5", H5P_DEFAULT);
    string_array_free(&names);
    H5Gclose(g);
    H5Fclose(f);
    expect_failure(path, "batch_normalization_5", "a layer missing");

    /* Listed but its group gone. */
    f = edit_copy(FIXTURES "full_tf211.h5", "missing_group.h5", path, sizeof path);
    H5Ldelete(f, "model_weights/conv3d_7", H5P_DEFAULT);
    H5Fclose(f);
    expect_failure(path, "conv3d_7", "a layer's group missing");

    /* Keras 3: a layer's vars missing. */
    f = edit_copy(FIXTURES "resnet.weights.h5", "k3_missing.weights.h5", path, sizeof path);
    H5Ldelete(f, "layers/batch_normalization_3", H5P_DEFAULT);
    H5Fclose(f);
    expect_failure(path, "layers/batch_normalization_3", "a Keras 3 layer missing");

    /* An attribute that is not a string. */
    f = edit_copy(FIXTURES "full_legacy.h5", "int_attribute.h5", path, sizeof path);
    g = H5Gopen2(f, "model_weights/conv3d_40", H5P_DEFAULT);
    H5Adelete(g, "weight_names");
    int numbers[2] = {1, 2};
    hsize_t two = 2;
    hid_t space = H5Screate_simple(1, &two, NULL);
    hid_t a = H5Acreate2(g, "weight_names", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, numbers);
    H5Aclose(a);
    H5Sclose(space);
    H5Gclose(g);
    H5Fclose(f);
    expect_failure(path, "'weight_names' of conv3d_40 is not a string", "an attribute not a string");
}

/* The values and shape of conv3d_12/kernel in the tf211 fixture. */
static float *kernel12(int *rank, hsize_t *dims, size_t *count)
{
    error err;
    hid_t f = keras_h5_open(FIXTURES "full_tf211.h5", "fixture", &err);
    keras_h5_info info;
    float *v = NULL;
    int converted;
    if (f >= 0 && keras_h5_dataset_info(f, KERNEL12, "fixture", "kernel", &info, &err) == 0) {
        v = malloc(sizeof(float) * info.count);
        if (keras_h5_read_floats(f, KERNEL12, "fixture", "kernel", v, info.count, &converted, &err)) {
            free(v);
            v = NULL;
        }
        *rank = info.rank;
        for (int a = 0; a < info.rank; a++) dims[a] = (hsize_t)info.dims[a];
        *count = info.count;
    }
    keras_h5_close(f);
    CHECK(v != NULL, "cannot read %s from the fixture", KERNEL12);
    return v;
}

/* Loads path and returns conv3d_12/kernel as loaded (NULL on failure). */
static float *load_kernel12(const char *path, keras_load_result *result)
{
    model m;
    error err;
    if (model_build(&m, &fixture_model, &err)) return NULL;
    int rc = keras_load(path, &m, result, &err);
    CHECK(rc == 0, "%s: %s", path, rc ? err.message : "");
    float *copy = NULL;
    int p = -1;
    for (int i = 0; i < m.param_count; i++)
        if (strcmp(m.params[i].name, "conv3d_12/kernel") == 0) p = i;
    if (rc == 0 && p >= 0) {
        copy = malloc(sizeof(float) * m.params[p].value.count);
        memcpy(copy, m.params[p].value.data, sizeof(float) * m.params[p].value.count);
    }
    model_free(&m);
    return copy;
}

/* float64 and float16 weights are converted (and counted). */
static void converted_values(const float *kernel, const double *wide, int rank, const hsize_t *dims, size_t count)
{
    char path[512];
    hid_t f;
    /* float64 weights: converted exactly (they hold float32 values). */
    f = edit_copy(FIXTURES "full_tf211.h5", "float64.h5", path, sizeof path);
    replace_dataset(f, KERNEL12, H5T_IEEE_F64LE, rank, dims, H5T_NATIVE_DOUBLE, wide);
    H5Fclose(f);
    keras_load_result result;
    float *loaded = load_kernel12(path, &result);
    CHECK(loaded && memcmp(loaded, kernel, sizeof(float) * count) == 0 && result.converted == 1 &&
              strcmp(result.converted_example, "conv3d_12/kernel") == 0,
          "float64 weights not converted exactly (converted %d, %s)", result.converted, result.converted_example);
    free(loaded);

    /* float16 weights: converted; each value is the nearest half, so within
     * 2^-11 relative of the float32 original (above half's normal range). */
    f = edit_copy(FIXTURES "full_tf211.h5", "float16.h5", path, sizeof path);
    hid_t half = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(half, 15, 10, 5, 0, 10);
    H5Tset_ebias(half, 15);
    H5Tset_size(half, 2);
    replace_dataset(f, KERNEL12, half, rank, dims, H5T_NATIVE_FLOAT, kernel);
    H5Tclose(half);
    H5Fclose(f);
    loaded = load_kernel12(path, &result);
    double worst = 0.0;
    for (size_t i = 0; loaded && i < count; i++) {
        double d = fabs(loaded[i] - kernel[i]) / fmax(fabs(kernel[i]), 6.2e-5);
        if (d > worst) worst = d;
    }
    CHECK(loaded && worst <= 1.0 / 2048 && result.converted == 1, "float16 weights: worst relative error %g, converted %d",
          worst, result.converted);
    free(loaded);

}

static void hostile_values(void)
{
    char path[512];
    int rank;
    hsize_t dims[8];
    size_t count;
    float *kernel = kernel12(&rank, dims, &count);
    if (!kernel) return;
    double *wide = malloc(sizeof(double) * count);
    for (size_t i = 0; i < count; i++) wide[i] = kernel[i];

    /* Wrong shape: twice the input channels. */
    hid_t f = edit_copy(FIXTURES "full_tf211.h5", "wrong_shape.h5", path, sizeof path);
    hsize_t wrong[5] = {dims[0], dims[1], dims[2], dims[3] * 2, dims[4]};
    float *big = calloc(count * 2, sizeof(float));
    replace_dataset(f, KERNEL12, H5T_IEEE_F32LE, 5, wrong, H5T_NATIVE_FLOAT, big);
    H5Fclose(f);
    char expected[160];
    snprintf(expected, sizeof expected, "conv3d_12/kernel: the file has (%d,%d,%d,%d,%d), the model expects (%d,%d,%d,%d,%d)",
             (int)wrong[0], (int)wrong[1], (int)wrong[2], (int)wrong[3], (int)wrong[4], (int)dims[0], (int)dims[1],
             (int)dims[2], (int)dims[3], (int)dims[4]);
    expect_failure(path, expected, "wrong shape");
    free(big);

    converted_values(kernel, wide, rank, dims, count);

    /* float64 beyond float32's range: refused, not turned into Inf. */
    f = edit_copy(FIXTURES "full_tf211.h5", "float64_huge.h5", path, sizeof path);
    wide[5] = 1e300;
    replace_dataset(f, KERNEL12, H5T_IEEE_F64LE, rank, dims, H5T_NATIVE_DOUBLE, wide);
    H5Fclose(f);
    expect_failure(path, "conv3d_12/kernel is float64 and element 5", "float64 out of range");

    /* Integer weights: refused. */
    f = edit_copy(FIXTURES "full_tf211.h5", "int_weights.h5", path, sizeof path);
    int *ints = calloc(count, sizeof(int));
    replace_dataset(f, KERNEL12, H5T_STD_I32LE, rank, dims, H5T_NATIVE_INT, ints);
    H5Fclose(f);
    expect_failure(path, "conv3d_12/kernel is not stored as floating point", "integer weights");
    free(ints);
    free(wide);
    free(kernel);
}

/* A model built otherwise than the file says: refused before any read. */
static void wrong_model(void)
{
    model_config other = fixture_model;
    other.width = 8;
    model m;
    error err;
    keras_load_result result;
    if (model_build(&m, &other, &err)) return;
    int rc = keras_load(FIXTURES "full_tf211.h5", &m, &result, &err);
    CHECK(rc != 0 && strstr(err.message, "holds a ResNet3D-18 of width 4 with 5 classes; the model is a ResNet3D-18 "
                                         "of width 8"),
          "a width-8 model took a width-4 file: %s", rc ? err.message : "accepted");
    model_free(&m);
}

static void hostile_files(void)
{
    char path[512];
    long size = test_file_size(FIXTURES "full_legacy.h5");
    temp_path(path, sizeof path, "truncated_half.h5");
    test_copy_file(FIXTURES "full_legacy.h5", path, size / 2);
    expect_failure(path, "truncated or damaged", "truncated at 50%");
    temp_path(path, sizeof path, "truncated_end.h5");
    test_copy_file(FIXTURES "full_legacy.h5", path, size - 100);
    expect_failure(path, "truncated or damaged", "truncated by 100 bytes");
    temp_path(path, sizeof path, "tiny.h5");
    test_copy_file(FIXTURES "full_legacy.h5", path, 100);
    expect_failure(path, "HDF5 file", "truncated to 100 bytes");

    /* A zip without a weights file, and one whose weights are not HDF5. */
    for (int variant = 0; variant < 2; variant++) {
        temp_path(path, sizeof path, variant ? "garbage.keras" : "no_weights.keras");
        int code;
        zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
        static const char config[] = "{\"class_name\": \"Functional\", \"config\": {\"layers\": []}}";
        static const char junk[] = "this is not HDF5";
        zip_source_t *s = zip_source_buffer(z, config, sizeof config - 1, 0);
        zip_file_add(z, "config.json", s, ZIP_FL_OVERWRITE);
        if (variant) {
            s = zip_source_buffer(z, junk, sizeof junk - 1, 0);
            zip_file_add(z, "model.weights.h5", s, ZIP_FL_OVERWRITE);
        }
        CHECK(zip_close(z) == 0, "cannot write %s", path);
        expect_failure(path, variant ? "not an HDF5 file" : "has no model.weights.h5",
                       variant ? "zip with garbage weights" : "zip without weights");
    }
    /* Not a Keras file at all. */
    expect_failure(REFERENCE, "not a Keras checkpoint", "an HDF5 file that is not Keras");
}

/* The deepest model: its model_config (~140 KB) is over the 64 KiB an HDF5
 * object header holds, so export must store attributes densely. */
static void test_round_trip_deep(void)
{
    model_config deep = {.depth = 152, .width = 2, .clip = {4, 32, 32, 3}, .classes = 3, .batch = 1, .threads = 1};
    model a, b;
    error err;
    keras_load_result r;
    if (model_build(&a, &deep, &err) || model_build(&b, &deep, &err)) {
        CHECK(0, "model_build: %s", err.message);
        return;
    }
    model_init_weights(&a, INIT_HE_NORMAL, 7);
    for (int i = 0; i < a.param_count; i++)
        if (a.params[i].trainable)
            for (size_t j = 0; j < a.params[i].value.count; j++) {
                a.params[i].adam_m[j] = 1e-3f * (float)((j % 7) + i);
                a.params[i].adam_v[j] = 1e-6f * (float)((j % 5) + 1);
            }
    char path[512];
    temp_path(path, sizeof path, "deep.h5");
    keras_export_options o = {.with_optimizer = 1, .iterations = 123, .learning_rate = 2e-4f, .l2 = 0.0};
    int rc = keras_export(path, &a, &o, &err);
    CHECK(rc == 0, "export ResNet3D-152: %s", rc ? err.message : "");
    if (rc == 0) rc = keras_load(path, &b, &r, &err);
    CHECK(rc == 0, "import ResNet3D-152: %s", rc ? err.message : "");
    CHECK(rc == 0 && same_state(&a, &b, 1) && r.info.iterations == 123 && r.info.depth == 152 &&
              r.info.has_l2 && r.info.l2 == 0.0,
          "ResNet3D-152 round trip is not bit-identical");
    model_free(&a);
    model_free(&b);
}

/* Keras 3.0 interleaves m and v per weight; later versions block them.  The
 * blocked fixture, renumbered interleaved, must load the same state. */
static void test_keras3_interleaved(void)
{
    char path[512];
    hid_t f = edit_copy(FIXTURES "resnet.weights.h5", "interleaved.weights.h5", path, sizeof path);
    hid_t g = f >= 0 ? H5Gopen2(f, "optimizer/vars", H5P_DEFAULT) : -1;
    H5G_info_t gi;
    if (g < 0 || H5Gget_info(g, &gi) < 0) {
        CHECK(0, "cannot edit %s", path);
        return;
    }
    const int scalars = 2, count = ((int)gi.nlinks - scalars) / 2;
    char from[32], to[32];
    for (int i = scalars; i < (int)gi.nlinks; i++) {
        snprintf(from, sizeof from, "%d", i);
        snprintf(to, sizeof to, "t%d", i);
        H5Lmove(g, from, g, to, H5P_DEFAULT, H5P_DEFAULT);
    }
    for (int i = 0; i < count; i++)
        for (int which = 0; which < 2; which++) {
            snprintf(from, sizeof from, "t%d", scalars + i + which * count);
            snprintf(to, sizeof to, "%d", scalars + 2 * i + which);
            H5Lmove(g, from, g, to, H5P_DEFAULT, H5P_DEFAULT);
        }
    H5Gclose(g);
    H5Fclose(f);
    model a, b;
    error err;
    keras_load_result ra, rb;
    if (model_build(&a, &fixture_model, &err) || model_build(&b, &fixture_model, &err)) return;
    int rc = keras_load(FIXTURES "resnet.weights.h5", &a, &ra, &err);
    if (rc == 0) rc = keras_load(path, &b, &rb, &err);
    CHECK(rc == 0, "interleaved Keras 3 slots: %s", rc ? err.message : "");
    CHECK(rc == 0 && same_state(&a, &b, 1), "interleaved and blocked Keras 3 slots load differently");
    model_free(&a);
    model_free(&b);
}

/* ------------------------------------------------------------------ 5. CLI */

#define COMMON "--data", "synthetic", "--train-clips", "4", "--val-clips", "2", "--batch", "2", \
               "--steps-per-epoch", "2", "--threads", "1", "--no-report"

static void cli_import(const char *nanprobe)
{
    char dir[512], output[8192], text[4096];
    temp_path(dir, sizeof dir, "run_legacy");
    char *full[] = {(char *)nanprobe, "train", "--from-keras", FIXTURES "full_legacy.h5", "--out", dir, "--epochs", "1",
                    COMMON, NULL};
    int status = test_run(full, output, sizeof output);
    CHECK(status == 0, "train --from-keras full_legacy.h5: exit %d\n%s", status, output);
    CHECK(strstr(output, "ResNet3D-18 width 4, 5 classes, clip 8x64x64x3 (from its config)") &&
              strstr(output, "iterations 40") && strstr(output, "learning rate 0.000500000024"),
          "train --from-keras does not say what it took from the file:\n%s", output);
    test_db_list(dir, "SELECT step FROM steps ORDER BY step", text, sizeof text);
    CHECK(strcmp(text, "41,42") == 0, "steps should continue Keras' iterations (41,42), got %s", text);
    test_db_list(dir, "SELECT lr FROM steps ORDER BY step LIMIT 1", text, sizeof text);
    CHECK(fabs(atof(text) - 5e-4) < 1e-10, "the learning rate should come from the file: %s", text);

    temp_path(dir, sizeof dir, "run_weights_only");
    char *weights[] = {(char *)nanprobe, "train", "--from-keras", FIXTURES "weights_only.h5", "--clip", "8x64x64x3",
                       "--out", dir, "--epochs", "1", COMMON, NULL};
    status = test_run(weights, output, sizeof output);
    CHECK(status == 0 && strstr(output, "Adam starts fresh") && strstr(output, "from its weights' shapes"),
          "train --from-keras weights_only.h5: exit %d\n%s", status, output);
    test_db_list(dir, "SELECT step FROM steps ORDER BY step", text, sizeof text);
    CHECK(strcmp(text, "1,2") == 0, "a weights-only start counts from step 1, got %s", text);

    char *k3[] = {(char *)nanprobe, "train", "--from-keras", FIXTURES "resnet.keras", "--out", dir, "--epochs", "1",
                  COMMON, NULL};
    temp_path(dir, sizeof dir, "run_keras3");
    status = test_run(k3, output, sizeof output);
    CHECK(status == 0, "train --from-keras resnet.keras: exit %d\n%s", status, output);

    char *conflict[] = {(char *)nanprobe, "train", "--from-keras", FIXTURES "full_tf211.h5", "--depth", "34", "--out",
                        dir, COMMON, NULL};
    status = test_run(conflict, output, sizeof output);
    CHECK(status == 2 && strstr(output, "--depth 34 does not match"), "--depth against the file: exit %d\n%s", status,
          output);
}

static void cli_hostile(const char *nanprobe)
{
    char dir[512], output[8192], path[512];
    temp_path(path, sizeof path, "cli_truncated.h5");
    test_copy_file(FIXTURES "full_tf211.h5", path, test_file_size(FIXTURES "full_tf211.h5") / 3);
    temp_path(dir, sizeof dir, "run_hostile");
    char *truncated[] = {(char *)nanprobe, "train", "--from-keras", path, "--out", dir, COMMON, NULL};
    int status = test_run(truncated, output, sizeof output);
    CHECK(status == 1 && strstr(output, path) && strstr(output, "truncated"), "truncated file: exit %d\n%s", status,
          output);
    temp_path(path, sizeof path, "no_weights.keras");
    char *zip[] = {(char *)nanprobe, "train", "--from-keras", path, "--out", dir, COMMON, NULL};
    status = test_run(zip, output, sizeof output);
    CHECK(status == 1 && strstr(output, "model.weights.h5"), "zip without weights: exit %d\n%s", status, output);
    temp_path(path, sizeof path, "wrong_shape.h5");
    char *shape[] = {(char *)nanprobe, "train", "--from-keras", path, "--out", dir, COMMON, NULL};
    status = test_run(shape, output, sizeof output);
    CHECK(status == 1 && strstr(output, "conv3d_12/kernel: the file has"), "wrong shape: exit %d\n%s", status, output);

    /* NaN inside the loaded weights: the sentinel names it before any step. */
    hid_t f = edit_copy(FIXTURES "full_tf211.h5", "nan_weight.h5", path, sizeof path);
    int rank;
    hsize_t dims[8];
    size_t count;
    float *kernel = kernel12(&rank, dims, &count);
    if (f >= 0 && kernel) {
        kernel[3] = NAN;
        replace_dataset(f, KERNEL12, H5T_IEEE_F32LE, rank, dims, H5T_NATIVE_FLOAT, kernel);
    }
    if (f >= 0) H5Fclose(f);
    free(kernel);
    temp_path(dir, sizeof dir, "run_nan");
    char *nan_run[] = {(char *)nanprobe, "train", "--from-keras", path, "--out", dir, COMMON, NULL};
    status = test_run(nan_run, output, sizeof output);
    char text[4096];
    CHECK(status == 3 && strstr(output, "kernel of conv3d_12") && strstr(output, "the loaded checkpoint") &&
              strstr(output, "the file holds NaN or Inf: conv3d_12/kernel element 3"),
          "NaN in the loaded weights: exit %d\n%s", status, output);
    test_db_list(dir, "SELECT layer_name || ' ' || tensor || ' ' || value_class || ' ' || element_index FROM first_nan",
                 text, sizeof text);
    CHECK(strcmp(text, "conv3d_12 kernel nan 3") == 0, "first_nan should name conv3d_12's kernel, element 3: %s", text);
    test_db_list(dir, "SELECT COUNT(*) FROM steps", text, sizeof text);
    CHECK(strcmp(text, "0") == 0, "no step may run on NaN weights, %s did", text);
}

/* Training resumed from an exported file is bit-identical to --resume. */
static void cli_resume_equivalence(const char *nanprobe)
{
    char a[512], b[512], file[512], output[8192], ta[4096], tb[4096];
    temp_path(a, sizeof a, "run_a");
    temp_path(b, sizeof b, "run_b");
    temp_path(file, sizeof file, "run_a.h5");
    char *first[] = {(char *)nanprobe, "train", "--from-keras", FIXTURES "full_tf211.h5", "--out", a, "--epochs", "1",
                     COMMON, NULL};
    int status = test_run(first, output, sizeof output);
    CHECK(status == 0, "run A: exit %d\n%s", status, output);
    char *exported[] = {(char *)nanprobe, "export-keras", a, "-o", file, "--optimizer", NULL};
    status = test_run(exported, output, sizeof output);
    CHECK(status == 0 && strstr(output, "with Adam's state"), "export-keras: exit %d\n%s", status, output);
    char *resumed[] = {(char *)nanprobe, "train", "--resume", a, "--epochs", "2", "--quiet", NULL};
    status = test_run(resumed, output, sizeof output);
    CHECK(status == 0, "--resume A: exit %d\n%s", status, output);
    char *again[] = {(char *)nanprobe, "train", "--from-keras", file, "--initial-epoch", "1", "--out", b, "--epochs",
                     "2", COMMON, NULL};
    status = test_run(again, output, sizeof output);
    CHECK(status == 0, "run B from the export: exit %d\n%s", status, output);
    test_db_list(a, "SELECT data_loss FROM steps WHERE step > 42 ORDER BY step", ta, sizeof ta);
    test_db_list(b, "SELECT data_loss FROM steps ORDER BY step", tb, sizeof tb);
    CHECK(ta[0] && strcmp(ta, tb) == 0, "losses after the export differ: --resume %s, --from-keras %s", ta, tb);
    /* And the weights, moving statistics and Adam state at the end. */
    char fa[512], fb[512];
    temp_path(fa, sizeof fa, "end_a.h5");
    temp_path(fb, sizeof fb, "end_b.h5");
    char *ea[] = {(char *)nanprobe, "export-keras", a, "-o", fa, "--optimizer", NULL};
    char *eb[] = {(char *)nanprobe, "export-keras", b, "-o", fb, "--optimizer", NULL};
    CHECK(test_run(ea, output, sizeof output) == 0 && test_run(eb, output, sizeof output) == 0,
          "export at the end failed");
    model ma, mb;
    error err;
    keras_load_result ra, rb;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    if (model_build(&ma, &fixture_model, &err) == 0 && model_build(&mb, &fixture_model, &err) == 0) {
        int rc = keras_load(fa, &ma, &ra, &err) || keras_load(fb, &mb, &rb, &err);
        CHECK(rc == 0 && same_state(&ma, &mb, 1) && ra.info.iterations == rb.info.iterations,
              "the state after --resume and after --from-keras differ (t %ld vs %ld)", ra.info.iterations,
              rb.info.iterations);
        model_free(&ma);
        model_free(&mb);
    }
}

static void test_cli(const char *nanprobe)
{
    cli_import(nanprobe);
    cli_hostile(nanprobe);
    cli_resume_equivalence(nanprobe);
}

int main(int argc, char **argv)
{
    omp_set_num_threads(1);
    openblas_set_num_threads(1);
    if (test_temp_dir(temp_dir, sizeof temp_dir, "keras")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    reference r;
    if (reference_open(&r) == 0) test_import(&r);
    test_order();
    test_round_trip();
    test_keras3_interleaved();
    test_round_trip_deep();
    printf("hostile files:\n");
    hostile_layers();
    hostile_values();
    hostile_files();
    wrong_model();
    test_cli(test_binary(argc, argv));
    reference_close(&r);
    test_remove_tree(temp_dir);
    return test_finish();
}
