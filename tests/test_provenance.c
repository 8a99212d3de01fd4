/* test_provenance.c: element provenance (src/replay/provenance.h) with
 * known answers:
 *   - a planted huge input channel in a small Conv3D is the dominant
 *     channel, its planted cells and taps are the top terms, top[] is sorted;
 *   - every output element of strided, padded ('same'/'valid') geometries
 *     sums to an independent long double evaluation, counts its in-bounds
 *     taps, and carries the input slice (0 on padding) and the kernel slice;
 *   - Dense, BatchNorm (mean and variance against a two-pass long double
 *     reference, the huge cell named with its sample/d/h/w) and Add;
 *   - products that overflow float32 but cancel sum to exactly 0 in double;
 *   - bad arguments fail with a clear message and leave nothing allocated;
 *   - the .npy slices read back with the right shape and values.
 *
 * Tolerances: every term is a product of two floats, exact in double, and
 * both provenance.c and the references here add them in long double, so the
 * sums differ by the final rounding to double plus a few long double
 * roundings: 1e-15 of sum |term| (which does not depend on the summation
 * order, unlike a relative error of a cancelling sum). */
#include <float.h>
#include <math.h>
#include <sys/stat.h>

#include "npy.h"
#include "provenance.h"
#include "test_util.h"

#define SUM_TOLERANCE 1e-15

/* Deterministic uniform floats in [lo, hi) (a 64-bit LCG, top 24 bits). */
static float uniform(unsigned long long *state, float lo, float hi)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (float)((*state >> 40) / 16777216.0);
}

static void fill(float *a, size_t n, unsigned long long *state, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) a[i] = uniform(state, lo, hi);
}

static int top_sorted(const provenance *p)
{
    for (int i = 1; i < p->top_count; i++)
        if (fabs(p->top[i - 1].term) < fabs(p->top[i].term)) return 0;
    return 1;
}

/* TensorFlow's rule, written out again: leading padding of one axis. */
static int pad_before(int in, int k, int s, int same)
{
    if (!same) return 0;
    int out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    return total > 0 ? total / 2 : 0;
}

static size_t x_index(const int in[4], int n, int d, int h, int w, int c)
{
    return ((((size_t)n * in[0] + d) * in[1] + h) * in[2] + w) * in[3] + (size_t)c;
}

static size_t k_index(const int k[3], int cin, int cout, int kd, int kh, int kw, int c, int oc)
{
    return ((((size_t)kd * k[1] + kh) * k[2] + kw) * cin + c) * cout + (size_t)oc;
}

/* ------------------------------------------------------------ planted channel */

static void test_planted_channel(void)
{
    const int in[4] = {4, 5, 5, 5}, kernel[3] = {3, 3, 3}, stride[3] = {1, 1, 1}, cout = 2, batch = 2;
    conv3d_geometry g;
    error err = {{0}};
    CHECK(conv3d_geometry_init(&g, in, cout, kernel, stride, PADDING_SAME, &err) == 0, "%s", err.message);
    const size_t xn = (size_t)batch * in[0] * in[1] * in[2] * in[3], kn = 27 * (size_t)in[3] * cout;
    float *x = malloc(xn * sizeof *x), *k = malloc(kn * sizeof *k), bias[2] = {0.5f, -0.25f};
    unsigned long long state = 1;
    fill(x, xn, &state, -1.0f, 1.0f);
    for (size_t i = 0; i < kn; i++) {
        float m = uniform(&state, 500.0f, 1500.0f);
        k[i] = uniform(&state, 0.0f, 1.0f) < 0.5f ? -m : m;
    }
    /* Sample 1, channel 3: two huge cells inside the window of (1,2,2).
     * Sample 0 gets a huge channel 1 there, so reading the wrong sample
     * would name channel 1. */
    const int planted[2][3] = {{1, 2, 2}, {2, 3, 1}};
    for (int i = 0; i < 2; i++) {
        x[x_index(in, 1, planted[i][0], planted[i][1], planted[i][2], 3)] = 1e30f;
        x[x_index(in, 0, planted[i][0], planted[i][1], planted[i][2], 1)] = 1e30f;
    }
    const int od = 1, oh = 2, ow = 2, oc = 1;
    provenance p;
    CHECK(provenance_conv(&g, x, k, bias, 1, od, oh, ow, oc, &p, &err) == 0, "%s", err.message);
    CHECK(p.dominant_channel == 3, "dominant channel %d, expected the planted 3", p.dominant_channel);
    CHECK(p.dominant_share > 0.99, "dominant share %g, expected > 0.99", p.dominant_share);
    CHECK(p.dominant_input_max == (double)1e30f, "dominant input max %g", p.dominant_input_max);
    CHECK(p.dominant_weight_typical >= 500.0 && p.dominant_weight_typical <= 1500.0, "typical weight %g",
          p.dominant_weight_typical);
    CHECK(p.term_count == 27L * in[3], "term count %ld, expected %d (no padding at (1,2,2))", p.term_count,
          27 * in[3]);
    CHECK(p.top_count == PROVENANCE_TOP, "top count %d", p.top_count);
    CHECK(top_sorted(&p), "top[] is not sorted by |term| descending");
    for (int t = 0; t < 2 && t < p.top_count; t++) {
        const provenance_term *pt = &p.top[t];
        int hit = -1;
        for (int i = 0; i < 2; i++)
            if (pt->d == planted[i][0] && pt->h == planted[i][1] && pt->w == planted[i][2]) hit = i;
        CHECK(pt->channel == 3 && pt->sample == 1 && hit >= 0, "top[%d] at sample %d (%d,%d,%d) channel %d", t,
              pt->sample, pt->d, pt->h, pt->w, pt->channel);
        if (hit < 0) continue;
        /* The window of (1,2,2) starts at (0,1,1) ('same', k 3: pad 1). */
        const int tap[3] = {planted[hit][0] - (od - 1), planted[hit][1] - (oh - 1), planted[hit][2] - (ow - 1)};
        CHECK(pt->tap[0] == tap[0] && pt->tap[1] == tap[1] && pt->tap[2] == tap[2],
              "top[%d] tap (%d,%d,%d), expected (%d,%d,%d)", t, pt->tap[0], pt->tap[1], pt->tap[2], tap[0], tap[1],
              tap[2]);
        float w = k[k_index(kernel, in[3], cout, tap[0], tap[1], tap[2], 3, oc)];
        CHECK(pt->input == (double)1e30f && pt->weight == (double)w && pt->term == (double)1e30f * (double)w,
              "top[%d] input %g weight %g term %g", t, pt->input, pt->weight, pt->term);
    }
    CHECK(p.top_count >= 2 && p.top[0].d + p.top[1].d == 3, "the two planted cells are not the two top terms");
    provenance_free(&p);
    free(x);
    free(k);
}

/* ------------------------------------------------------------ geometries */

typedef struct conv_case {
    int in[4], cout, kernel[3], stride[3], same;
} conv_case;

/* Checks one element against a brute force evaluation; returns the
 * padded taps it met (for the caller to see that padding was exercised). */
static int check_element(const conv_case *cc, const conv3d_geometry *g, const float *x, const float *k,
                         const float *bias, int n, int od, int oh, int ow, int oc, int *failures)
{
    provenance p;
    error err = {{0}};
    if (provenance_conv(g, x, k, bias, n, od, oh, ow, oc, &p, &err)) {
        CHECK(0, "element (%d,%d,%d,%d,%d): %s", n, od, oh, ow, oc, err.message);
        return 0;
    }
    const int C = cc->in[3], o[3] = {od, oh, ow};
    int start[3];
    for (int a = 0; a < 3; a++) start[a] = o[a] * cc->stride[a] - pad_before(cc->in[a], cc->kernel[a], cc->stride[a], cc->same);
    long double ref = bias ? bias[oc] : 0.0f, magnitude = fabsl(ref);
    long count = 0, padded = 0;
    int slices_ok = 1;
    for (int kd = 0; kd < cc->kernel[0]; kd++)
        for (int kh = 0; kh < cc->kernel[1]; kh++)
            for (int kw = 0; kw < cc->kernel[2]; kw++) {
                const int i[3] = {start[0] + kd, start[1] + kh, start[2] + kw};
                int inside = 1;
                for (int a = 0; a < 3; a++) inside &= i[a] >= 0 && i[a] < cc->in[a];
                padded += !inside;
                for (int c = 0; c < C; c++) {
                    size_t s = (((size_t)kd * cc->kernel[1] + kh) * cc->kernel[2] + kw) * C + c;
                    float kv = k[k_index(cc->kernel, C, cc->cout, kd, kh, kw, c, oc)];
                    float xv = inside ? x[x_index(cc->in, n, i[0], i[1], i[2], c)] : 0.0f;
                    slices_ok &= p.kernel_slice[s] == kv && p.input_slice[s] == xv;
                    if (!inside) continue;
                    ref += (long double)xv * kv;
                    magnitude += fabsl((long double)xv * kv);
                    count++;
                }
            }
    int ok = fabsl((long double)p.sum - ref) <= SUM_TOLERANCE * magnitude && p.term_count == count && slices_ok &&
             top_sorted(&p) && p.top_count == (count < PROVENANCE_TOP ? count : PROVENANCE_TOP) &&
             p.slice_rank == 4 && p.slice_shape[0] == cc->kernel[0] && p.slice_shape[3] == C;
    for (int t = 0; t < p.top_count; t++) {
        const provenance_term *pt = &p.top[t];
        ok &= pt->sample == n && pt->tap[0] == pt->d - start[0] && pt->tap[1] == pt->h - start[1] &&
              pt->tap[2] == pt->w - start[2] &&
              pt->input == x[x_index(cc->in, n, pt->d, pt->h, pt->w, pt->channel)] &&
              pt->weight == k[k_index(cc->kernel, C, cc->cout, pt->tap[0], pt->tap[1], pt->tap[2], pt->channel, oc)] &&
              pt->term == pt->input * pt->weight;
    }
    if (!ok && (*failures)++ < 5)
        CHECK(0, "in (%d,%d,%d,%d) k (%d,%d,%d) s (%d,%d,%d) %s, element (%d,%d,%d,%d,%d): sum %.17g vs %.17Lg, "
              "%ld terms vs %ld, slices %s, top %d sorted %d",
              cc->in[0], cc->in[1], cc->in[2], C, cc->kernel[0], cc->kernel[1], cc->kernel[2], cc->stride[0],
              cc->stride[1], cc->stride[2], cc->same ? "same" : "valid", n, od, oh, ow, oc, p.sum, ref,
              p.term_count, count, slices_ok ? "ok" : "wrong", p.top_count, top_sorted(&p));
    provenance_free(&p);
    return (int)padded;
}

static void test_geometries(void)
{
    static const conv_case cases[] = {
        {{5, 6, 7, 3}, 4, {3, 3, 3}, {1, 1, 1}, 1}, {{5, 6, 7, 3}, 4, {3, 3, 3}, {2, 2, 2}, 1},
        {{5, 6, 7, 3}, 4, {3, 3, 3}, {1, 1, 1}, 0}, {{5, 6, 7, 3}, 4, {3, 3, 3}, {2, 2, 2}, 0},
        {{5, 6, 7, 3}, 4, {1, 1, 1}, {1, 1, 1}, 1}, {{5, 6, 7, 3}, 4, {1, 1, 1}, {2, 2, 2}, 1},
        {{5, 6, 7, 3}, 4, {1, 1, 1}, {2, 2, 2}, 0}, {{4, 6, 5, 2}, 3, {2, 3, 1}, {2, 1, 2}, 1},
        {{6, 4, 5, 2}, 2, {3, 2, 3}, {1, 2, 2}, 1}, {{6, 4, 5, 2}, 2, {3, 2, 3}, {2, 1, 3}, 0},
    };
    const int batch = 2;
    unsigned long long state = 7;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const conv_case *cc = &cases[ci];
        conv3d_geometry g;
        error err = {{0}};
        if (conv3d_geometry_init(&g, cc->in, cc->cout, cc->kernel, cc->stride, cc->same ? PADDING_SAME : PADDING_VALID,
                                 &err)) {
            CHECK(0, "case %zu: %s", ci, err.message);
            continue;
        }
        int expected_out[3];
        for (int a = 0; a < 3; a++)
            expected_out[a] = cc->same ? (cc->in[a] + cc->stride[a] - 1) / cc->stride[a]
                                       : (cc->in[a] - cc->kernel[a]) / cc->stride[a] + 1;
        CHECK(g.out[0] == expected_out[0] && g.out[1] == expected_out[1] && g.out[2] == expected_out[2],
              "case %zu: output (%d,%d,%d)", ci, g.out[0], g.out[1], g.out[2]);
        const size_t xn = (size_t)batch * cc->in[0] * cc->in[1] * cc->in[2] * cc->in[3];
        const size_t kn = (size_t)cc->kernel[0] * cc->kernel[1] * cc->kernel[2] * cc->in[3] * cc->cout;
        float *x = malloc(xn * sizeof *x), *k = malloc(kn * sizeof *k), bias[4];
        fill(x, xn, &state, -2.0f, 2.0f);
        fill(k, kn, &state, -1.0f, 1.0f);
        fill(bias, 4, &state, -1.0f, 1.0f);
        int failures = 0, padded = 0, elements = 0;
        /* Every element: the borders and corners are among them. */
        for (int n = 0; n < batch; n++)
            for (int od = 0; od < g.out[0]; od++)
                for (int oh = 0; oh < g.out[1]; oh++)
                    for (int ow = 0; ow < g.out[2]; ow++)
                        for (int oc = 0; oc < cc->cout; oc++, elements++)
                            padded += check_element(cc, &g, x, k, (oc & 1) ? NULL : bias, n, od, oh, ow, oc, &failures);
        CHECK(failures == 0, "case %zu: %d of %d elements wrong", ci, failures, elements);
        int pads = 0;
        for (int a = 0; a < 3; a++) pads += cc->same && cc->kernel[a] > cc->stride[a];
        CHECK((padded > 0) == (pads > 0), "case %zu: %d padded taps met", ci, padded);
        free(x);
        free(k);
    }
}

/* ------------------------------------------------------------ Dense */

static void test_dense(void)
{
    enum { IN = 7, OUT = 3, BATCH = 2 };
    float x[BATCH * IN], k[IN * OUT], bias[OUT];
    unsigned long long state = 11;
    fill(x, BATCH * IN, &state, -1.0f, 1.0f);
    fill(k, IN * OUT, &state, -1.0f, 1.0f);
    fill(bias, OUT, &state, -1.0f, 1.0f);
    x[1 * IN + 4] = 1e20f;
    x[0 * IN + 2] = 1e20f; /* the other sample */
    provenance p;
    error err = {{0}};
    CHECK(provenance_dense(IN, OUT, x, k, bias, 1, 2, &p, &err) == 0, "%s", err.message);
    long double ref = bias[2], magnitude = fabsl(ref);
    int slices_ok = 1;
    for (int i = 0; i < IN; i++) {
        ref += (long double)x[IN + i] * k[i * OUT + 2];
        magnitude += fabsl((long double)x[IN + i] * k[i * OUT + 2]);
        slices_ok &= p.input_slice[i] == x[IN + i] && p.kernel_slice[i] == k[i * OUT + 2];
    }
    CHECK(fabsl((long double)p.sum - ref) <= SUM_TOLERANCE * magnitude, "Dense sum %.17g vs %.17Lg", p.sum, ref);
    CHECK(p.term_count == IN && p.top_count == IN && top_sorted(&p), "Dense terms %ld top %d", p.term_count,
          p.top_count);
    CHECK(slices_ok && p.slice_rank == 1 && p.slice_shape[0] == IN, "Dense slices are not the row and the column");
    CHECK(p.top[0].channel == 4 && p.top[0].sample == 1 && p.top[0].input == (double)1e20f, "Dense top[0] is %d",
          p.top[0].channel);
    CHECK(p.dominant_channel == 4 && p.dominant_share > 0.99, "Dense dominant %d (%g)", p.dominant_channel,
          p.dominant_share);
    provenance_free(&p);
}

/* ------------------------------------------------------------ BatchNorm */

static void check_batchnorm(const float *x, size_t cells, int channels, int channel, int variance,
                            int cells_per_sample, const int dims[3], const int planted[4])
{
    provenance p;
    error err = {{0}};
    if (provenance_batchnorm(cells, channels, x, channel, variance, cells_per_sample, dims, &p, &err)) {
        CHECK(0, "BatchNorm: %s", err.message);
        return;
    }
    /* Two passes in long double: the mean, then the squared deviations. */
    long double mean = 0.0L, var = 0.0L, magnitude = 0.0L;
    for (size_t i = 0; i < cells; i++) mean += x[i * channels + channel];
    mean /= (long double)cells;
    for (size_t i = 0; i < cells; i++) {
        long double dev = x[i * channels + channel] - mean;
        var += dev * dev;
        magnitude += fabsl((long double)x[i * channels + channel]);
    }
    var /= (long double)cells;
    long double ref = variance ? var : mean, scale = variance ? var : magnitude / (long double)cells;
    const char *what = variance ? "variance" : "mean";
    /* The variance terms round the deviation and its square to double
     * (a few ulps each, all terms positive): 1e-15 of the sum still holds. */
    CHECK(fabsl((long double)p.sum - ref) <= SUM_TOLERANCE * scale, "BatchNorm %s %.17g vs %.17Lg", what, p.sum, ref);
    CHECK(p.term_count == (long)cells && top_sorted(&p) && p.kernel_slice == NULL, "BatchNorm %s: %ld terms", what,
          p.term_count);
    int slices_ok = p.slice_rank == 1 && p.slice_shape[0] == (int)cells;
    for (size_t i = 0; slices_ok && i < cells; i++) slices_ok = p.input_slice[i] == x[i * channels + channel];
    CHECK(slices_ok, "BatchNorm %s: the input slice is not the channel's cells", what);
    CHECK(p.dominant_channel == channel && p.dominant_share == 1.0, "BatchNorm %s: dominant %d", what,
          p.dominant_channel);
    if (planted) {
        const provenance_term *t = &p.top[0];
        CHECK(t->channel == channel && t->sample == planted[0] && t->d == planted[1] && t->h == planted[2] &&
                  t->w == planted[3] && t->input == (double)1e20f,
              "BatchNorm %s: top term at sample %d (%d,%d,%d), expected %d (%d,%d,%d)", what, t->sample, t->d, t->h,
              t->w, planted[0], planted[1], planted[2], planted[3]);
        CHECK(p.dominant_input_max == (double)1e20f, "BatchNorm %s: input max %g", what, p.dominant_input_max);
        CHECK(fabs(t->term) > 0.99 * fabs(p.sum), "BatchNorm %s: top term %g of %g", what, t->term, p.sum);
    }
    provenance_free(&p);
}

static void test_batchnorm(void)
{
    enum { BATCH = 2, D = 3, H = 4, W = 5, C = 3 };
    const int dims[3] = {D, H, W}, cells_per_sample = D * H * W;
    const size_t cells = (size_t)BATCH * cells_per_sample;
    float *x = malloc(cells * C * sizeof *x);
    unsigned long long state = 13;
    fill(x, cells * C, &state, 0.5f, 1.5f); /* a non-zero mean: the variance must subtract it */
    const int planted[4] = {1, 2, 1, 3};
    size_t cell = (size_t)planted[0] * cells_per_sample + ((size_t)planted[1] * H + planted[2]) * W + planted[3];
    x[cell * C + 2] = 1e20f;
    check_batchnorm(x, cells, C, 2, 0, cells_per_sample, dims, planted);
    check_batchnorm(x, cells, C, 2, 1, cells_per_sample, dims, planted);
    check_batchnorm(x, cells, C, 0, 1, cells_per_sample, dims, NULL);
    check_batchnorm(x, cells, C, 1, 0, cells_per_sample, dims, NULL);
    free(x);
}

/* ------------------------------------------------------------ Add */

static void test_add(void)
{
    enum { N = 12, C = 3 };
    float a[N], b[N];
    unsigned long long state = 17;
    fill(a, N, &state, -1.0f, 1.0f);
    fill(b, N, &state, -1.0f, 1.0f);
    a[7] = 3e38f, b[7] = 3e38f; /* float32 overflows, double does not */
    b[5] = -1e30f;
    const size_t elements[3] = {7, 5, 0};
    for (int e = 0; e < 3; e++) {
        const size_t i = elements[e];
        provenance p;
        error err = {{0}};
        if (provenance_add(a, b, i, C, &p, &err)) {
            CHECK(0, "Add: %s", err.message);
            continue;
        }
        int big = fabsf(b[i]) > fabsf(a[i]);
        CHECK(p.sum == (double)a[i] + (double)b[i], "Add %zu: sum %g", i, p.sum);
        CHECK(p.term_count == 2 && p.top_count == 2 && top_sorted(&p), "Add %zu: %ld terms", i, p.term_count);
        CHECK(p.input_slice[0] == a[i] && p.input_slice[1] == b[i] && p.kernel_slice == NULL,
              "Add %zu: the slice is not (a, b)", i);
        CHECK(p.dominant_channel == big, "Add %zu: dominant input %d, expected %d", i, p.dominant_channel, big);
        CHECK(fabs(p.dominant_share - fabs(big ? b[i] : a[i]) / (fabs(a[i]) + fabs(b[i]))) < 1e-15,
              "Add %zu: share %g", i, p.dominant_share);
        CHECK(p.top[0].channel == (int)(i % C), "Add %zu: channel %d", i, p.top[0].channel);
        provenance_free(&p);
    }
}

/* ------------------------------------------------------------ cancellation */

static void test_cancellation(void)
{
    /* x = 1e30 on channels 0 and 1 everywhere, taps +1e10 on channel 0 and
     * -1e10 on channel 1: every product is +-T with one T, so the sum is
     * exactly 0 in any order, while float32 overflows on each product. */
    const int in[4] = {3, 3, 3, 2}, kernel[3] = {3, 3, 3}, stride[3] = {1, 1, 1};
    conv3d_geometry g;
    error err = {{0}};
    CHECK(conv3d_geometry_init(&g, in, 1, kernel, stride, PADDING_SAME, &err) == 0, "%s", err.message);
    float x[54], k[54];
    for (int i = 0; i < 54; i++) {
        x[i] = 1e30f;
        k[i] = (i % 2) ? -1e10f : 1e10f;
    }
    const double T = (double)1e30f * (double)1e10f;
    CHECK(isinf(1e30f * 1e10f), "the float32 product should overflow");
    const int elements[2][3] = {{1, 1, 1}, {0, 2, 0}};
    for (int e = 0; e < 2; e++) {
        provenance p;
        const int *o = elements[e];
        if (provenance_conv(&g, x, k, NULL, 0, o[0], o[1], o[2], 0, &p, &err)) {
            CHECK(0, "%s", err.message);
            continue;
        }
        CHECK(p.sum == 0.0, "(%d,%d,%d): sum %g, expected exactly 0", o[0], o[1], o[2], p.sum);
        CHECK(p.top_count >= 2 && fabs(p.top[0].term) == T && fabs(p.top[1].term) == T,
              "(%d,%d,%d): top terms %g, %g, expected +-%g", o[0], o[1], o[2], p.top[0].term, p.top[1].term, T);
        int plus = 0, minus = 0;
        for (int t = 0; t < p.top_count; t++) {
            plus += p.top[t].term == T && p.top[t].channel == 0;
            minus += p.top[t].term == -T && p.top[t].channel == 1;
        }
        CHECK(plus + minus == p.top_count && plus > 0 && minus > 0, "(%d,%d,%d): %d +T on channel 0, %d -T on 1",
              o[0], o[1], o[2], plus, minus);
        CHECK(T > 9.9e39 && T < 1.01e40, "T = %g", T);
        CHECK(p.dominant_share == 0.5, "(%d,%d,%d): share %g, expected the halves", o[0], o[1], o[2],
              p.dominant_share);
        provenance_free(&p);
    }
}

/* ------------------------------------------------------------ bad arguments */

#define CHECK_ERROR(call, text)                                                                          \
    do {                                                                                                 \
        provenance p_;                                                                                   \
        error e_ = {{0}};                                                                                \
        int rc_ = call;                                                                                  \
        CHECK(rc_ == -1 && strstr(e_.message, text) != NULL, "%s: rc %d, message '%s', expected '%s'", \
              #call, rc_, e_.message, text);                                                             \
        CHECK(p_.input_slice == NULL && p_.kernel_slice == NULL, "%s left slices allocated", #call);     \
        provenance_free(&p_);                                                                            \
    } while (0)

static void test_bad_arguments(void)
{
    const int in[4] = {3, 4, 5, 2}, kernel[3] = {3, 3, 3}, stride[3] = {2, 2, 2};
    conv3d_geometry g;
    error err = {{0}};
    CHECK(conv3d_geometry_init(&g, in, 3, kernel, stride, PADDING_SAME, &err) == 0, "%s", err.message);
    float x[120] = {0}, k[162] = {0};
    CHECK_ERROR(provenance_conv(&g, x, k, NULL, 0, g.out[0], 0, 0, 0, &p_, &e_), "outside the Conv3D output");
    CHECK_ERROR(provenance_conv(&g, x, k, NULL, 0, 0, -1, 0, 0, &p_, &e_), "(0,0,-1,0,0) is outside");
    CHECK_ERROR(provenance_conv(&g, x, k, NULL, 0, 0, 0, g.out[2], 0, &p_, &e_), "outside the Conv3D output");
    CHECK_ERROR(provenance_conv(&g, x, k, NULL, -1, 0, 0, 0, 0, &p_, &e_), "outside the Conv3D output");
    CHECK_ERROR(provenance_conv(&g, x, k, NULL, 0, 0, 0, 0, 3, &p_, &e_), "outside the Conv3D output");
    CHECK_ERROR(provenance_conv(&g, NULL, k, NULL, 0, 0, 0, 0, 0, &p_, &e_), "no input or kernel");
    CHECK_ERROR(provenance_conv(&g, x, NULL, NULL, 0, 0, 0, 0, 0, &p_, &e_), "no input or kernel");
    CHECK_ERROR(provenance_dense(4, 3, x, k, NULL, 0, 3, &p_, &e_), "logit (0,3) is outside the Dense output");
    CHECK_ERROR(provenance_dense(4, 3, x, k, NULL, -1, 0, &p_, &e_), "outside the Dense output");
    CHECK_ERROR(provenance_dense(4, 3, NULL, k, NULL, 0, 0, &p_, &e_), "no input or kernel");
    const int dims[3] = {2, 3, 4};
    CHECK_ERROR(provenance_batchnorm(24, 5, x, 5, 1, 24, dims, &p_, &e_), "channel 5 is outside the BatchNorm's 5");
    CHECK_ERROR(provenance_batchnorm(24, 5, x, -1, 0, 24, dims, &p_, &e_), "channel -1 is outside");
    CHECK_ERROR(provenance_batchnorm(24, 5, NULL, 0, 0, 24, dims, &p_, &e_), "no input");
    CHECK_ERROR(provenance_batchnorm(24, 5, x, 0, 0, 24, NULL, &p_, &e_), "no input");
    CHECK_ERROR(provenance_add(NULL, x, 0, 2, &p_, &e_), "no inputs for the Add element");
    CHECK_ERROR(provenance_add(x, NULL, 0, 2, &p_, &e_), "no inputs for the Add element");
}

/* ------------------------------------------------------------ .npy */

static int npy_matches(const char *path, const provenance *p, const float *values, char *why, size_t size)
{
    npy_array a;
    error err = {{0}};
    if (npy_open(&a, path, NULL, &err)) return snprintf(why, size, "%s", err.message), 0;
    int ok = strcmp(a.descr, "<f4") == 0 && a.rank == p->slice_rank;
    for (int i = 0; ok && i < a.rank; i++) ok = a.shape[i] == p->slice_shape[i];
    if (!ok) snprintf(why, size, "%s: dtype %s rank %d", path, a.descr, a.rank);
    float *data = malloc(a.count * sizeof *data);
    if (ok && data) {
        memcpy(data, a.data, a.count * sizeof *data); /* a.data may be unaligned */
        ok = memcmp(data, values, a.count * sizeof *data) == 0;
        if (!ok) snprintf(why, size, "%s: values differ", path);
    }
    free(data);
    npy_close(&a);
    return ok;
}

static void test_npy(void)
{
    char dir[256], input_path[512], kernel_path[512], why[1200] = "";
    CHECK(test_temp_dir(dir, sizeof dir, "provenance") == 0, "no temporary directory");
    snprintf(input_path, sizeof input_path, "%s/input.npy", dir);
    snprintf(kernel_path, sizeof kernel_path, "%s/kernel.npy", dir);
    const int in[4] = {4, 4, 4, 3}, kernel[3] = {3, 2, 3}, stride[3] = {1, 1, 1};
    conv3d_geometry g;
    error err = {{0}};
    CHECK(conv3d_geometry_init(&g, in, 2, kernel, stride, PADDING_SAME, &err) == 0, "%s", err.message);
    float x[192], k[108];
    unsigned long long state = 19;
    fill(x, 192, &state, -3.0f, 3.0f);
    fill(k, 108, &state, -1.0f, 1.0f);
    provenance p;
    CHECK(provenance_conv(&g, x, k, NULL, 0, 0, 3, 3, 1, &p, &err) == 0, "%s", err.message);
    CHECK(provenance_write_npy(&p, input_path, kernel_path, &err) == 0, "%s", err.message);
    CHECK(npy_matches(input_path, &p, p.input_slice, why, sizeof why), "%s", why);
    CHECK(npy_matches(kernel_path, &p, p.kernel_slice, why, sizeof why), "%s", why);
    /* A corner: the input slice holds padding zeros, and they survive the file. */
    int zeros = 0;
    for (int i = 0; i < 3 * 2 * 3 * 3; i++) zeros += p.input_slice[i] == 0.0f;
    CHECK(zeros > 0, "the corner's input slice has no padding zeros");
    provenance_free(&p);

    /* BatchNorm has no kernel slice: no kernel file. */
    const int dims[3] = {4, 4, 4};
    char bn_kernel[512];
    snprintf(bn_kernel, sizeof bn_kernel, "%s/bn-kernel.npy", dir);
    CHECK(provenance_batchnorm(64, 3, x, 1, 1, 64, dims, &p, &err) == 0, "%s", err.message);
    CHECK(provenance_write_npy(&p, input_path, bn_kernel, &err) == 0, "%s", err.message);
    CHECK(npy_matches(input_path, &p, p.input_slice, why, sizeof why), "%s", why);
    struct stat st;
    CHECK(stat(bn_kernel, &st) != 0, "a kernel file was written without a kernel slice");

    const char *bad = "/nonexistent-nanprobe-dir/input.npy";
    error bad_err = {{0}};
    CHECK(provenance_write_npy(&p, bad, NULL, &bad_err) == -1 && strstr(bad_err.message, bad) != NULL,
          "unwritable path: message '%s'", bad_err.message);
    provenance_free(&p);
    test_remove_tree(dir);
}

int main(void)
{
    test_planted_channel();
    test_geometries();
    test_dense();
    test_batchnorm();
    test_add();
    test_cancellation();
    test_bad_arguments();
    test_npy();
    return test_finish();
}
