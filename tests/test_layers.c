/* test_layers.c: every layer's backward pass against central finite
 * differences, plus the forward semantics the gradients cannot see
 * (padding, moving statistics, arg-max ties, loss stability, Adam).
 *
 * Method.  For a layer y = f(x, params) and a fixed random projection r, the
 * scalar L = sum(r * y) is accumulated in double; backward with dy = r gives
 * dL/dx and dL/dparams.  For sampled coordinates (random ones plus the one
 * with the largest analytic gradient) the central difference
 * (L(v+h) - L(v-h)) / (v+h - v-h) is compared with the analytic value.
 *
 * Tolerance, per coordinate:  |fd - analytic| <= 1e-3 * |analytic| + noise.
 *  - 1e-3 covers truncation: L is linear in each coordinate for Conv3D,
 *    Dense, pooling, ReLU and Add (away from kinks), and for BatchNorm and
 *    the loss the O(h^2) term with h = 1e-3 * max(1, |v|) is ~1e-6 relative.
 *  - noise is the float32 rounding of the forward pass seen through the
 *    difference quotient: every output carries a relative error of about
 *    sqrt(K) * eps for a reduction of length K, independently of the other
 *    outputs, so L carries about sqrt(K) * eps * sqrt(sum (r*y)^2), and the
 *    quotient divides that by 2h.  We use 8x that estimate.
 * Inputs of ReLU are kept |x| >= 0.05 and max-pool inputs are distinct by
 * at least 0.01, far more than the perturbation, so no kink is crossed. */
#include <float.h>
#include <math.h>
#include <omp.h>

#include "adam.h"
#include "add.h"
#include "avgpool3d.h"
#include "batchnorm.h"
#include "conv3d.h"
#include "dense.h"
#include "loss.h"
#include "maxpool3d.h"
#include "model.h"
#include "optimizer.h"
#include "relu.h"
#include "rng.h"
#include "test_util.h"

static rng test_rng;

static float *random_array(size_t n, double scale)
{
    float *a = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * (2.0 * rng_uniform(&test_rng) - 1.0));
    return a;
}

/* A layer under test: forward() recomputes y from the current inputs. */
typedef struct layer_case {
    const char *name;
    void (*forward)(struct layer_case *c);
    float *y;
    size_t y_count;
    float *r; /* projection = dy */
    double reduction; /* K: the longest sum behind one output */
    void *state;
} layer_case;

static double projected(layer_case *c, double *magnitude)
{
    c->forward(c);
    double sum = 0.0, squares = 0.0;
    for (size_t i = 0; i < c->y_count; i++) {
        double term = (double)c->r[i] * c->y[i];
        sum += term;
        squares += term * term;
    }
    if (magnitude) *magnitude = sqrt(squares);
    return sum;
}

/* Checks `samples` coordinates of `values` (plus the largest-gradient one)
 * against the analytic gradient; returns the worst ratio error / tolerance. */
static double check_gradient(layer_case *c, const char *what, float *values, const float *analytic,
                             size_t count, int samples)
{
    size_t largest = 0;
    for (size_t i = 1; i < count; i++)
        if (fabsf(analytic[i]) > fabsf(analytic[largest])) largest = i;
    double worst = 0.0;
    int bad = 0;
    for (int s = 0; s <= samples && s <= (int)count; s++) {
        size_t i = s == 0 ? largest : (size_t)rng_below(&test_rng, count);
        float original = values[i];
        double h = 1e-3 * fmax(1.0, fabs(original));
        float plus = (float)(original + h), minus = (float)(original - h);
        double magnitude;
        values[i] = plus;
        double l_plus = projected(c, &magnitude);
        values[i] = minus;
        double l_minus = projected(c, NULL);
        values[i] = original;
        double step = (double)plus - (double)minus;
        double fd = (l_plus - l_minus) / step;
        double noise = 8.0 * sqrt(c->reduction) * FLT_EPSILON * magnitude / step;
        double tolerance = 1e-3 * fabs(analytic[i]) + noise;
        double ratio = fabs(fd - analytic[i]) / tolerance;
        if (ratio > worst) worst = ratio;
        if (ratio > 1.0 && bad++ < 3)
            fprintf(stderr, "  %s %s[%zu]: finite difference %.8g, analytic %.8g, tolerance %.3g\n", c->name, what,
                    i, fd, analytic[i], tolerance);
    }
    c->forward(c); /* leave y consistent with the restored values */
    CHECK(worst <= 1.0, "%s: gradient of %s off by %.2f tolerances", c->name, what, worst);
    printf("  %-44s d%-8s worst error %.3f of tolerance\n", c->name, what, worst);
    return worst;
}

/* ------------------------------------------------------------------ Conv3D */

typedef struct conv_state {
    conv3d_geometry g;
    int batch;
    float *x, *kernel, *bias, *workspace;
} conv_state;

static void conv_case_forward(layer_case *c)
{
    conv_state *s = c->state;
    conv3d_forward(&s->g, s->batch, s->x, s->kernel, s->bias, c->y, s->workspace);
}

static void test_conv(const char *label, int batch, const int in[4], int filters, int k0, int k1, int k2,
                      int s0, int s1, int s2, padding_kind padding, int force_mode, size_t chunk_rows)
{
    conv_state s = {.batch = batch};
    error err;
    const int kernel[3] = {k0, k1, k2}, stride[3] = {s0, s1, s2};
    int ok = conv3d_geometry_init(&s.g, in, filters, kernel, stride, padding, &err) == 0;
    CHECK(ok, "%s: geometry: %s", label, err.message);
    if (!ok) return;
    conv3d_plan(&s.g, batch);
    if (force_mode >= 0) s.g.mode = (conv3d_mode)force_mode;
    if (chunk_rows) s.g.chunk_rows = chunk_rows;
    size_t x_count = (size_t)batch * in[0] * in[1] * in[2] * in[3];
    size_t y_count = (size_t)batch * s.g.out[0] * s.g.out[1] * s.g.out[2] * filters;
    size_t k_count = conv3d_kernel_count(&s.g);
    s.x = random_array(x_count, 1.0);
    s.kernel = random_array(k_count, 0.5);
    s.bias = random_array((size_t)filters, 0.5);
    s.workspace = malloc(conv3d_workspace_floats(&s.g, batch, omp_get_max_threads()) * sizeof(float) + 64);
    char name[96];
    snprintf(name, sizeof name, "Conv3D %s", label);
    layer_case c = {.name = name, .forward = conv_case_forward, .y = malloc(y_count * sizeof(float)),
                    .y_count = y_count, .r = random_array(y_count, 1.0),
                    .reduction = (double)k_count / filters, .state = &s};
    float *dx = malloc(x_count * sizeof(float)), *dk = malloc(k_count * sizeof(float));
    float *db = malloc((size_t)filters * sizeof(float));
    conv_case_forward(&c);
    conv3d_backward(&s.g, batch, s.x, s.kernel, c.r, dk, db, dx, 0, s.workspace);
    check_gradient(&c, "x", s.x, dx, x_count, 60);
    check_gradient(&c, "kernel", s.kernel, dk, k_count, 40);
    check_gradient(&c, "bias", s.bias, db, (size_t)filters, 4);

    /* accumulate_dx adds exactly the same gradient on top of what is there. */
    float *dx2 = malloc(x_count * sizeof(float));
    for (size_t i = 0; i < x_count; i++) dx2[i] = 1.0f;
    conv3d_backward(&s.g, batch, s.x, s.kernel, c.r, dk, db, dx2, 1, s.workspace);
    double worst = 0.0;
    for (size_t i = 0; i < x_count; i++) worst = fmax(worst, fabs((double)dx2[i] - 1.0 - dx[i]));
    CHECK(worst <= 1e-5, "%s: accumulated input gradient differs by %g", name, worst);
    free(dx2);
    free(dx); free(dk); free(db); free(c.y); free(c.r);
    free(s.x); free(s.kernel); free(s.bias); free(s.workspace);
}

/* The three GEMM feeds must agree with each other to rounding. */
static void test_conv_modes_agree(void)
{
    const int in[4] = {5, 7, 6, 3}, kernel[3] = {3, 3, 3}, stride[3] = {2, 1, 2};
    const int batch = 3, filters = 5;
    conv3d_geometry g;
    error err;
    conv3d_geometry_init(&g, in, filters, kernel, stride, PADDING_SAME, &err);
    conv3d_plan(&g, batch);
    size_t x_count = (size_t)batch * in[0] * in[1] * in[2] * in[3];
    size_t y_count = (size_t)batch * g.out[0] * g.out[1] * g.out[2] * filters, k_count = conv3d_kernel_count(&g);
    float *x = random_array(x_count, 1.0), *k = random_array(k_count, 1.0), *b = random_array(filters, 1.0);
    float *dy = random_array(y_count, 1.0);
    float *y[2], *dx[2], *dk[2], *db[2];
    for (int m = 0; m < 2; m++) {
        g.mode = m == 0 ? CONV3D_WHOLE : CONV3D_CHUNKED;
        g.chunk_rows = 7; /* chunks straddle rows, planes and samples */
        float *ws = malloc(conv3d_workspace_floats(&g, batch, omp_get_max_threads()) * sizeof(float) + 64);
        y[m] = malloc(y_count * 4); dx[m] = malloc(x_count * 4); dk[m] = malloc(k_count * 4); db[m] = malloc(filters * 4);
        conv3d_forward(&g, batch, x, k, b, y[m], ws);
        conv3d_backward(&g, batch, x, k, dy, dk[m], db[m], dx[m], 0, ws);
        free(ws);
    }
    double worst = 0.0;
    for (size_t i = 0; i < y_count; i++) worst = fmax(worst, fabs((double)y[0][i] - y[1][i]));
    for (size_t i = 0; i < x_count; i++) worst = fmax(worst, fabs((double)dx[0][i] - dx[1][i]));
    for (size_t i = 0; i < k_count; i++) worst = fmax(worst, fabs((double)dk[0][i] - dk[1][i]));
    CHECK(worst < 1e-4, "whole and chunked Conv3D differ by %g", worst);
    printf("  Conv3D whole vs chunked: largest difference %.3g\n", worst);
    for (int m = 0; m < 2; m++) { free(y[m]); free(dx[m]); free(dk[m]); free(db[m]); }
    free(x); free(k); free(b); free(dy);
}

/* The depth-tap skipping against a direct convolution in double: the
 * forward output within the worst-case float32 bound of any summation order
 * (K * eps * sum |x w|, so no BLAS kernel's rounding matters), and the
 * kernel gradient of every kd slice no output plane meets exactly 0, as a
 * GEMM over a zero-padded Col gave (only the L2 term moves those taps). */
static void test_conv_padding_taps(const char *label, int batch, const int in[4], int filters, const int kernel[3],
                                   const int stride[3], int force_mode, size_t chunk_rows)
{
    conv3d_geometry g;
    error err;
    CHECK(conv3d_geometry_init(&g, in, filters, kernel, stride, PADDING_SAME, &err) == 0, "%s: %s", label,
          err.message);
    conv3d_plan(&g, batch);
    if (force_mode >= 0) g.mode = (conv3d_mode)force_mode;
    if (chunk_rows) g.chunk_rows = chunk_rows;
    const int C = in[3], KD = kernel[0], KH = kernel[1], KW = kernel[2];
    size_t x_count = (size_t)batch * in[0] * in[1] * in[2] * C, k_count = conv3d_kernel_count(&g);
    size_t y_count = (size_t)batch * g.out[0] * g.out[1] * g.out[2] * filters;
    float *x = random_array(x_count, 1.0), *k = random_array(k_count, 1.0), *b = random_array(filters, 1.0);
    float *y = malloc(y_count * 4), *dy = random_array(y_count, 1.0), *dk = malloc(k_count * 4);
    float *db = malloc(filters * 4), *dx = malloc(x_count * 4);
    float *ws = malloc(conv3d_workspace_floats(&g, batch, omp_get_max_threads()) * sizeof(float) + 64);
    conv3d_forward(&g, batch, x, k, b, y, ws);
    conv3d_backward(&g, batch, x, k, dy, dk, db, dx, 0, ws);
    double worst = 0.0;
    size_t cell = 0;
    for (int n = 0; n < batch; n++)
        for (int od = 0; od < g.out[0]; od++)
            for (int oh = 0; oh < g.out[1]; oh++)
                for (int ow = 0; ow < g.out[2]; ow++, cell++)
                    for (int o = 0; o < filters; o++) {
                        double sum = b[o], magnitude = fabs(b[o]);
                        for (int kd = 0; kd < KD; kd++)
                            for (int kh = 0; kh < KH; kh++)
                                for (int kw = 0; kw < KW; kw++) {
                                    int id = od * stride[0] - g.pad[0] + kd, ih = oh * stride[1] - g.pad[1] + kh;
                                    int iw = ow * stride[2] - g.pad[2] + kw;
                                    if (id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2])
                                        continue;
                                    for (int c = 0; c < C; c++) {
                                        double term = (double)x[((((size_t)n * in[0] + id) * in[1] + ih) * in[2] + iw) * C + c] *
                                                      k[((((size_t)kd * KH + kh) * KW + kw) * C + c) * filters + o];
                                        sum += term;
                                        magnitude += fabs(term);
                                    }
                                }
                        double bound = (double)(k_count / filters + 1) * FLT_EPSILON * magnitude;
                        worst = fmax(worst, fabs(y[cell * filters + o] - sum) / bound);
                    }
    CHECK(worst <= 1.0, "Conv3D %s: forward off the direct convolution by %.2f of the rounding bound", label, worst);
    /* kd slices that meet data for no output plane: exactly zero gradient. */
    const size_t slice = k_count / (size_t)KD;
    int zero_slices = 0, wrong = 0, live_nonzero = 1;
    for (int kd = 0; kd < KD; kd++) {
        int meets = 0;
        for (int od = 0; od < g.out[0]; od++) {
            int id = od * stride[0] - g.pad[0] + kd;
            meets |= id >= 0 && id < in[0];
        }
        size_t nonzero = 0;
        for (size_t i = 0; i < slice; i++) nonzero += dk[kd * slice + i] != 0.0f;
        if (!meets) {
            zero_slices++;
            wrong += nonzero != 0;
        } else if (nonzero == 0) {
            live_nonzero = 0;
        }
    }
    CHECK(wrong == 0 && live_nonzero, "Conv3D %s: kernel gradient of padding-only kd slices not exactly 0 (%d), "
          "or a live slice all zero", label, wrong);
    printf("  Conv3D %-36s forward worst %.3f of bound, %d padding-only kd slices with gradient exactly 0\n", label,
           worst, zero_slices);
    free(x); free(k); free(b); free(y); free(dy); free(dk); free(db); free(dx); free(ws);
}

/* 'same' padding puts the odd cell after, as TensorFlow does: with in=6,
 * k=3, stride 2 the output is 3 and pad_total = 1, all of it after. */
static void test_same_padding_geometry(void)
{
    int pad;
    CHECK(window_output_size(6, 3, 2, PADDING_SAME, &pad) == 3 && pad == 0, "in 6 k3 s2: pad before %d", pad);
    CHECK(window_output_size(7, 3, 2, PADDING_SAME, &pad) == 4 && pad == 1, "in 7 k3 s2: pad before %d", pad);
    CHECK(window_output_size(112, 7, 2, PADDING_SAME, &pad) == 56 && pad == 2, "in 112 k7 s2: pad before %d", pad);
    CHECK(window_output_size(16, 7, 2, PADDING_SAME, &pad) == 8 && pad == 2, "in 16 k7 s2: pad before %d", pad);
    CHECK(window_output_size(7, 1, 2, PADDING_VALID, &pad) == 4 && pad == 0, "in 7 k1 s2 valid");
    CHECK(window_output_size(2, 3, 1, PADDING_VALID, &pad) == 0, "valid window larger than input");

    /* One 1-channel 1x1x4 input, kernel 1x1x2 stride 2 'same' (out 2, pad 0)
     * vs kernel 1x1x3 stride 2 (pad_total 1: 0 before, 1 after). */
    conv3d_geometry g;
    error err;
    const int in[4] = {1, 1, 4, 1}, kernel[3] = {1, 1, 3}, stride[3] = {1, 1, 2};
    conv3d_geometry_init(&g, in, 1, kernel, stride, PADDING_SAME, &err);
    conv3d_plan(&g, 1);
    float x[4] = {1, 2, 3, 4}, k[3] = {100, 10, 1}, b[1] = {0}, y[2];
    float *ws = malloc(conv3d_workspace_floats(&g, 1, omp_get_max_threads()) * sizeof(float) + 64);
    conv3d_forward(&g, 1, x, k, b, y, ws);
    /* out[0] = x0*100 + x1*10 + x2*1 = 123; out[1] = x2*100 + x3*10 + pad*1 = 340 */
    CHECK(y[0] == 123.0f && y[1] == 340.0f, "TF 'same' padding: got %g %g, expected 123 340", y[0], y[1]);
    free(ws);
}

/* ------------------------------------------------------------- BatchNorm */

typedef struct bn_state {
    size_t cells;
    int channels;
    float *x, *gamma, *beta, *moving_mean, *moving_var, *workspace;
    batchnorm_batch batch;
} bn_state;

static void bn_case_forward(layer_case *c)
{
    bn_state *s = c->state;
    batchnorm_forward_train(s->cells, s->channels, s->x, s->gamma, s->beta, c->y, &s->batch, s->moving_mean,
                            s->moving_var, s->workspace);
}

static void test_batchnorm(size_t cells, int channels, double offset)
{
    bn_state s = {.cells = cells, .channels = channels};
    size_t n = cells * channels;
    s.x = random_array(n, 1.0);
    for (size_t i = 0; i < n; i++) s.x[i] += (float)offset;
    s.gamma = random_array(channels, 1.0);
    s.beta = random_array(channels, 1.0);
    s.moving_mean = calloc(channels, sizeof(float));
    s.moving_var = calloc(channels, sizeof(float));
    s.workspace = malloc(batchnorm_workspace_floats(channels, omp_get_max_threads()) * sizeof(float));
    float *stats = malloc(3 * channels * sizeof(float));
    s.batch = (batchnorm_batch){.mean = stats, .variance = stats + channels, .inverse_std = stats + 2 * channels};
    char name[96];
    snprintf(name, sizeof name, "BatchNorm n=%zu C=%d offset=%g", cells, channels, offset);
    /* The projection's reduction is over all n cells (the mean and variance). */
    layer_case c = {.name = name, .forward = bn_case_forward, .y = malloc(n * sizeof(float)), .y_count = n,
                    .r = random_array(n, 1.0), .reduction = (double)cells, .state = &s};
    float *dx = malloc(n * sizeof(float)), *dg = malloc(channels * sizeof(float)), *dbeta = malloc(channels * sizeof(float));
    bn_case_forward(&c);
    batchnorm_backward(cells, channels, s.x, s.gamma, &s.batch, c.r, dg, dbeta, dx, 0, s.workspace);
    /* With an offset of 1e3 the perturbation h is 1 (relative 1e-3): the
     * variance term is then no longer linear enough for 1e-3; keep the
     * offset cases to check cancellation in the statistics below instead. */
    if (offset == 0.0) check_gradient(&c, "x", s.x, dx, n, 12);
    check_gradient(&c, "gamma", s.gamma, dg, channels, 4);
    check_gradient(&c, "beta", s.beta, dbeta, channels, 4);

    /* Batch statistics against a two-pass double computation; with an offset
     * of 1e3 a one-pass float32 E[x^2]-E[x]^2 would lose ~all digits here. */
    double worst_mean = 0, worst_var = 0;
    for (int ch = 0; ch < channels; ch++) {
        double mean = 0, var = 0;
        for (size_t i = 0; i < cells; i++) mean += s.x[i * channels + ch];
        mean /= cells;
        for (size_t i = 0; i < cells; i++) var += pow(s.x[i * channels + ch] - mean, 2);
        var /= cells;
        worst_mean = fmax(worst_mean, fabs(s.batch.mean[ch] - mean) / fmax(fabs(mean), 1e-30));
        worst_var = fmax(worst_var, fabs(s.batch.variance[ch] - var) / var);
    }
    CHECK(worst_mean < 1e-6 && worst_var < 1e-5, "%s: batch statistics off: mean %g var %g (relative)", name,
          worst_mean, worst_var);
    free(dx); free(dg); free(dbeta); free(c.y); free(c.r); free(stats);
    free(s.x); free(s.gamma); free(s.beta); free(s.moving_mean); free(s.moving_var); free(s.workspace);
}

/* moving = 0.99 moving + 0.01 stat, variance unbiased n/(n-1), and n/1 for
 * n == 1 (TensorFlow's CPU kernel); inference uses the moving statistics. */
static void test_batchnorm_moving_statistics(void)
{
    float x[3] = {1.0f, 2.0f, 6.0f}, y[3], gamma[1] = {2.0f}, beta[1] = {0.5f};
    float moving_mean[1] = {0.0f}, moving_var[1] = {1.0f}, stats[3];
    float workspace[64];
    batchnorm_batch batch = {.mean = stats, .variance = stats + 1, .inverse_std = stats + 2};
    batchnorm_forward_train(3, 1, x, gamma, beta, y, &batch, moving_mean, moving_var, workspace);
    /* mean 3, biased var 14/3, unbiased 7 */
    CHECK(fabsf(moving_mean[0] - 0.03f) < 1e-7f, "moving mean %g, expected 0.03", moving_mean[0]);
    CHECK(fabsf(moving_var[0] - (0.99f + 0.07f)) < 1e-6f, "moving variance %g, expected 1.06", moving_var[0]);
    CHECK(fabsf(batch.variance[0] - 14.0f / 3.0f) < 1e-5f, "batch variance %g, expected 4.667", batch.variance[0]);

    float one[1] = {5.0f}, out[1];
    moving_mean[0] = 0.0f;
    moving_var[0] = 1.0f;
    batchnorm_forward_train(1, 1, one, gamma, beta, out, &batch, moving_mean, moving_var, workspace);
    CHECK(moving_var[0] == 0.99f * 1.0f + 0.01f * 0.0f, "n == 1: moving variance %g, expected 0.99 (n/1, no NaN)",
          moving_var[0]);
    CHECK(out[0] == beta[0], "n == 1: output %g, expected beta (x - mean = 0)", out[0]);

    float infer[3];
    moving_mean[0] = 1.0f;
    moving_var[0] = 4.0f;
    batchnorm_forward_infer(3, 1, x, gamma, beta, moving_mean, moving_var, infer);
    float expected = (6.0f - 1.0f) * (2.0f / sqrtf(4.0f + 1e-3f)) + 0.5f;
    CHECK(fabsf(infer[2] - expected) < 1e-5f, "inference uses moving statistics: %g vs %g", infer[2], expected);
}

/* --------------------------------------------------- element-wise layers */

typedef struct simple_state {
    float *x, *x2;
    size_t count;
    int batch, channels;
    size_t cells;
    pool3d_geometry pool;
    int32_t *argmax;
    float *kernel, *bias;
    int in, out;
} simple_state;

static void relu_case_forward(layer_case *c)
{
    simple_state *s = c->state;
    relu_forward(s->count, s->x, c->y);
}

static void add_case_forward(layer_case *c)
{
    simple_state *s = c->state;
    add_forward(s->count, s->x, s->x2, c->y);
}

static void avgpool_case_forward(layer_case *c)
{
    simple_state *s = c->state;
    avgpool3d_forward(s->batch, s->cells, s->channels, s->x, c->y);
}

static void maxpool_case_forward(layer_case *c)
{
    simple_state *s = c->state;
    maxpool3d_forward(&s->pool, s->batch, s->x, c->y, s->argmax);
}

static void dense_case_forward(layer_case *c)
{
    simple_state *s = c->state;
    dense_forward(s->batch, s->in, s->out, s->x, s->kernel, s->bias, c->y);
}

static void test_relu_add(void)
{
    simple_state s = {.count = 600};
    s.x = random_array(s.count, 1.0);
    s.x2 = random_array(s.count, 1.0);
    for (size_t i = 0; i < s.count; i++)
        if (fabsf(s.x[i]) < 0.05f) s.x[i] = s.x[i] < 0 ? -0.05f : 0.05f; /* away from the kink */
    layer_case c = {.name = "ReLU", .forward = relu_case_forward, .y = malloc(s.count * 4), .y_count = s.count,
                    .r = random_array(s.count, 1.0), .reduction = 1, .state = &s};
    float *dx = malloc(s.count * 4);
    relu_case_forward(&c);
    relu_backward(s.count, c.y, c.r, dx, 0);
    check_gradient(&c, "x", s.x, dx, s.count, 20);

    float nan_in[2] = {NAN, -1.0f}, nan_out[2];
    relu_forward(2, nan_in, nan_out);
    CHECK(isnan(nan_out[0]) && nan_out[1] == 0.0f, "ReLU must pass NaN through (got %g)", nan_out[0]);

    c.name = "Add";
    c.forward = add_case_forward;
    add_case_forward(&c);
    add_backward_input(s.count, c.r, dx, 0);
    check_gradient(&c, "a", s.x, dx, s.count, 10);
    check_gradient(&c, "b", s.x2, dx, s.count, 10);
    free(dx); free(c.y); free(c.r); free(s.x); free(s.x2);
}

static void test_avgpool(void)
{
    simple_state s = {.batch = 3, .cells = 2 * 3 * 4, .channels = 5};
    s.count = s.batch * s.cells * s.channels;
    s.x = random_array(s.count, 1.0);
    size_t y_count = (size_t)s.batch * s.channels;
    layer_case c = {.name = "AveragePooling3D (global)", .forward = avgpool_case_forward, .y = malloc(y_count * 4),
                    .y_count = y_count, .r = random_array(y_count, 1.0), .reduction = (double)s.cells, .state = &s};
    float *dx = malloc(s.count * 4);
    avgpool_case_forward(&c);
    avgpool3d_backward(s.batch, s.cells, s.channels, c.r, dx, 0);
    check_gradient(&c, "x", s.x, dx, s.count, 20);
    free(dx); free(c.y); free(c.r); free(s.x);
}

static void test_maxpool(const int in[4], int batch, const int pool[3], const int stride[3])
{
    simple_state s = {.batch = batch};
    error err;
    CHECK(maxpool3d_geometry_init(&s.pool, in, pool, stride, PADDING_SAME, &err) == 0, "pool geometry");
    s.count = (size_t)batch * in[0] * in[1] * in[2] * in[3];
    /* A shuffled ladder of values 0.01 apart: no ties, no kink within h. */
    s.x = malloc(s.count * 4);
    for (size_t i = 0; i < s.count; i++) s.x[i] = -1.0f - 0.01f * (float)i;
    for (size_t i = s.count - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&test_rng, i + 1);
        float t = s.x[i]; s.x[i] = s.x[j]; s.x[j] = t;
    }
    size_t y_count = (size_t)batch * s.pool.out[0] * s.pool.out[1] * s.pool.out[2] * in[3];
    s.argmax = malloc(y_count * sizeof(int32_t));
    layer_case c = {.name = "MaxPooling3D 'same'", .forward = maxpool_case_forward, .y = malloc(y_count * 4),
                    .y_count = y_count, .r = random_array(y_count, 1.0), .reduction = 1, .state = &s};
    float *dx = malloc(s.count * 4);
    maxpool_case_forward(&c);
    maxpool3d_backward(&s.pool, batch, s.argmax, c.r, dx, 0);
    /* Perturbations of 1e-3 relative (at most ~0.003 here, values spaced 0.01) keep every arg-max. */
    check_gradient(&c, "x", s.x, dx, s.count, 30);

    /* All inputs negative: a padded cell (TensorFlow's -inf) must never win,
     * so every output is one of the inputs, never 0. */
    int padded_won = 0;
    for (size_t i = 0; i < y_count; i++) padded_won += c.y[i] >= 0.0f;
    CHECK(padded_won == 0, "max pool: %d outputs came from padding", padded_won);
    free(dx); free(c.y); free(c.r); free(s.x); free(s.argmax);
}

static void test_maxpool_ties_and_nan(void)
{
    pool3d_geometry g;
    error err;
    const int in[4] = {1, 1, 4, 1}, pool[3] = {1, 1, 3}, stride[3] = {1, 1, 2};
    maxpool3d_geometry_init(&g, in, pool, stride, PADDING_SAME, &err);
    float x[4] = {2.0f, 2.0f, 1.0f, 0.5f}, y[2], dy[2] = {1.0f, 10.0f}, dx[4];
    int32_t argmax[2];
    maxpool3d_forward(&g, 1, x, y, argmax);
    maxpool3d_backward(&g, 1, argmax, dy, dx, 0);
    CHECK(dx[0] == 1.0f && dx[1] == 0.0f, "tie: gradient goes to the first maximum (got %g %g)", dx[0], dx[1]);
    x[3] = NAN;
    maxpool3d_forward(&g, 1, x, y, argmax);
    CHECK(isnan(y[1]), "max pool propagates a NaN in its window (got %g)", y[1]);
}

static void test_dense(void)
{
    simple_state s = {.batch = 4, .in = 7, .out = 5};
    s.x = random_array((size_t)s.batch * s.in, 1.0);
    s.kernel = random_array((size_t)s.in * s.out, 1.0);
    s.bias = random_array((size_t)s.out, 1.0);
    size_t y_count = (size_t)s.batch * s.out;
    layer_case c = {.name = "Dense", .forward = dense_case_forward, .y = malloc(y_count * 4), .y_count = y_count,
                    .r = random_array(y_count, 1.0), .reduction = s.in, .state = &s};
    float *dx = malloc((size_t)s.batch * s.in * 4), *dk = malloc((size_t)s.in * s.out * 4), *db = malloc(s.out * 4);
    dense_case_forward(&c);
    dense_backward(s.batch, s.in, s.out, s.x, s.kernel, c.r, dk, db, dx, 0);
    check_gradient(&c, "x", s.x, dx, (size_t)s.batch * s.in, 10);
    check_gradient(&c, "kernel", s.kernel, dk, (size_t)s.in * s.out, 10);
    check_gradient(&c, "bias", s.bias, db, (size_t)s.out, 5);
    free(dx); free(dk); free(db); free(c.y); free(c.r); free(s.x); free(s.kernel); free(s.bias);
}

/* ------------------------------------------------------------------ loss */

/* The loss is a double already: differentiate it directly. */
static void test_loss(int classes)
{
    struct { int batch, classes; float *logits; int *labels; } s = {.batch = 5, .classes = classes};
    size_t n = (size_t)s.batch * classes;
    s.logits = random_array(n, 3.0);
    s.labels = malloc(s.batch * sizeof(int));
    for (int i = 0; i < s.batch; i++) s.labels[i] = (int)rng_below(&test_rng, classes > 1 ? classes : 2);
    float *grad = malloc(n * 4);
    loss_from_logits(s.batch, classes, s.logits, s.labels, grad);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        float original = s.logits[i];
        float plus = original + 1e-2f, minus = original - 1e-2f;
        s.logits[i] = plus;
        double lp = loss_from_logits(s.batch, classes, s.logits, s.labels, NULL).loss;
        s.logits[i] = minus;
        double lm = loss_from_logits(s.batch, classes, s.logits, s.labels, NULL).loss;
        s.logits[i] = original;
        double fd = (lp - lm) / ((double)plus - minus);
        /* The loss is evaluated in double: only the O(h^2) term remains. */
        worst = fmax(worst, fabs(fd - grad[i]) / (1e-4 + 1e-3 * fabs(grad[i])));
    }
    CHECK(worst <= 1.0, "%s loss gradient off by %.2f tolerances", classes > 1 ? "softmax" : "sigmoid", worst);
    printf("  %-44s dlogits   worst error %.3f of tolerance\n",
           classes > 1 ? "softmax cross-entropy" : "sigmoid binary cross-entropy", worst);

    /* Huge logits: computed from logits, the loss stays finite and exact. */
    float big[3] = {1e4f, -1e4f, 0.0f};
    int label[1] = {1};
    if (classes > 1) {
        loss_result r = loss_from_logits(1, 3, big, label, NULL);
        CHECK(isfinite(r.loss) && fabs(r.loss - 2e4) < 1e-6, "softmax CE of logits 1e4/-1e4 is %g, expected 2e4",
              r.loss);
        CHECK(r.correct == 0, "prediction of class 0 vs label 1 counted correct");
    } else {
        int yes[1] = {0};
        loss_result r = loss_from_logits(1, 1, big, yes, NULL);
        CHECK(isfinite(r.loss) && fabs(r.loss - 1e4) < 1e-6, "sigmoid BCE of logit 1e4 with label 0 is %g", r.loss);
    }
    free(s.logits); free(s.labels); free(grad);
}

/* ------------------------------------------------------------------ Adam */

static void test_adam(void)
{
    adam_config cfg = ADAM_KERAS_DEFAULTS;
    float w[3] = {0.5f, -1.0f, 2.0f}, g[3] = {0.1f, 0.0f, -3.0f}, m[3] = {0}, v[3] = {0}, l2[3], applied[3];
    double wd[3] = {0.5, -1.0, 2.0}, md[3] = {0}, vd[3] = {0};
    const float lr = 1e-3f, lambda = 1e-4f;
    for (long t = 1; t <= 3; t++) {
        float alpha = adam_step_size(&cfg, lr, t);
        /* The betas are float32 constants in TensorFlow: 1 - 0.999f is
         * 0.00099998713, not 0.001, and alpha follows suit. */
        double alpha_d = lr * sqrt(1 - pow((double)0.999f, t)) / (1 - pow((double)0.9f, t));
        CHECK(fabs(alpha - alpha_d) < 1e-9, "alpha at t=%ld: %g vs %g", t, alpha, alpha_d);
        float before[3] = {w[0], w[1], w[2]};
        adam_update(&cfg, 3, alpha, lambda, w, g, m, v, l2, applied);
        for (int i = 0; i < 3; i++) {
            double gd = g[i] + 2.0 * lambda * wd[i];
            md[i] += (gd - md[i]) * (1.0 - (double)0.9f);
            vd[i] += (gd * gd - vd[i]) * (1.0 - (double)0.999f);
            wd[i] -= alpha_d * md[i] / (sqrt(vd[i]) + 1e-7);
            CHECK(fabs(w[i] - wd[i]) < 1e-6, "Adam weight %d at t=%ld: %.9g vs %.9g", i, t, w[i], wd[i]);
            CHECK(applied[i] == w[i] - before[i], "applied update must be the exact change");
            CHECK(fabsf(l2[i] - 2.0f * lambda * before[i]) < 1e-9f, "L2 gradient 2*lambda*w");
        }
    }
    /* Zero gradient and zero weight: epsilon keeps the step finite (0/eps). */
    float w0[1] = {0}, g0[1] = {0}, m0[1] = {0}, v0[1] = {0};
    adam_update(&cfg, 1, adam_step_size(&cfg, lr, 1), lambda, w0, g0, m0, v0, NULL, NULL);
    CHECK(w0[0] == 0.0f, "Adam with zero gradient moved the weight to %g", w0[0]);
}

/* The whole-model step (plain and with fused statistics) must update
 * exactly as adam_update does, element for element, and its statistics must
 * describe the tensors it left behind. */
static void test_optimizer_step(void)
{
    model m;
    error err;
    model_config cfg = {.depth = 18, .width = 8, .clip = {4, 16, 16, 2}, .classes = 3, .batch = 2,
                        .threads = omp_get_max_threads()};
    if (model_build(&m, &cfg, &err)) {
        CHECK(0, "build: %s", err.message);
        return;
    }
    model_init_weights(&m, INIT_HE_NORMAL, 3);
    size_t total = m.weights.capacity;
    float *w = malloc(total * 4), *mom = calloc(total, 4), *vel = calloc(total, 4);
    for (int i = 0; i < m.param_count; i++) {
        parameter *p = &m.params[i];
        if (!p->trainable) continue;
        for (size_t j = 0; j < p->value.count; j++) p->gradient[j] = (float)(1e-3 * rng_normal(&test_rng));
    }
    memcpy(w, m.weights.base, total * 4);
    parameter_step_stats *stats = calloc((size_t)m.param_count, sizeof *stats);
    adam_config c = ADAM_KERAS_DEFAULTS;
    double squares = 0.0;
    for (long t = 1; t <= 3; t++) {
        squares = optimizer_step(&m, &c, 1e-3f, t, 1e-4f, t == 2 ? NULL : stats);
        for (int i = 0; i < m.param_count; i++) {
            const parameter *p = &m.params[i];
            if (!p->trainable) continue;
            size_t offset = (size_t)(p->value.data - m.weights.base);
            adam_update(&c, p->value.count, adam_step_size(&c, 1e-3f, t), p->regularized ? 1e-4f : 0.0f, w + offset,
                        p->gradient, mom + offset, vel + offset, NULL, NULL);
        }
    }
    CHECK(memcmp(w, m.weights.base, total * 4) == 0 && memcmp(mom, m.adam_m.base, total * 4) == 0 &&
              memcmp(vel, m.adam_v.base, total * 4) == 0,
          "optimizer_step differs from adam_update");
    double worst_mean = 0, worst_std = 0, worst_ratio = 0, direct_squares = 0;
    for (int i = 0; i < m.param_count; i++) {
        const parameter *p = &m.params[i];
        if (!p->trainable) continue;
        tensor_stats direct;
        stats_compute(p->value.data, p->value.count, &direct);
        worst_mean = fmax(worst_mean, fabs(stats_mean(&stats[i].value) - stats_mean(&direct)) /
                                          fmax(stats_std(&direct), 1e-30));
        worst_std = fmax(worst_std, fabs(stats_std(&stats[i].value) - stats_std(&direct)) / fmax(stats_std(&direct), 1e-30));
        double ratio = 0.0;
        for (size_t j = 0; j < p->value.count; j++)
            ratio = fmax(ratio, fabs(p->adam_m[j]) / (sqrt(p->adam_v[j]) + 1e-7));
        worst_ratio = fmax(worst_ratio, fabs(stats[i].max_ratio - ratio) / ratio);
        if (p->regularized)
            for (size_t j = 0; j < p->value.count; j++) direct_squares += (double)p->value.data[j] * p->value.data[j];
        CHECK(stats[i].value.count == (int64_t)p->value.count && stats[i].adam_v.count == (int64_t)p->value.count,
              "%s: statistics count", p->name);
    }
    CHECK(worst_mean < 1e-5 && worst_std < 1e-5, "fused statistics of the weights off: mean %g, std %g (relative)",
          worst_mean, worst_std);
    CHECK(worst_ratio < 1e-5, "max |m|/(sqrt(v)+eps) off by %g (relative)", worst_ratio);
    CHECK(fabs(squares - direct_squares) < 1e-6 * direct_squares, "sum of w^2 for the penalty: %.9g vs %.9g", squares,
          direct_squares);
    printf("  optimizer_step: bit-identical to adam_update; fused statistics within %.1g of direct\n",
           fmax(fmax(worst_mean, worst_std), worst_ratio));
    free(w);
    free(mom);
    free(vel);
    free(stats);
    model_free(&m);
}

/* ------------------------------------------------------------ whole nets */

/* Hashes every ReLU mask and max-pool arg-max: equal hashes at v-h and v+h
 * mean the perturbation crossed no kink, so the network is smooth there. */
static uint64_t kink_pattern(const model *m)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < m->layer_count; i++) {
        const layer *l = &m->layers[i];
        if (l->kind == LAYER_RELU)
            for (size_t j = 0; j < l->output.count; j++) h = (h ^ (l->output.data[j] > 0.0f)) * 1099511628211ull;
        if (l->kind == LAYER_MAXPOOL3D)
            for (size_t j = 0; j < l->output.count; j++) h = (h ^ (uint64_t)l->argmax[j]) * 1099511628211ull;
    }
    return h;
}

static double network_loss(model *m, const int *labels)
{
    model_forward(m, 1);
    return loss_from_logits(m->config.batch, m->config.classes, model_logits(m), labels, NULL).loss;
}

/* A whole small ResNet3D (every layer type, both shortcut kinds, basic or
 * bottleneck blocks): the gradient of the mean cross-entropy w.r.t. sampled
 * coordinates of every parameter tensor (its largest-gradient coordinate
 * and two random ones).
 *
 * A stem parameter moves every activation, so a perturbation easily crosses
 * some ReLU or max-pool kink; h starts at 1e-2 relative and shrinks until
 * the kink pattern at v-h and v+h equals the one at v (else the coordinate
 * is not differentiable at that scale and is skipped, and counted).
 * Tolerance: 2e-2 * |g| + 5e-5 / (2h).  The first term is truncation through
 * ~50 layers incl. BatchNorm over 4 values; the second is the float32
 * rounding noise of the whole forward pass seen through the quotient: BN
 * over 4 values amplifies rounding, and we measured loss scatter of up to
 * 2e-5 (on a loss of ~1.1) between perturbations of 1e-5 of a stem BN beta
 * whose true gradient is ~0; the bound is 2.5x that. */
static void test_network(int depth, int width, const int clip[4], int batch, int classes)
{
    model m;
    error err;
    model_config cfg = {.depth = depth, .width = width, .clip = {clip[0], clip[1], clip[2], clip[3]},
                        .classes = classes, .batch = batch, .threads = omp_get_max_threads()};
    if (model_build(&m, &cfg, &err)) {
        CHECK(0, "build ResNet3D-%d: %s", depth, err.message);
        return;
    }
    model_init_weights(&m, INIT_HE_NORMAL, 7);
    /* Random BN affine parameters and biases, so their gradients are not
     * degenerate (gamma = 1, beta = 0 at init makes many terms symmetric). */
    for (int p = 0; p < m.param_count; p++) {
        parameter *q = &m.params[p];
        if (q->role == PARAM_GAMMA)
            for (size_t j = 0; j < q->value.count; j++) q->value.data[j] = 0.5f + (float)rng_uniform(&test_rng);
        if (q->role == PARAM_BETA || q->role == PARAM_BIAS)
            for (size_t j = 0; j < q->value.count; j++) q->value.data[j] = 0.2f * (float)(2 * rng_uniform(&test_rng) - 1);
    }
    float *input = model_input(&m);
    size_t input_count = m.layers[0].output.count;
    for (size_t i = 0; i < input_count; i++) input[i] = (float)rng_uniform(&test_rng);
    int labels[16];
    for (int i = 0; i < batch; i++) labels[i] = i % classes;

    model_forward(&m, 1);
    uint64_t base_pattern = kink_pattern(&m);
    loss_from_logits(batch, classes, model_logits(&m), labels, model_logits_gradient(&m));
    model_backward(&m);

    char name[64];
    snprintf(name, sizeof name, "ResNet3D-%d width %d", depth, width);
    int checked = 0, skipped = 0, bad = 0, tensors = 0, tensors_with_largest = 0;
    double worst = 0.0;
    for (int p = 0; p < m.param_count; p++) {
        parameter *q = &m.params[p];
        if (!q->trainable) continue;
        /* Conv biases feed only BatchNorm: their true gradient is exactly
         * zero and what backward computes is rounding noise. */
        if (q->role == PARAM_BIAS && m.layers[q->layer].kind == LAYER_CONV3D) continue;
        float *values = q->value.data, *grad = q->gradient;
        size_t count = q->value.count, largest = 0;
        for (size_t j = 1; j < count; j++)
            if (fabsf(grad[j]) > fabsf(grad[largest])) largest = j;
        tensors++;
        for (int s = 0; s < 3; s++) {
            size_t j = s == 0 ? largest : (size_t)rng_below(&test_rng, count);
            float original = values[j];
            double fd = 0.0, step = 0.0;
            for (double relative = 1e-2; relative > 1e-4; relative /= 3.0) {
                double h = relative * fmax(0.1, fabs(original));
                float plus = (float)(original + h), minus = (float)(original - h);
                values[j] = plus;
                double lp = network_loss(&m, labels);
                int smooth = kink_pattern(&m) == base_pattern;
                values[j] = minus;
                double lm = network_loss(&m, labels);
                smooth = smooth && kink_pattern(&m) == base_pattern;
                values[j] = original;
                if (smooth) {
                    step = (double)plus - (double)minus;
                    fd = (lp - lm) / step;
                    break;
                }
            }
            if (step == 0.0) {
                skipped++;
                continue;
            }
            double tolerance = 2e-2 * fabs(grad[j]) + 5e-5 / step;
            double ratio = fabs(fd - grad[j]) / tolerance;
            worst = fmax(worst, ratio);
            checked++;
            tensors_with_largest += s == 0;
            if (ratio > 1.0 && bad++ < 5)
                fprintf(stderr, "  %s %s[%zu]: fd %.6g analytic %.6g (tolerance %.3g)\n", name, q->name, j, fd,
                        grad[j], tolerance);
        }
    }
    model_forward(&m, 1);
    CHECK(bad == 0, "%s: %d of %d coordinates outside tolerance (worst %.2f)", name, bad, checked, worst);
    CHECK(tensors_with_largest * 10 >= tensors * 8, "%s: the largest-gradient coordinate was checkable in only %d of %d tensors",
          name, tensors_with_largest, tensors);
    printf("  %-44s %d coordinates in %d tensors (%d not smooth at h >= 1e-4, skipped), worst %.3f of tolerance\n",
           name, checked, tensors, skipped, worst);
    model_free(&m);
}

int main(void)
{
    rng_seed(&test_rng, 12345, 99);
    test_same_padding_geometry();
    const int small[4] = {5, 6, 7, 3};
    test_conv("3x3x3 stride 1 same", 2, small, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME, -1, 0);
    test_conv("3x3x3 stride 2 same", 2, small, 4, 3, 3, 3, 2, 2, 2, PADDING_SAME, -1, 0);
    test_conv("7x7x7 stride 2 same (stem)", 1, (const int[4]){8, 9, 9, 3}, 3, 7, 7, 7, 2, 2, 2, PADDING_SAME, -1, 0);
    test_conv("1x1x1 stride 2 valid (shortcut)", 2, small, 6, 1, 1, 1, 2, 2, 2, PADDING_VALID, -1, 0);
    test_conv("1x1x1 stride (1,2,2) valid", 2, (const int[4]){1, 7, 7, 4}, 5, 1, 1, 1, 1, 2, 2, PADDING_VALID, -1, 0);
    test_conv("1x1x1 stride 1 (pointwise)", 2, small, 5, 1, 1, 1, 1, 1, 1, PADDING_SAME, -1, 0);
    test_conv("2x3x1 stride 1 valid", 2, small, 3, 2, 3, 1, 1, 1, 1, PADDING_VALID, -1, 0);
    test_conv("3x3x3 stride 2 same, chunked", 3, small, 4, 3, 3, 3, 2, 2, 2, PADDING_SAME, CONV3D_CHUNKED, 5);
    test_conv("3x3x3 stride 1 same, chunked", 2, small, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME, CONV3D_CHUNKED, 64);
    /* 2304 output cells: dX goes through the transposed convolution. */
    test_conv("3x3x3 stride 1 same, 2304 cells", 2, (const int[4]){8, 12, 12, 3}, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME,
              -1, 0);
    /* Depth 1 and 2 inputs with 'same' padding (the late stages of a
     * 16-frame clip): depth runs, kd ranges that start or end inside the
     * kernel, chunks straddling runs, small H/W with borders on every side. */
    const int depth1[4] = {1, 4, 3, 5}, depth2[4] = {2, 5, 4, 3}, depth3[4] = {3, 5, 5, 2};
    test_conv("3x3x3 same, depth 1", 3, depth1, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME, -1, 0);
    test_conv("3x3x3 same, depth 2", 2, depth2, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME, -1, 0);
    test_conv("3x3x3 stride 2 same, depth 2 -> 1", 3, depth2, 4, 3, 3, 3, 2, 2, 2, PADDING_SAME, -1, 0);
    test_conv("3x3x3 stride 2 same, depth 3 -> 2", 2, depth3, 3, 3, 3, 3, 2, 2, 2, PADDING_SAME, -1, 0);
    test_conv("3x3x3 same, depth 1, chunked", 3, depth1, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME, CONV3D_CHUNKED, 5);
    test_conv("3x3x3 same, depth 2, chunked", 2, depth2, 4, 3, 3, 3, 1, 1, 1, PADDING_SAME, CONV3D_CHUNKED, 7);
    test_conv("3x3x3 stride 2 same, depth 3, chunked", 2, depth3, 3, 3, 3, 3, 2, 2, 2, PADDING_SAME, CONV3D_CHUNKED, 3);
    test_conv("7x7x7 stride 2 same, depth 2 (short stem)", 1, (const int[4]){2, 7, 7, 2}, 3, 7, 7, 7, 2, 2, 2,
              PADDING_SAME, -1, 0);
    /* Depth 1 through the transposed dX (2304 output cells). */
    test_conv("3x3x3 same, depth 1, 2304 cells", 4, (const int[4]){1, 24, 24, 2}, 3, 3, 3, 3, 1, 1, 1, PADDING_SAME,
              -1, 0);
    const int k3[3] = {3, 3, 3}, k7[3] = {7, 7, 7}, s1[3] = {1, 1, 1}, s2[3] = {2, 2, 2};
    test_conv_padding_taps("depth 1", 3, depth1, 4, k3, s1, -1, 0);
    test_conv_padding_taps("depth 1, chunked", 3, depth1, 4, k3, s1, CONV3D_CHUNKED, 5);
    test_conv_padding_taps("depth 2, chunked", 2, depth2, 4, k3, s1, CONV3D_CHUNKED, 7);
    test_conv_padding_taps("stride 2, depth 2 -> 1", 3, depth2, 4, k3, s2, -1, 0);
    test_conv_padding_taps("7x7x7 stride 2, depth 2", 2, (const int[4]){2, 7, 7, 2}, 3, k7, s2, -1, 0);
    test_conv_padding_taps("7x7x7 stride 2, depth 2, chunked", 2, (const int[4]){2, 7, 7, 2}, 3, k7, s2,
                           CONV3D_CHUNKED, 6);
    test_conv_modes_agree();

    test_batchnorm(40, 5, 0.0);
    test_batchnorm(2, 3, 0.0);
    test_batchnorm(300, 4, 1e3);
    test_batchnorm_moving_statistics();
    test_relu_add();
    test_avgpool();
    test_maxpool((const int[4]){5, 6, 7, 2}, 2, (const int[3]){3, 3, 3}, (const int[3]){2, 2, 2});
    test_maxpool_ties_and_nan();
    test_dense();
    test_loss(5);
    test_loss(1);
    test_adam();
    test_optimizer_step();

    test_network(18, 2, (const int[4]){4, 16, 16, 2}, 4, 3);
    test_network(50, 2, (const int[4]){4, 16, 16, 2}, 4, 3);
    return test_finish();
}
