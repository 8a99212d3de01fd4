/* test_keras_real.c: nanprobe against files and numbers made by real Keras
 * (tensorflow-cpu 2.21, tf_keras 2.21, Keras 3.15), which
 * tools/keras_reference.py wrote into tests/keras/real/ (make reference-tf;
 * manifest.json describes every file).  make check-tf runs this same
 * program on a folder made live (NANPROBE_KERAS_REAL=DIR).
 * NANPROBE_VERBOSE=1 prints each variable's error after the round trip's step.
 *
 * 1. Summary: `nanprobe summary` against the seed's Resnet3DBuilder run by
 *    tf_keras, depths 18/34/50/101/152 at widths 64 and 2: every row of
 *    model.summary() (layer name, class, output shape, parameter count, in
 *    model.layers order) and the trainable / non-trainable totals, exactly.
 * 2. Files: tf_keras model.save() .h5 with the current and the legacy Adam,
 *    save_weights() .h5, ModelCheckpoint's file of each epoch, Keras 3
 *    .keras and .weights.h5.  Each loads; every variable (model.weights
 *    order) and every Adam slot (model.trainable_variables order) is bit for
 *    bit the one Keras held (FNV-1a 64 of its float32 words, computed by the
 *    generator from the live variables, not from the file), iterations too.
 * 3. Loss on the stored batch against Keras' own: inference-mode and
 *    training-mode categorical cross-entropy, and the L2 term.  Tolerance:
 *    relative 2e-6 for the data losses and 1e-6 for L2.  Why: the loss
 *    of a float32 forward pass differs between two correct float32
 *    implementations by the rounding of its sums (the convolutions here sum
 *    at most 7*7*7*3 = 1029 products, the softmax a few terms); measured
 *    differences are below 4e-7 (printed), float32's epsilon is 1.2e-7, and
 *    a wrong weight, order or moving statistic moves the loss by 1e-3 or
 *    more.  The L2 sum (34k squares) differs only by summation order.
 * 4. The way back: nanprobe_export.h5, written by export-keras --optimizer
 *    after one nanprobe step from tfk_adam.h5.  The generator required
 *    tf_keras load_model() to keep Adam (t and every slot bit for bit) and
 *    load_weights() by name and by order (tf_keras, Keras 3) to restore
 *    every weight bit for bit; here the recorded checks must say so, the
 *    loss after load_model() must match nanprobe's on the same file, and one
 *    more nanprobe step must match Keras' train_on_batch(): the loss, and
 *    per variable max|ours - Keras| / max|Keras| of the update (trainable)
 *    or of the moving statistic.  The yardstick is Keras' own float32 noise:
 *    the generator ran the step twice, on the 4 clips in order and permuted
 *    (the same step in exact arithmetic, summed in another order; TF's CPU
 *    MaxPool3D has no float64 to compare with), and stored that difference
 *    per variable.  Tolerance per variable: 10 x max(its noise, the largest
 *    noise among the variables of its kind: kernels, biases, gammas, ...),
 *    the kind because one permutation leaves some variables' sums
 *    bit-identical by chance (most gammas: noise 0).  Adam divides m' = 0.9 m + 0.1 g by sqrt(v'), so where g
 *    is pure rounding noise the update is too: every conv bias here feeds
 *    the loss only through BatchNormalization, which removes per-channel
 *    constants, so its true gradient is 0 and Keras' own float32 update of
 *    it is O(1) wrong; the rule above covers them without a special case.
 * 5. Trajectory: nanprobe train from traj/init.h5 on the traj .npy files against
 *    Keras' model.fit from the same start on the same batches (the
 *    generator fed Keras the sample ids nanprobe drew; here they must still
 *    be the ones nanprobe draws): the loss of every step, val_loss and the
 *    learning rate of every epoch, the epoch EarlyStopping ends on, and at
 *    the end every weight, moving statistic and Adam slot.  The yardstick
 *    is Keras' own float32 spread: the same fit with every batch's clips
 *    reversed (identical math, other summation order) drifts from the
 *    in-order fit by 2e-7 at step 1 and 3e-5 by step 18 here; at width 4
 *    over 48 steps it reached 1e-1 (docs/keras-reference.md: rounding
 *    differences grow through the steps).  nanprobe must stay
 *    within SPREAD_FACTOR times that spread (running maximum over the steps
 *    so far, floor 1e-6) at every step, and per final variable within
 *    SPREAD_FACTOR times the spread of its kind; the learning rates must be
 *    equal (float32) and EarlyStopping must end both on the same epoch.
 *    Why 3: one reversal is a single sample of Keras' spread, and nanprobe's
 *    summation order (OpenBLAS' GEMM blocking, its own reductions) differs
 *    from TensorFlow's (oneDNN) more than a reversed batch differs from the
 *    original; measured worst 2.5x in the width-4 run, 0.47 of the
 *    tolerance here (printed).  A wrong learning rate, batch
 *    or update rule puts the loss off by far more from the first steps on,
 *    where the spread is 1e-6. */
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keras.h"
#include "keras_h5.h"
#include "keras_order.h"
#include "loss.h"
#include "model.h"
#include "optimizer.h"
#include "test_util.h"
#include "test_db.h"

#define DATA_LOSS_TOLERANCE 2e-6
#define L2_TOLERANCE 1e-6

static char dir[1024];

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

/* ------------------------------------------------------------ 1. summary */

/* "1,234" -> 1234 */
static long parse_count(const char *s)
{
    long v = 0;
    for (; *s && *s != ' '; s++)
        if (*s >= '0' && *s <= '9') v = v * 10 + (*s - '0');
    return v;
}

/* One row of `nanprobe summary`: " name (Class) path (None, a, b) count inputs". */
static int parse_row(const char *line, char *name, char *cls, int *dims, int *rank, long *count)
{
    if (sscanf(line, " %127s (%63[^)])", name, cls) != 2) return 0;
    const char *shape = strstr(line, "(None");
    if (!shape) return 0;
    shape += 5;
    *rank = 0;
    while (*shape == ',' && *rank < 5) dims[(*rank)++] = (int)strtol(shape + 1, (char **)&shape, 10);
    if (*shape != ')') return 0;
    *count = parse_count(shape + 1 + strspn(shape + 1, " "));
    return 1;
}

static void check_summary_case(const char *nanprobe, json_t *c)
{
    int depth = (int)json_integer_value(json_object_get(c, "depth"));
    int width = (int)json_integer_value(json_object_get(c, "width"));
    json_t *clip = json_object_get(c, "clip"), *rows = json_object_get(c, "layers");
    char a_depth[16], a_width[16], a_clip[64], a_classes[16];
    snprintf(a_depth, sizeof a_depth, "%d", depth);
    snprintf(a_width, sizeof a_width, "%d", width);
    snprintf(a_clip, sizeof a_clip, "%dx%dx%dx%d", (int)json_integer_value(json_array_get(clip, 0)),
             (int)json_integer_value(json_array_get(clip, 1)), (int)json_integer_value(json_array_get(clip, 2)),
             (int)json_integer_value(json_array_get(clip, 3)));
    snprintf(a_classes, sizeof a_classes, "%d", (int)json_integer_value(json_object_get(c, "classes")));
    static char output[1 << 20];
    int rc = test_run_args(nanprobe, output, sizeof output, "summary", "--depth", a_depth, "--width", a_width,
                           "--clip", a_clip, "--classes", a_classes, NULL);
    CHECK(rc == 0, "nanprobe summary --depth %d --width %d: exit %d", depth, width, rc);
    char *line = strstr(output, "Connected to");
    line = line ? strchr(line, '\n') : NULL;
    line = line ? strchr(line + 1, '\n') : NULL; /* past the rule */
    size_t row = 0, mismatches = 0;
    while (line && line[1] == ' ') {
        char name[128], cls[64];
        int dims[5], rank;
        long count;
        json_t *k = json_array_get(rows, row);
        if (!parse_row(line + 1, name, cls, dims, &rank, &count) || !k) break;
        json_t *kshape = json_array_get(k, 2);
        int same = strcmp(name, json_string_value(json_array_get(k, 0))) == 0 &&
                   strcmp(cls, json_string_value(json_array_get(k, 1))) == 0 &&
                   (size_t)rank == json_array_size(kshape) && count == json_integer_value(json_array_get(k, 3));
        for (int a = 0; same && a < rank; a++) same = dims[a] == json_integer_value(json_array_get(kshape, a));
        if (!same && mismatches++ == 0)
            CHECK(0, "ResNet3D-%d width %d row %zu: nanprobe '%s (%s)' %ld params, Keras '%s (%s)' %lld params",
                  depth, width, row, name, cls, count, json_string_value(json_array_get(k, 0)),
                  json_string_value(json_array_get(k, 1)), json_integer_value(json_array_get(k, 3)));
        row++;
        line = strchr(line + 1, '\n');
    }
    CHECK(mismatches == 0 && row == json_array_size(rows), "ResNet3D-%d width %d: %zu of %zu rows read, %zu differ",
          depth, width, row, json_array_size(rows), mismatches);
    const char *t = strstr(output, "Trainable params: "), *n = strstr(output, "Non-trainable params: ");
    CHECK(t && n && parse_count(t + 18) == json_integer_value(json_object_get(c, "trainable")) &&
              parse_count(n + 22) == json_integer_value(json_object_get(c, "non_trainable")),
          "ResNet3D-%d width %d: parameter totals differ from model.summary()'s", depth, width);
}

static void test_summary(const char *nanprobe, json_t *manifest)
{
    json_t *cases = json_object_get(manifest, "summary");
    CHECK(json_array_size(cases) == 10, "manifest: %zu summary cases, expected 10", json_array_size(cases));
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) check_summary_case(nanprobe, c);
    printf("summary: %zu models against tf_keras model.summary()\n", json_array_size(cases));
}

/* --------------------------------------------------------------- 2. files */

static unsigned long long fnv_words(const float *data, size_t count)
{
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < count; i++) {
        unsigned int w;
        memcpy(&w, &data[i], sizeof w);
        h = (h ^ w) * 0x100000001b3ULL;
    }
    return h;
}

static int same_checksum(const float *data, size_t count, json_t *expected)
{
    char text[17];
    snprintf(text, sizeof text, "%016llx", fnv_words(data, count));
    return expected && strcmp(text, json_string_value(expected)) == 0;
}

/* Values in one clip of a model, or of the manifest's clip array. */
static size_t model_clip_values(const model *m)
{
    return (size_t)m->config.clip[0] * m->config.clip[1] * m->config.clip[2] * m->config.clip[3];
}

static size_t manifest_clip_values(json_t *files)
{
    size_t n = 1;
    for (int a = 0; a < 4; a++) n *= (size_t)json_integer_value(json_array_get(json_object_get(files, "clip"), a));
    return n;
}

typedef struct batch {
    float *input;
    int *labels;
    int count;
} batch;

static int batch_read(const char *path, const char *prefix, int count, size_t clip_values, batch *b)
{
    error err;
    hid_t f = keras_h5_open(path, path, &err);
    size_t n = (size_t)count * clip_values;
    unsigned char *pixels = malloc(n);
    b->input = malloc(sizeof(float) * n);
    b->labels = malloc(sizeof(int) * (size_t)count);
    b->count = count;
    char pixels_name[32], labels_name[32];
    snprintf(pixels_name, sizeof pixels_name, "%spixels", prefix);
    snprintf(labels_name, sizeof labels_name, "%slabels", prefix);
    hid_t p = f >= 0 ? H5Dopen2(f, pixels_name, H5P_DEFAULT) : -1, l = f >= 0 ? H5Dopen2(f, labels_name, H5P_DEFAULT) : -1;
    int ok = pixels && b->input && b->labels && p >= 0 && l >= 0 &&
             H5Dread(p, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels) >= 0 &&
             H5Dread(l, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, b->labels) >= 0;
    /* --normalize scale: float32(pixel) / 255, correctly rounded on both sides. */
    for (size_t i = 0; ok && i < n; i++) b->input[i] = (float)pixels[i] / 255.0f;
    if (p >= 0) H5Dclose(p);
    if (l >= 0) H5Dclose(l);
    if (f >= 0) keras_h5_close(f);
    free(pixels);
    CHECK(ok, "%s: the batch cannot be read", path);
    return ok ? 0 : -1;
}

static void batch_free(batch *b)
{
    free(b->input);
    free(b->labels);
}

/* Every variable in model.weights order, and m, v over the trainable ones. */
static void check_tensors(const char *file, const model *m, json_t *entry, long iterations)
{
    int *order = malloc(sizeof(int) * (size_t)m->layer_count);
    if (!order || keras_layer_order(m, order)) {
        CHECK(0, "out of memory");
        free(order);
        return;
    }
    json_t *weights = json_object_get(entry, "weights"), *opt = json_object_get(entry, "optimizer");
    size_t k = 0, trainable = 0, differ = 0, slots_differ = 0;
    for (int i = 0; i < m->layer_count; i++) {
        const layer *l = &m->layers[order[i]];
        for (int j = 0; j < l->param_count; j++, k++) {
            const parameter *p = &m->params[l->first_param + j];
            json_t *w = json_array_get(weights, k);
            if (!same_checksum(p->value.data, p->value.count, json_array_get(w, 2)) && differ++ == 0)
                CHECK(0, "%s: %s differs from Keras' %s", file, p->name, json_string_value(json_array_get(w, 0)));
            if (!p->trainable || !opt) continue;
            if (!same_checksum(p->adam_m, p->value.count, json_array_get(json_object_get(opt, "m"), trainable)) ||
                !same_checksum(p->adam_v, p->value.count, json_array_get(json_object_get(opt, "v"), trainable)))
                if (slots_differ++ == 0) CHECK(0, "%s: Adam m or v of %s differs from Keras'", file, p->name);
            trainable++;
        }
    }
    CHECK(k == json_array_size(weights) && differ == 0, "%s: %zu of %zu variables differ (%zu in the file)", file,
          differ, k, json_array_size(weights));
    if (opt)
        CHECK(slots_differ == 0 && trainable == json_array_size(json_object_get(opt, "m")) &&
                  iterations == json_integer_value(json_object_get(opt, "iterations")),
              "%s: Adam state: %zu slots differ, iterations %ld (Keras %lld)", file, slots_differ, iterations,
              json_integer_value(json_object_get(opt, "iterations")));
    free(order);
}

static double worst_loss_error;

static void check_loss(const char *file, model *m, const batch *b, double l2, json_t *loss)
{
    const int classes = m->config.classes;
    const size_t clip = model_clip_values(m);
    memcpy(model_input(m), b->input, sizeof(float) * (size_t)b->count * clip);
    const char *names[2] = {"infer_data", "train_data"};
    for (int training = 0; training < 2; training++) {
        model_forward(m, training);
        loss_result r = loss_from_logits(b->count, classes, model_logits(m), b->labels, model_logits_gradient(m));
        double keras = json_real_value(json_object_get(loss, names[training]));
        double relative = fabs(r.loss - keras) / fabs(keras);
        if (relative > worst_loss_error) worst_loss_error = relative;
        CHECK(relative <= DATA_LOSS_TOLERANCE, "%s: %s loss %.9g, Keras %.9g (relative %.2e)", file, names[training],
              r.loss, keras, relative);
    }
    double penalty = model_l2_penalty(m, (float)l2), keras = json_real_value(json_object_get(loss, "l2"));
    CHECK(fabs(penalty - keras) <= L2_TOLERANCE * keras, "%s: L2 term %.9g, Keras %.9g", file, penalty, keras);
}

static void check_file(json_t *files, json_t *entry, const batch *b)
{
    const char *name = json_string_value(json_object_get(entry, "file"));
    char path[1200];
    path_in(path, sizeof path, name);
    error err;
    keras_model_info info;
    int rc = keras_inspect(path, &info, &err);
    CHECK(rc == 0, "keras_inspect %s: %s", name, rc ? err.message : "");
    if (rc) return;
    json_t *clip = json_object_get(files, "clip");
    model_config config = {.depth = info.depth, .width = info.width, .classes = info.classes, .batch = b->count,
                           .threads = 1};
    for (int a = 0; a < 4; a++) config.clip[a] = (int)json_integer_value(json_array_get(clip, a));
    CHECK(info.depth == json_integer_value(json_object_get(files, "depth")) &&
              info.width == json_integer_value(json_object_get(files, "width")) &&
              info.classes == json_integer_value(json_object_get(files, "classes")) &&
              info.has_optimizer == (json_object_get(entry, "optimizer") != NULL),
          "%s: inferred depth %d width %d classes %d optimizer %d", name, info.depth, info.width, info.classes,
          info.has_optimizer);
    if (info.has_clip)
        CHECK(memcmp(info.clip, config.clip, sizeof config.clip) == 0, "%s: clip %dx%dx%d from its config", name,
              info.clip[0], info.clip[1], info.clip[2]);
    model m;
    if (model_build(&m, &config, &err)) {
        CHECK(0, "model_build: %s", err.message);
        return;
    }
    keras_load_result result;
    rc = keras_load(path, &m, &result, &err);
    CHECK(rc == 0, "keras_load %s: %s", name, rc ? err.message : "");
    if (rc == 0) {
        CHECK(result.converted == 0, "%s: %d variables converted", name, result.converted);
        check_tensors(name, &m, entry, result.info.iterations);
        check_loss(name, &m, b, json_real_value(json_object_get(files, "l2")), json_object_get(entry, "loss"));
    }
    model_free(&m);
}

static void test_files(json_t *manifest)
{
    json_t *files = json_object_get(manifest, "files"), *list = json_object_get(files, "files");
    CHECK(json_array_size(list) >= 7, "manifest: %zu files, expected 7", json_array_size(list));
    size_t clip_values = manifest_clip_values(files);
    char path[1200];
    path_in(path, sizeof path, json_string_value(json_object_get(files, "batch_file")));
    batch b;
    if (batch_read(path, "", (int)json_integer_value(json_object_get(files, "batch")), clip_values, &b)) return;
    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry) check_file(files, entry, &b);
    batch_free(&b);
    printf("files: %zu real Keras files bit for bit; loss vs Keras: worst relative %.2e (tolerance %.0e)\n",
           json_array_size(list), worst_loss_error, DATA_LOSS_TOLERANCE);
}

#define CONDITIONING 10.0

static double normwise(const float *ours, const float *ref, size_t n)
{
    double worst = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ours[i])) return INFINITY;
        if (fabs((double)ours[i] - ref[i]) > worst) worst = fabs((double)ours[i] - ref[i]);
        if (fabs((double)ref[i]) > scale) scale = fabs((double)ref[i]);
    }
    return scale > 0 ? worst / scale : worst;
}

static double float32_error(hid_t f, const char *dataset)
{
    double v = NAN;
    hid_t a = H5Aopen_by_name(f, dataset, "float32_error", H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_DOUBLE, &v);
        H5Aclose(a);
    }
    CHECK(isfinite(v), "roundtrip_step.h5 %s: no float32_error", dataset);
    return isfinite(v) ? v : 0.0;
}

/* The model's parameters in model.weights order (Keras' layer order). */
static int *weights_order(const model *m)
{
    int *order = malloc(sizeof(int) * (size_t)m->layer_count), *params = malloc(sizeof(int) * (size_t)m->param_count);
    int ok = order && params && keras_layer_order(m, order) == 0, k = 0;
    for (int i = 0; ok && i < m->layer_count; i++)
        for (int j = 0; j < m->layers[order[i]].param_count; j++) params[k++] = m->layers[order[i]].first_param + j;
    free(order);
    if (!ok) free(params);
    return ok ? params : NULL;
}

/* Every variable after one step against roundtrip_step.h5; returns the
 * worst error / tolerance. */
static double compare_step(const model *m, float **before, int *noise_driven)
{
    char path[1200];
    path_in(path, sizeof path, "roundtrip_step.h5");
    error err;
    hid_t f = keras_h5_open(path, path, &err);
    CHECK(f >= 0, "%s", f < 0 ? err.message : "");
    int *params = f >= 0 ? weights_order(m) : NULL;
    double *noise = malloc(sizeof(double) * (size_t)m->param_count), role_noise[PARAM_MOVING_VARIANCE + 1] = {0}, worst = 0.0;
    for (int k = 0; params && noise && k < m->param_count; k++) {
        char name[16];
        snprintf(name, sizeof name, "%03d", k);
        noise[k] = float32_error(f, name);
        parameter_role role = m->params[params[k]].role;
        role_noise[role] = fmax(role_noise[role], noise[k]);
    }
    for (int k = 0; params && noise && k < m->param_count; k++) {
        const parameter *p = &m->params[params[k]];
        float *keras = malloc(sizeof(float) * p->value.count), *ours = malloc(sizeof(float) * p->value.count);
        char name[16];
        int converted;
        snprintf(name, sizeof name, "%03d", k);
        int rc = keras_h5_read_floats(f, name, path, name, keras, p->value.count, &converted, &err);
        CHECK(rc == 0, "%s", rc ? err.message : "");
        for (size_t e = 0; rc == 0 && e < p->value.count; e++) {
            int delta = p->trainable; /* compare the update, not the weight it is added to */
            ours[e] = delta ? p->value.data[e] - before[params[k]][e] : p->value.data[e];
            keras[e] = delta ? keras[e] - before[params[k]][e] : keras[e];
        }
        double d = rc ? INFINITY : normwise(ours, keras, p->value.count);
        double tolerance = CONDITIONING * fmax(noise[k], role_noise[p->role]);
        if (getenv("NANPROBE_VERBOSE")) printf("  %-32s %.3e  Keras float32 %.3e\n", p->name, d, noise[k]);
        if (noise[k] > 1e-2) (*noise_driven)++;
        if (d / tolerance > worst) worst = d / tolerance;
        CHECK(d <= tolerance, "one step: %s differs from Keras' by %.2e (Keras' float32 noise %.2e, of its kind %.2e)",
              p->name, d, noise[k], role_noise[p->role]);
        free(keras);
        free(ours);
    }
    CHECK(params && noise, "roundtrip_step.h5 unusable");
    free(params);
    free(noise);
    keras_h5_close(f);
    return worst;
}

static void one_more_step(model *m, const batch *b, json_t *trip, double l2)
{
    const size_t clip = model_clip_values(m);
    float **before = calloc((size_t)m->param_count, sizeof(float *));
    for (int i = 0; before && i < m->param_count; i++) {
        before[i] = malloc(sizeof(float) * m->params[i].value.count);
        memcpy(before[i], m->params[i].value.data, sizeof(float) * m->params[i].value.count);
    }
    memcpy(model_input(m), b->input, sizeof(float) * (size_t)b->count * clip);
    model_forward(m, 1);
    loss_result r = loss_from_logits(b->count, m->config.classes, model_logits(m), b->labels, model_logits_gradient(m));
    double total = r.loss + model_l2_penalty(m, (float)l2), keras = json_real_value(json_object_get(trip, "step_loss"));
    CHECK(fabs(total - keras) <= DATA_LOSS_TOLERANCE * fabs(keras), "one step: loss %.9g, Keras' train_on_batch %.9g",
          total, keras);
    model_backward(m);
    adam_config adam = ADAM_KERAS_DEFAULTS;
    long t = (long)json_integer_value(json_object_get(trip, "iterations_after"));
    optimizer_step(m, &adam, (float)json_real_value(json_object_get(trip, "learning_rate")), t, (float)l2, NULL);
    int noise_driven = 0;
    double worst = compare_step(m, before, &noise_driven);
    printf("the way back: one more step vs Keras' train_on_batch: loss relative %.2e, worst variable error / "
           "tolerance %.2f (%d variables whose Keras float32 error exceeds 1e-2: the conv biases)\n",
           fabs(total - keras) / fabs(keras), worst, noise_driven);
    for (int i = 0; before && i < m->param_count; i++) free(before[i]);
    free(before);
}

/* The optimizer_weights names of a file (count 0 when unreadable). */
static string_array optimizer_names(const char *path)
{
    string_array names = {0};
    error err;
    hid_t f = keras_h5_open(path, path, &err);
    hid_t g = f >= 0 ? H5Gopen2(f, "optimizer_weights", H5P_DEFAULT) : -1;
    if (g < 0 || keras_h5_read_strings(g, "weight_names", path, "optimizer_weights", &names, &err))
        names.count = 0;
    if (g >= 0) H5Gclose(g);
    if (f >= 0) keras_h5_close(f);
    return names;
}

/* export-keras today writes the optimizer layout that real Keras accepted
 * when the fixture was made: the same names in the same order. */
static void check_export_layout(model *m, const char *accepted, const keras_load_result *loaded)
{
    char path[1300];
    snprintf(path, sizeof path, "/tmp/nanprobe-keras-real-%d.h5", (int)getpid());
    keras_export_options o = {.with_optimizer = 1, .iterations = loaded->info.iterations,
                              .learning_rate = (float)loaded->info.learning_rate, .l2 = 1e-4};
    error err;
    int rc = keras_export(path, m, &o, &err);
    CHECK(rc == 0, "keras_export: %s", rc ? err.message : "");
    string_array ours = optimizer_names(path), keras = optimizer_names(accepted);
    int trainable = 0;
    for (int i = 0; i < m->param_count; i++) trainable += m->params[i].trainable;
    int same = ours.count > 0 && ours.count == keras.count && ours.count == 1 + 2 * trainable;
    for (int i = 0; same && i < ours.count; i++) same = strcmp(ours.items[i], keras.items[i]) == 0;
    CHECK(same, "export-keras writes %d optimizer variables (first '%s'); Keras accepted %d", ours.count,
          ours.count ? ours.items[0] : "", keras.count);
    string_array_free(&ours);
    string_array_free(&keras);
    remove(path);
}

static void test_roundtrip(json_t *manifest)
{
    json_t *trip = json_object_get(manifest, "roundtrip"), *files = json_object_get(manifest, "files");
    json_t *checks = json_object_get(trip, "checks");
    const char *required[] = {"tf_keras_load_weights_by_order", "tf_keras_load_weights_by_name",
                              "keras3_load_weights_by_order", "keras3_load_weights_by_name"};
    for (int i = 0; i < 4; i++)
        CHECK(json_is_true(json_object_get(checks, required[i])), "roundtrip: Keras recorded %s false", required[i]);
    CHECK(json_integer_value(json_object_get(json_object_get(trip, "tf_keras_load_model"), "iterations")) > 0,
          "roundtrip: tf_keras load_model did not keep Adam's iterations");
    json_t *clip = json_object_get(files, "clip");
    size_t clip_values = manifest_clip_values(files);
    char path[1200];
    path_in(path, sizeof path, json_string_value(json_object_get(files, "batch_file")));
    batch b[2]; /* the loss on the fixed batch; the step on all 4 clips */
    const int count = (int)json_integer_value(json_object_get(files, "batch"));
    if (batch_read(path, "", count, clip_values, &b[0])) return;
    if (batch_read(path, "step_", 2 * count, clip_values, &b[1])) {
        batch_free(&b[0]);
        return;
    }
    path_in(path, sizeof path, json_string_value(json_object_get(trip, "file")));
    model_config config = {.depth = 18, .classes = 5, .threads = 1};
    config.width = (int)json_integer_value(json_object_get(files, "width"));
    for (int a = 0; a < 4; a++) config.clip[a] = (int)json_integer_value(json_array_get(clip, a));
    double l2 = json_real_value(json_object_get(files, "l2"));
    for (int pass = 0; pass < 2; pass++) {
        model m;
        error err;
        keras_load_result result;
        config.batch = b[pass].count;
        if (model_build(&m, &config, &err)) {
            CHECK(0, "model_build: %s", err.message);
            break;
        }
        int rc = keras_load(path, &m, &result, &err);
        CHECK(rc == 0, "%s: %s", path, rc ? err.message : "");
        if (rc == 0 && pass == 0) check_loss("nanprobe_export.h5", &m, &b[0], l2, json_object_get(trip, "loss"));
        if (rc == 0 && pass == 0) check_export_layout(&m, path, &result);
        if (rc == 0 && pass == 1) one_more_step(&m, &b[1], trip, l2);
        model_free(&m);
    }
    batch_free(&b[1]);
    batch_free(&b[0]);
}

#define SPREAD_FACTOR 3.0

/* Keras' relative spread up to each point (a running maximum: noise, once
 * there, does not go away), with a floor of 1e-6. */
static double running_spread(json_t *noise, size_t upto)
{
    double worst = 1e-6;
    for (size_t i = 0; i <= upto && i < json_array_size(noise); i++)
        worst = fmax(worst, json_real_value(json_array_get(noise, i)));
    return SPREAD_FACTOR * worst;
}

/* Column c of line i of test_db_rows' output, as a double. */
static double db_value(const char *rows, int line, int column)
{
    for (int i = 0; i < line && rows; i++) rows = strchr(rows, '\n') ? strchr(rows, '\n') + 1 : NULL;
    for (int c = 0; c < column && rows; c++) rows = strchr(rows, '|') ? strchr(rows, '|') + 1 : NULL;
    return rows ? strtod(rows, NULL) : NAN;
}

static void compare_series(const char *what, const char *rows, int count, int column, json_t *keras, json_t *noise,
                           double *worst)
{
    for (int i = 0; i < count; i++) {
        double ours = db_value(rows, i, column), ref = json_real_value(json_array_get(keras, (size_t)i));
        double d = fabs(ours - ref) / fabs(ref), tolerance = running_spread(noise, (size_t)i);
        if (d > worst[0]) worst[0] = d;
        if (d / tolerance > worst[1]) worst[1] = d / tolerance;
        CHECK(d <= tolerance, "trajectory: %s %d: nanprobe %.9g, Keras %.9g (relative %.2e, Keras' spread %.2e)",
              what, i + 1, ours, ref, d, tolerance);
    }
}

static int load_state(const char *path, const model_config *config, model *m)
{
    error err;
    keras_load_result result;
    if (model_build(m, config, &err)) {
        CHECK(0, "model_build: %s", err.message);
        return -1;
    }
    int rc = keras_load(path, m, &result, &err);
    CHECK(rc == 0, "%s: %s", path, rc ? err.message : "");
    if (rc) model_free(m);
    return rc;
}

/* Every variable and Adam slot at the end, within Keras' spread of its kind. */
static double compare_final(const char *ours_path, const char *keras_path, const model_config *config, json_t *trip)
{
    model a, b;
    if (load_state(ours_path, config, &a)) return INFINITY;
    if (load_state(keras_path, config, &b)) {
        model_free(&a);
        return INFINITY;
    }
    int *params = weights_order(&a);
    const char *keys[3] = {"final_noise", "m_noise", "v_noise"};
    double worst = 0.0;
    for (int which = 0; params && which < 3; which++) {
        json_t *noise = json_object_get(trip, keys[which]);
        double kind[PARAM_MOVING_VARIANCE + 1] = {0};
        for (int pass = 0, t = 0; pass < 2; pass++, t = 0)
            for (int k = 0; k < a.param_count; k++) {
                const parameter *p = &a.params[params[k]], *q = &b.params[params[k]];
                if (which && !p->trainable) continue;
                double n = json_real_value(json_array_get(noise, (size_t)(which ? t++ : k)));
                if (pass == 0) {
                    kind[p->role] = fmax(kind[p->role], n);
                    continue;
                }
                const float *x = which == 0 ? p->value.data : which == 1 ? p->adam_m : p->adam_v;
                const float *y = which == 0 ? q->value.data : which == 1 ? q->adam_m : q->adam_v;
                double d = normwise(x, y, p->value.count), tolerance = SPREAD_FACTOR * fmax(1e-6, fmax(n, kind[p->role]));
                if (d / tolerance > worst) worst = d / tolerance;
                CHECK(d <= tolerance, "trajectory: final %s of %s differs by %.2e (Keras' spread %.2e)",
                      which == 0 ? "value" : which == 1 ? "Adam m" : "Adam v", p->name, d, tolerance);
            }
    }
    free(params);
    model_free(&a);
    model_free(&b);
    return worst;
}

static void test_trajectory(const char *nanprobe, json_t *manifest)
{
    json_t *trip = json_object_get(manifest, "trajectory");
    char data[1200], init[1300], final[1300], run[1400], exported[1500], batch_text[16], epochs[16], patience[16];
    path_in(data, sizeof data, "traj");
    snprintf(init, sizeof init, "%s/init.h5", data);
    snprintf(final, sizeof final, "%s/final.h5", data);
    char temp[128];
    if (test_temp_dir(temp, sizeof temp, "keras-real")) return;
    snprintf(run, sizeof run, "%s/run", temp);
    snprintf(exported, sizeof exported, "%s/final.h5", temp);
    snprintf(batch_text, sizeof batch_text, "%lld", json_integer_value(json_object_get(trip, "batch")));
    snprintf(epochs, sizeof epochs, "%lld", json_integer_value(json_object_get(trip, "epochs")));
    snprintf(patience, sizeof patience, "%lld", json_integer_value(json_object_get(trip, "patience")));
    static char output[1 << 16], steps[1 << 16], epoch_rows[1 << 14];
    int rc = test_run_args(nanprobe, output, sizeof output, "train", "--from-keras", init, "--data", data, "--batch",
                           batch_text, "--epochs", epochs, "--early-stopping", patience, "--threads", "1", "--probes",
                           "off", "--no-report", "--quiet", "--snapshot-every", "0", "--out", run, NULL);
    CHECK(rc == 0, "trajectory: nanprobe train exit %d: %s", rc, output);
    rc = rc ? rc : test_run_args(nanprobe, output, sizeof output, "export-keras", run, "-o", exported, "--optimizer",
                                 NULL);
    int n_steps = test_db_rows(run, "SELECT sample_ids, loss FROM steps ORDER BY step", steps, sizeof steps);
    int n_epochs = test_db_rows(run, "SELECT val_loss, lr FROM epochs ORDER BY epoch", epoch_rows, sizeof epoch_rows);
    json_t *ids = json_object_get(trip, "sample_ids");
    CHECK(rc == 0 && n_steps == (int)json_array_size(ids) &&
              n_epochs == (int)json_array_size(json_object_get(trip, "val_loss")),
          "trajectory: nanprobe ran %d steps, %d epochs; Keras %zu, %zu (EarlyStopping differs?)", n_steps, n_epochs,
          json_array_size(ids), json_array_size(json_object_get(trip, "val_loss")));
    const char *line = steps;
    for (int i = 0; rc == 0 && i < n_steps && line; i++, line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        CHECK(strncmp(line, json_string_value(json_array_get(ids, (size_t)i)),
                      strlen(json_string_value(json_array_get(ids, (size_t)i)))) == 0,
              "trajectory: step %d trains on other clips than Keras was given (nanprobe's shuffle changed? make "
              "reference-tf)", i + 1);
    double worst_loss[2] = {0, 0}, worst_val[2] = {0, 0};
    if (rc == 0 && n_steps == (int)json_array_size(ids)) {
        compare_series("step", steps, n_steps, 1, json_object_get(trip, "loss"), json_object_get(trip, "loss_noise"),
                       worst_loss);
        compare_series("val_loss of epoch", epoch_rows, n_epochs, 0, json_object_get(trip, "val_loss"),
                       json_object_get(trip, "val_noise"), worst_val);
        int lr_changes = 0;
        for (int e = 0; e < n_epochs; e++) {
            float ours = (float)db_value(epoch_rows, e, 1);
            float keras = (float)json_real_value(json_array_get(json_object_get(trip, "lr"), (size_t)e));
            lr_changes += e > 0 && (float)db_value(epoch_rows, e - 1, 1) != ours;
            CHECK(ours == keras, "trajectory: lr after epoch %d: nanprobe %.9g, Keras %.9g", e + 1, ours, keras);
        }
        model_config config = {.depth = 18, .classes = 5, .clip = {8, 32, 32, 3}, .threads = 1};
        config.batch = (int)json_integer_value(json_object_get(trip, "batch"));
        config.width = (int)json_integer_value(json_object_get(trip, "width"));
        double final_ratio = compare_final(exported, final, &config, trip);
        printf("trajectory: %d steps, %d epochs, %d lr changes; loss per step: worst relative %.2e (%.2f of the tolerance"
               "); val_loss: worst %.2e (%.2f); final state: worst %.2f of the tolerance (%.0fx Keras' spread)\n",
               n_steps, n_epochs, lr_changes, worst_loss[0], worst_loss[1], worst_val[0], worst_val[1], final_ratio,
               SPREAD_FACTOR);
    }
    test_remove_tree(temp);
}

int main(int argc, char **argv)
{
    omp_set_num_threads(1);
    const char *from = getenv("NANPROBE_KERAS_REAL");
    snprintf(dir, sizeof dir, "%s", from && *from ? from : "tests/keras/real");
    char path[1200];
    path_in(path, sizeof path, "manifest.json");
    json_error_t jerr;
    json_t *manifest = json_load_file(path, 0, &jerr);
    CHECK(manifest != NULL, "%s: %s", path, jerr.text);
    if (manifest) {
        printf("Keras side from %s (TensorFlow %s, tf_keras %s, Keras %s)\n", dir,
               json_string_value(json_object_get(json_object_get(manifest, "versions"), "tensorflow")),
               json_string_value(json_object_get(json_object_get(manifest, "versions"), "tf_keras")),
               json_string_value(json_object_get(json_object_get(manifest, "versions"), "keras")));
        test_files(manifest);
        test_roundtrip(manifest);
        test_trajectory(test_binary(argc, argv), manifest);
        test_summary(test_binary(argc, argv), manifest);
        json_decref(manifest);
    }
    return test_finish();
}
