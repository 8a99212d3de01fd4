/* test_precision.c: the emulated precisions (train --precision,
 * --bn-variance) on cases whose answer is known in advance.
 *
 *  - float16 overflow: a stem kernel scaled so its outputs pass 65504 goes
 *    inf under mixed_float16, stays finite in float32;
 *  - gradient underflow: a logits gradient of 4e-9 (below float16's
 *    smallest subnormal 2^-24 / 2) flushes every kernel gradient to zero
 *    without a loss scale and survives with 2^15, unscaled within float16
 *    noise of float32's;
 *  - Keras' loss-scale sequence: halve and skip, floor at 1, doubling after
 *    the 2000th finite step in a row; a run with a planted Inf gradient
 *    skips that step, records it, and goes on without a NaN event;
 *  - cancellation: 1 + 2^-12 minus 1 through a Dense layer is 2^-12 in
 *    float32 and 0 in tf32, bfloat16 and float16 (10, 7, 10 mantissa bits);
 *  - one-pass BatchNorm variance: negative on a channel of mean 3000 and
 *    spread 1e-3, while two-pass stays positive; in a run whose stem bias
 *    is 1e4, a NaN whose verdict names the cancellation;
 *  - the float32 path untouched: mixed precision forward agrees with
 *    float32 at float16 noise only where it should. */
#include <hdf5.h>
#include <math.h>
#include <omp.h>

#include "loss_scale.h"
#include "model.h"
#include "model_layer.h"
#include "model_precision.h"
#include "rng.h"
#include "test_db.h"
#include "test_util.h"

static int small_model(model *m, int batch)
{
    model_config c = {.depth = 18, .width = 4, .clip = {4, 8, 8, 2}, .classes = 3, .batch = batch,
                      .threads = omp_get_max_threads()};
    error err = {0};
    if (model_build(m, &c, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    model_init_weights(m, INIT_HE_NORMAL, 7);
    return 0;
}

static void fill_input(model *m, float value)
{
    rng r;
    rng_seed(&r, 11, RNG_STREAM_INIT);
    real *x = model_input(m);
    for (size_t i = 0; i < m->layers[0].output.count; i++) x[i] = value * (float)(0.5 + rng_uniform(&r));
}

static size_t nonfinite_in(const real *x, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(x[i]);
    return bad;
}

static int first_nonfinite_layer(const model *m)
{
    for (int i = 0; i < m->layer_count; i++)
        if (nonfinite_in(m->layers[i].output.data, m->layers[i].output.count)) return i;
    return -1;
}

static void test_float16_overflow(void)
{
    model m;
    if (small_model(&m, 2)) return;
    real *stem = m.params[m.layers[1].first_param].value.data;
    for (size_t i = 0; i < m.params[m.layers[1].first_param].value.count; i++) stem[i] *= 1e5f;
    fill_input(&m, 1.0f);
    model_forward(&m, 1);
    CHECK(first_nonfinite_layer(&m) < 0, "float32: every output finite with the stem scaled by 1e5");
    float largest = 0;
    for (size_t i = 0; i < m.layers[1].output.count; i++)
        largest = fmaxf(largest, fabsf(m.layers[1].output.data[i]));
    CHECK(largest > FLOAT16_MAX, "float32: the stem's output reaches %g > 65504", (double)largest);
    error err = {0};
    CHECK(model_set_precision(&m, PRECISION_MIXED_FLOAT16, &err) == 0, "mixed_float16 set");
    fill_input(&m, 1.0f);
    model_forward(&m, 1);
    CHECK(first_nonfinite_layer(&m) == 1, "mixed_float16: the first non-finite output is the stem conv's (got %d)",
          first_nonfinite_layer(&m));
    model_free(&m);
}

/* Sets the logits' gradient to the same small pattern each time. */
static void small_logits_gradient(model *m)
{
    real *g = model_logits_gradient(m);
    for (size_t i = 0; i < m->layers[m->logits_layer].output.count; i++) g[i] = (i % 2 ? -4e-9f : 4e-9f);
}

static const parameter *kernel_of(const model *m, int layer_index)
{
    return &m->params[m->layers[layer_index].first_param];
}

static size_t nonzero_in(const real *x, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += x[i] != 0.0f;
    return count;
}

/* dK = x^T dy of the Dense layer in double, from its (float16) input and
 * the unscaled logits gradient: what the loss-scaled gradient should be. */
static void exact_dense_gradient(const model *m, double *exact)
{
    const layer *dense = &m->layers[m->logits_layer];
    const real *x = m->layers[dense->inputs[0]].output.data;
    const int in = m->layers[dense->inputs[0]].output.shape[1], out = dense->output.shape[1];
    for (int i = 0; i < in; i++)
        for (int j = 0; j < out; j++) {
            double sum = 0;
            for (int n = 0; n < m->batch; n++) sum += (double)x[n * in + i] * ((n * out + j) % 2 ? -4e-9 : 4e-9);
            exact[i * out + j] = sum;
        }
}

static void test_gradient_underflow(void)
{
    model m;
    if (small_model(&m, 2)) return;
    const parameter *k = kernel_of(&m, m.logits_layer);
    error err = {0};
    model_set_precision(&m, PRECISION_MIXED_FLOAT16, &err);
    fill_input(&m, 1.0f);
    model_forward(&m, 1);
    small_logits_gradient(&m);
    model_precision_scale_logits_gradient(&m, 1.0f);
    model_backward(&m);
    CHECK(nonzero_in(k->gradient, k->value.count) == 0, "mixed_float16 without loss scale: 4e-9 flushes to 0");
    CHECK(nonzero_in(kernel_of(&m, 1)->gradient, kernel_of(&m, 1)->value.count) == 0,
          "mixed_float16 without loss scale: the stem's kernel gradient is all zero too");

    fill_input(&m, 1.0f);
    model_forward(&m, 1);
    small_logits_gradient(&m);
    model_precision_scale_logits_gradient(&m, LOSS_SCALE_INITIAL);
    model_backward(&m);
    CHECK(loss_scale_gradients_finite(&m), "mixed_float16 with 2^15: every gradient finite");
    loss_scale_unscale(&m, LOSS_SCALE_INITIAL);
    double *exact = malloc(k->value.count * sizeof(double)), worst = 0, largest = 0;
    exact_dense_gradient(&m, exact);
    for (size_t i = 0; i < k->value.count; i++) {
        worst = fmax(worst, fabs((double)k->gradient[i] - exact[i]));
        largest = fmax(largest, fabs(exact[i]));
    }
    /* The scaled gradient and the product each rounded to float16's 11
     * significant bits (2^-11 = 4.9e-4 relative): two of those. */
    CHECK(largest > 0 && worst <= 1e-3 * largest,
          "mixed_float16 with 2^15: unscaled Dense kernel gradient within float16 rounding (%g of %g)", worst,
          largest);
    CHECK(nonzero_in(kernel_of(&m, 1)->gradient, kernel_of(&m, 1)->value.count) > 0,
          "mixed_float16 with 2^15: the stem's kernel gradient survives");
    free(exact);
    model_free(&m);
}

static void test_loss_scale_sequence(void)
{
    loss_scale ls;
    loss_scale_init(&ls);
    CHECK(ls.scale == 32768.0f && ls.growth_steps == 2000, "Keras' initial scale 2^15 and growth interval 2000");
    CHECK(loss_scale_update(&ls, 0) == LOSS_SCALE_HALVED && ls.scale == 16384.0f, "non-finite: halved");
    CHECK(loss_scale_update(&ls, 0) == LOSS_SCALE_HALVED && ls.scale == 8192.0f, "non-finite again: halved");
    long grew_at = -1;
    for (long step = 1; step <= 2001 && grew_at < 0; step++)
        if (loss_scale_update(&ls, 1) == LOSS_SCALE_GREW) grew_at = step;
    CHECK(grew_at == 2000 && ls.scale == 16384.0f, "doubled on the 2000th finite step in a row (at %ld)", grew_at);
    loss_scale_update(&ls, 1);
    loss_scale_update(&ls, 0);
    CHECK(ls.counter == 0 && ls.scale == 8192.0f, "a non-finite step resets the counter");
    for (int i = 0; i < 20; i++) loss_scale_update(&ls, 0);
    CHECK(ls.scale == 1.0f, "halving stops at tf.keras' floor of 1 (got %g)", (double)ls.scale);
    CHECK(loss_scale_update(&ls, 0) == LOSS_SCALE_KEPT && ls.scale == 1.0f, "at the floor: skipped, scale kept");
}

/* tests/precision/loss_scale_keras.txt (tools/check_tf_precision.py): the
 * scale after each step of a planted finite / non-finite pattern, as
 * tf_keras' and Keras 3's LossScaleOptimizer moved it. */
static void test_loss_scale_against_keras(void)
{
    FILE *f = fopen("tests/precision/loss_scale_keras.txt", "r");
    CHECK(f != NULL, "the Keras fixture tests/precision/loss_scale_keras.txt is there");
    if (!f) return;
    loss_scale ls;
    loss_scale_init(&ls);
    char line[256];
    int steps = 0, tf_keras_wrong = 0, keras3_compared = 0, keras3_wrong = 0, first_wrong = 0;
    while (fgets(line, sizeof line, f)) {
        long step;
        int finite;
        double tf_keras, keras3;
        if (line[0] == '#' || sscanf(line, "%ld %d %lf %lf", &step, &finite, &tf_keras, &keras3) != 4) continue;
        loss_scale_update(&ls, finite);
        steps++;
        if ((double)ls.scale != tf_keras && !tf_keras_wrong++) first_wrong = (int)step;
        if (keras3 >= 1.0) keras3_compared++, keras3_wrong += (double)ls.scale != keras3;
    }
    fclose(f);
    CHECK(steps == 2030 && tf_keras_wrong == 0, "tf_keras' loss scale, step for step: %d of %d differ (first at %d)",
          tf_keras_wrong, steps, first_wrong);
    CHECK(keras3_compared > 2000 && keras3_wrong == 0, "Keras 3's wherever it is >= 1: %d of %d differ", keras3_wrong,
          keras3_compared);
}

/* tests/precision/forward_keras.txt: tf_keras' validation loss of the
 * model nanprobe trained one (negligible) step under each policy, from its
 * exported weights (tools/check_tf_precision.py).  nanprobe's own val_loss
 * must agree: float32 to 1e-5 relative (summation order only); float16 to
 * 1e-3 (two units in the last place, 2^-11 relative, of the logits the
 * loss is computed from: the engines round in different orders) and
 * bfloat16 to 4e-3 (one unit, 2^-8).  The float32 loss is 8.6e-3 from
 * Keras' bfloat16 one and further from its float16 one than nanprobe's
 * float16 loss is, so a missing emulation fails both. */
static void test_forward_against_keras(const char *binary)
{
    static const struct { const char *policy; double tolerance; } cases[] = {
        {"float32", 1e-5}, {"mixed_float16", 1e-3}, {"mixed_bfloat16", 4e-3}};
    FILE *f = fopen("tests/precision/forward_keras.txt", "r");
    CHECK(f != NULL, "the Keras fixture tests/precision/forward_keras.txt is there");
    if (!f) return;
    char line[512], policies[3][32];
    double keras[3];
    int n = 0;
    while (n < 3 && fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%31s %lf", policies[n], &keras[n]) == 2) n++;
    fclose(f);
    char dir[256], out[300], precision[64], output[8192], rows[256];
    double losses[3] = {0, 0, 0};
    if (test_temp_dir(dir, sizeof dir, "precision")) return;
    for (int i = 0; i < 3; i++) {
        CHECK(i < n && strcmp(policies[i], cases[i].policy) == 0, "fixture row %d is %s", i, cases[i].policy);
        snprintf(out, sizeof out, "--out=%s/%s", dir, cases[i].policy);
        snprintf(precision, sizeof precision, "--precision=%s", cases[i].policy);
        int status = test_run_args(binary, output, sizeof output, "train", "--data=tests/precision", precision, out,
                                   "--depth=18", "--width=4", "--classes=3", "--batch=4", "--normalize=none",
                                   "--train-clips=4", "--val-clips=4", "--epochs=1", "--lr=1e-30", "--l2=0",
                                   "--quiet", "--no-report", (char *)NULL);
        CHECK(status == 0, "%s: the run completes (%d): %s", cases[i].policy, status, output);
        snprintf(out, sizeof out, "%s/%s", dir, cases[i].policy);
        test_db_rows(out, "SELECT val_loss FROM epochs", rows, sizeof rows);
        double mine = atof(rows), relative = fabs(mine - keras[i]) / fabs(keras[i]);
        CHECK(i < n && relative <= cases[i].tolerance, "%s: nanprobe's loss %.9g, Keras' %.9g: %.2g relative > %g",
              cases[i].policy, mine, keras[i], relative, cases[i].tolerance);
        printf("%s: nanprobe %.7g, Keras %.7g, relative difference %.2g\n", cases[i].policy, mine, keras[i], relative);
        losses[i] = mine;
    }
    CHECK(n == 3 && fabs(losses[1] - keras[1]) < fabs(losses[0] - keras[1]),
          "nanprobe's float16 loss is closer to Keras' float16 one (%.7g) than its float32 loss is", keras[1]);
    test_remove_tree(dir);
}

/* The Dense layer alone: its input (1, 1, 0, ...) and a kernel column
 * (1 + 2^-12, -1, 0, ...) give 2^-12 for logit 0. */
static float cancelling_dense(model *m, precision_kind p)
{
    error err = {0};
    model_set_precision(m, p, &err);
    layer *dense = &m->layers[m->logits_layer];
    real *x = m->layers[dense->inputs[0]].output.data;
    const int in = m->layers[dense->inputs[0]].output.shape[1], out = dense->output.shape[1];
    parameter *k = &m->params[dense->first_param], *b = &m->params[dense->first_param + 1];
    memset(x, 0, sizeof(real) * (size_t)in * (size_t)m->batch);
    memset(k->value.data, 0, sizeof(real) * k->value.count);
    memset(b->value.data, 0, sizeof(real) * b->value.count);
    x[0] = x[1] = 1.0f;
    k->value.data[0] = 1.0f + 0x1p-12f;
    k->value.data[out] = -1.0f;
    if (p == PRECISION_FLOAT32)
        model_forward_layer(m, dense, 1);
    else
        model_precision_forward_layer(m, dense, 1);
    return dense->output.data[0];
}

static void test_reduced_precision_cancellation(void)
{
    model m;
    if (small_model(&m, 1)) return;
    CHECK(cancelling_dense(&m, PRECISION_FLOAT32) == 0x1p-12f, "float32: (1 + 2^-12) - 1 = 2^-12");
    CHECK(cancelling_dense(&m, PRECISION_TF32) == 0.0f, "tf32: 1 + 2^-12 rounds to 1, every digit cancels");
    CHECK(cancelling_dense(&m, PRECISION_MIXED_BFLOAT16) == 0.0f, "bfloat16: every digit cancels");
    CHECK(cancelling_dense(&m, PRECISION_MIXED_FLOAT16) == 0.0f, "float16: every digit cancels");
    model_free(&m);
}

static void test_one_pass_variance(void)
{
    enum { CELLS = 64, CHANNELS = 8 };
    float *x = malloc(sizeof(float) * CELLS * CHANNELS), y[CELLS * CHANNELS];
    float gamma[CHANNELS], beta[CHANNELS], moving_mean[CHANNELS], moving_var[CHANNELS], stats[3 * CHANNELS];
    for (int c = 0; c < CHANNELS; c++) {
        gamma[c] = 1, beta[c] = 0, moving_mean[c] = 0, moving_var[c] = 1;
        for (int i = 0; i < CELLS; i++) x[i * CHANNELS + c] = 3000.0f + 1000.0f * c + 1e-3f * (float)(i % 7);
    }
    float *workspace = malloc(batchnorm_workspace_floats(CHANNELS, omp_get_max_threads()) * sizeof(float));
    batchnorm_batch batch = {.mean = stats, .variance = stats + CHANNELS, .inverse_std = stats + 2 * CHANNELS};
    batchnorm_forward_train(CELLS, CHANNELS, x, gamma, beta, y, &batch, moving_mean, moving_var, workspace);
    int positive = 1;
    for (int c = 0; c < CHANNELS; c++) positive &= batch.variance[c] > 0;
    CHECK(positive && batch.cancelled == 0 && batch.negative == 0, "two-pass: every variance positive");
    batch.one_pass = 1;
    batchnorm_forward_train(CELLS, CHANNELS, x, gamma, beta, y, &batch, moving_mean, moving_var, workspace);
    CHECK(batch.negative > 0, "one-pass: %d of %d channels negative", batch.negative, CHANNELS);
    CHECK(batch.cancelled == CHANNELS, "one-pass: every channel lost all digits (%d)", batch.cancelled);
    CHECK(batch.most_negative < -BATCHNORM_EPSILON && nonfinite_in(y, CELLS * CHANNELS) > 0,
          "one-pass: a variance of %g < -epsilon makes the output NaN", (double)batch.most_negative);
    free(workspace);
    free(x);
}

/* A small run with a planted Inf in a gradient: mixed_float16 absorbs it. */
static void test_skipped_step_run(const char *binary)
{
    char dir[256], out[300], output[8192], rows[4096];
    if (test_temp_dir(dir, sizeof dir, "precision")) return;
    snprintf(out, sizeof out, "--out=%s/skip", dir);
    int status = test_run_args(binary, output, sizeof output, "train", "--depth=18", "--width=4", "--clip=4x16x16x2",
                               "--classes=3", "--batch=4", "--train-clips=16", "--val-clips=4", "--epochs=1",
                               "--precision=mixed_float16", "--inject=inf-backward@layer=conv3d_5,step=2",
                               "--no-report", "--quiet", out, (char *)NULL);
    CHECK(status == 0, "mixed_float16 with an Inf planted in a gradient completes (status %d): %s", status, output);
    snprintf(out, sizeof out, "%s/skip", dir);
    /* 2^15 itself may overflow a float16 gradient of step 1: the planted
     * step 2 is skipped either way, and its scale halves. */
    int n = test_db_rows(out,
                         "SELECT a.skipped, a.loss_scale / b.loss_scale FROM steps a JOIN steps b "
                         "ON b.step = a.step + 1 WHERE a.step = 2",
                         rows, sizeof rows);
    CHECK(n == 1 && strcmp(rows, "1|2.0\n") == 0, "steps: step 2 skipped, the next one at half its scale: %s", rows);
    char skipped[64], events[64];
    test_db_rows(out, "SELECT COUNT(*) FROM steps WHERE skipped = 1", skipped, sizeof skipped);
    test_db_rows(out, "SELECT COUNT(*) FROM events WHERE kind = 'step_skipped'", events, sizeof events);
    CHECK(strcmp(skipped, events) == 0, "one step_skipped event per skipped step (%s, %s)", skipped, events);
    CHECK(test_db_rows(out, "SELECT 1 FROM events WHERE kind = 'nan'", rows, sizeof rows) == 0,
          "no nan event: the loss scale absorbed the Inf");
    test_remove_tree(dir);
}

/* A stem kernel scaled by 1e5 at step 6: its output passes 65504 (a few
 * 1e5) but not float32's range, so the mixed_float16 run stops there, the
 * verdict names float16 overflow, and its ladder holds in the others. */
static void test_float16_overflow_verdict(const char *binary)
{
    char dir[256], out[300], output[16384], rows[4096];
    if (test_temp_dir(dir, sizeof dir, "precision")) return;
    snprintf(out, sizeof out, "--out=%s/overflow", dir);
    int status = test_run_args(binary, output, sizeof output, "train", "--depth=18", "--width=8", "--clip=8x32x32x3",
                               "--classes=4", "--batch=4", "--train-clips=16", "--val-clips=4", "--epochs=2",
                               "--precision=mixed_float16", "--inject=scale-weights@layer=conv3d,step=6,factor=1e5",
                               out, (char *)NULL); /* with the report: it prints the verdict */
    CHECK(status == 3, "the mixed_float16 run stops at its NaN (status %d)", status);
    CHECK(strstr(output, "Cause: float16 overflow at conv3d") != NULL, "the verdict names float16 overflow:\n%s",
          output);
    CHECK(strstr(output, "holds in float32, tf32, mixed_bfloat16; fails in mixed_float16") != NULL,
          "the Precision line: only mixed_float16 fails:\n%s", output);
    snprintf(out, sizeof out, "%s/overflow", dir);
    test_db_rows(out, "SELECT precision, failed, first_bad_tensor FROM replay_precisions WHERE precision = "
                      "'mixed_float16'", rows, sizeof rows);
    CHECK(strcmp(rows, "mixed_float16|1|output\n") == 0, "replay_precisions: %s", rows);
    test_remove_tree(dir);
}

/* The stem conv's bias set to 1e4 in an exported checkpoint: the stem
 * BatchNorm sees mean 1e4 and a spread of about 1, where E[x^2] = 1e8 has a
 * float32 spacing of 8.  One pass, its variance cancels below -epsilon and
 * the output is NaN, named as cancellation; two passes train on. */
static int plant_stem_bias(const char *h5)
{
    hid_t f = H5Fopen(h5, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return -1;
    hid_t d = H5Dopen2(f, "model_weights/conv3d/conv3d/bias:0", H5P_DEFAULT);
    float bias[4] = {1e4f, 1e4f, 1e4f, 1e4f};
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, bias);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    return rc < 0 ? -1 : 0;
}

static void test_one_pass_verdict(const char *binary)
{
    char dir[256], out[300], path[300], from[320], output[16384];
    if (test_temp_dir(dir, sizeof dir, "precision")) return;
    snprintf(out, sizeof out, "--out=%s/init", dir);
    int status = test_run_args(binary, output, sizeof output, "train", "--depth=18", "--width=4", "--clip=4x16x16x2",
                               "--classes=3", "--batch=4", "--train-clips=8", "--val-clips=0", "--max-steps=0",
                               "--quiet", "--no-report", out, (char *)NULL);
    snprintf(out, sizeof out, "%s/init", dir);
    snprintf(path, sizeof path, "%s/big_bias.h5", dir);
    status = status ? status : test_run_args(binary, output, sizeof output, "export-keras", out, "-o", path, (char *)NULL);
    CHECK(status == 0 && plant_stem_bias(path) == 0, "a checkpoint with the stem bias at 1e4 (%d): %s", status, output);
    snprintf(from, sizeof from, "--from-keras=%s", path);
    const char *kinds[] = {"--bn-variance=two_pass", "--bn-variance=one_pass"};
    for (int k = 0; k < 2; k++) {
        snprintf(out, sizeof out, "--out=%s/run%d", dir, k);
        status = test_run_args(binary, output, sizeof output, "train", from, "--clip=4x16x16x2", "--batch=4",
                               "--train-clips=8", "--val-clips=0", "--epochs=1", kinds[k], out, (char *)NULL);
        if (k == 0) CHECK(status == 0, "two-pass trains on (status %d):\n%s", status, output);
        if (k == 1)
            CHECK(status == 3 && strstr(output, "Cause: BatchNorm") && strstr(output, "cancellation: the one-pass"),
                  "one-pass: a NaN whose verdict names the cancellation (status %d):\n%s", status, output);
    }
    test_remove_tree(dir);
}

int main(int argc, char **argv)
{
    test_float16_overflow();
    test_gradient_underflow();
    test_loss_scale_sequence();
    test_loss_scale_against_keras();
    test_reduced_precision_cancellation();
    test_one_pass_variance();
    test_skipped_step_run(test_binary(argc, argv));
    test_float16_overflow_verdict(test_binary(argc, argv));
    test_forward_against_keras(test_binary(argc, argv));
    test_one_pass_verdict(test_binary(argc, argv));
    return test_finish();
}
