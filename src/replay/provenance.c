/* provenance.c: the terms of one element's sum, in float64 (see
 * provenance.h).
 *
 * A product of two floats is exact in double (24 + 24 bits < 53), so each
 * term is exactly what float32 tried to add; the sum is taken in long
 * double over the terms in scan order, which for the few thousand terms of
 * a receptive field leaves an error far below any share we report. */
#include "provenance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

/* Keeps the PROVENANCE_TOP largest |term| (the first seen wins ties). */
static void keep_term(provenance *p, const provenance_term *t)
{
    int n = p->top_count;
    if (n == PROVENANCE_TOP && fabs(t->term) <= fabs(p->top[n - 1].term)) return;
    int i = n < PROVENANCE_TOP ? n : n - 1;
    while (i > 0 && fabs(p->top[i - 1].term) < fabs(t->term)) {
        p->top[i] = p->top[i - 1];
        i--;
    }
    p->top[i] = *t;
    if (n < PROVENANCE_TOP) p->top_count++;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Per-channel shares from the slices: channel of slice element i is
 * i % channels, and the terms are input * weight (weight 1 without a kernel). */
static int dominant_channel(provenance *p, int channels, error *err)
{
    size_t n = 1;
    for (int a = 0; a < p->slice_rank; a++) n *= (size_t)p->slice_shape[a];
    double *share = calloc((size_t)channels, sizeof *share), total = 0.0;
    double *weights = malloc(n * sizeof *weights);
    if (!share || !weights) {
        free(share);
        free(weights);
        return error_set(err, "out of memory for the provenance of an element");
    }
    for (size_t i = 0; i < n; i++) {
        double w = p->kernel_slice ? p->kernel_slice[i] : 1.0;
        double t = fabs((double)p->input_slice[i] * w);
        if (isnan(t)) t = INFINITY;
        share[i % (size_t)channels] += t;
        total += t;
    }
    int best = 0;
    for (int c = 1; c < channels; c++)
        if (share[c] > share[best]) best = c;
    p->dominant_channel = best;
    p->dominant_share = total > 0.0 && isfinite(total) ? share[best] / total : (total > 0.0 ? 1.0 : 0.0);
    size_t m = 0;
    p->dominant_input_max = 0.0;
    for (size_t i = (size_t)best; i < n; i += (size_t)channels) {
        double x = fabs((double)p->input_slice[i]);
        if (x > p->dominant_input_max) p->dominant_input_max = x;
        if (p->input_slice[i] != 0.0f) weights[m++] = p->kernel_slice ? fabs((double)p->kernel_slice[i]) : 1.0;
    }
    qsort(weights, m, sizeof *weights, compare_double);
    p->dominant_weight_typical = m ? weights[m / 2] : 0.0;
    free(share);
    free(weights);
    return 0;
}

static int slices_alloc(provenance *p, size_t n, int with_kernel, error *err)
{
    p->input_slice = calloc(n, sizeof(float));
    p->kernel_slice = with_kernel ? calloc(n, sizeof(float)) : NULL;
    if (!p->input_slice || (with_kernel && !p->kernel_slice)) {
        provenance_free(p);
        return error_set(err, "out of memory for the provenance of an element");
    }
    return 0;
}

/* ------------------------------------------------------------ Conv3D */

int provenance_conv(const conv3d_geometry *g, const float *x, const float *kernel, const float *bias, int sample,
                    int d, int h, int w, int out_channel, provenance *p, error *err)
{
    memset(p, 0, sizeof *p);
    const int D = g->in[0], H = g->in[1], W = g->in[2], C = g->in[3], cout = g->out[3];
    if (!x || !kernel) return error_set(err, "provenance: no input or kernel for the Conv3D element");
    if (sample < 0 || d < 0 || d >= g->out[0] || h < 0 || h >= g->out[1] || w < 0 ||
        w >= g->out[2] || out_channel < 0 || out_channel >= cout)
        return error_set(err, "provenance: element (%d,%d,%d,%d,%d) is outside the Conv3D output", sample, d, h, w,
                         out_channel);
    const int KD = g->kernel[0], KH = g->kernel[1], KW = g->kernel[2];
    p->slice_rank = 4;
    p->slice_shape[0] = KD, p->slice_shape[1] = KH, p->slice_shape[2] = KW, p->slice_shape[3] = C;
    if (slices_alloc(p, (size_t)KD * KH * KW * C, 1, err)) return -1;
    p->bias = bias ? bias[out_channel] : 0.0;
    long double sum = p->bias;
    for (int kd = 0; kd < KD; kd++)
        for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
                int id = d * g->stride[0] + kd - g->pad[0], ih = h * g->stride[1] + kh - g->pad[1],
                    iw = w * g->stride[2] + kw - g->pad[2];
                int inside = id >= 0 && id < D && ih >= 0 && ih < H && iw >= 0 && iw < W;
                for (int c = 0; c < C; c++) {
                    size_t tap = (((size_t)kd * KH + kh) * KW + kw) * C + c;
                    float k = kernel[tap * (size_t)cout + (size_t)out_channel];
                    p->kernel_slice[tap] = k;
                    if (!inside) continue; /* padding: no term */
                    float v = x[((((size_t)sample * D + id) * H + ih) * W + iw) * C + (size_t)c];
                    p->input_slice[tap] = v;
                    provenance_term t = {.channel = c, .sample = sample, .d = id, .h = ih, .w = iw,
                                         .tap = {kd, kh, kw}, .input = v, .weight = k, .term = (double)v * k};
                    sum += t.term;
                    p->term_count++;
                    keep_term(p, &t);
                }
            }
    p->sum = (double)sum;
    return dominant_channel(p, C, err);
}

/* ------------------------------------------------------------ Dense */

int provenance_dense(int in, int out, const float *x, const float *kernel, const float *bias, int sample, int unit,
                     provenance *p, error *err)
{
    memset(p, 0, sizeof *p);
    if (!x || !kernel) return error_set(err, "provenance: no input or kernel for the Dense logit");
    if (in < 1 || sample < 0 || unit < 0 || unit >= out)
        return error_set(err, "provenance: logit (%d,%d) is outside the Dense output", sample, unit);
    p->slice_rank = 1;
    p->slice_shape[0] = in;
    if (slices_alloc(p, (size_t)in, 1, err)) return -1;
    p->bias = bias ? bias[unit] : 0.0;
    long double sum = p->bias;
    for (int i = 0; i < in; i++) {
        float v = x[(size_t)sample * in + i], k = kernel[(size_t)i * out + unit];
        p->input_slice[i] = v;
        p->kernel_slice[i] = k;
        provenance_term t = {.channel = i, .sample = sample, .d = -1, .h = -1, .w = -1, .tap = {-1, -1, -1},
                             .input = v, .weight = k, .term = (double)v * k};
        sum += t.term;
        p->term_count++;
        keep_term(p, &t);
    }
    p->sum = (double)sum;
    return dominant_channel(p, in, err);
}

/* ------------------------------------------------------------ BatchNorm */

int provenance_batchnorm(size_t cells, int channels, const float *x, int channel, int variance,
                         int cells_per_sample, const int dims[3], provenance *p, error *err)
{
    memset(p, 0, sizeof *p);
    if (!x || !dims) return error_set(err, "provenance: no input or shape for the BatchNorm statistic");
    if (cells < 1 || channel < 0 || channel >= channels || cells_per_sample < 1)
        return error_set(err, "provenance: channel %d is outside the BatchNorm's %d channels", channel, channels);
    p->slice_rank = 1;
    p->slice_shape[0] = (int)cells;
    if (slices_alloc(p, cells, 0, err)) return -1;
    long double mean = 0.0L;
    for (size_t i = 0; i < cells; i++) mean += x[i * (size_t)channels + (size_t)channel];
    mean /= (long double)cells;
    long double sum = 0.0L;
    for (size_t i = 0; i < cells; i++) {
        float v = x[i * (size_t)channels + (size_t)channel];
        p->input_slice[i] = v;
        double deviation = (double)((long double)v - mean);
        double term = variance ? deviation * deviation / (double)cells : (double)v / (double)cells;
        size_t within = i % (size_t)cells_per_sample;
        provenance_term t = {.channel = channel, .sample = (int)(i / (size_t)cells_per_sample),
                             .d = (int)(within / ((size_t)dims[1] * dims[2])),
                             .h = (int)(within / (size_t)dims[2] % (size_t)dims[1]),
                             .w = (int)(within % (size_t)dims[2]), .tap = {-1, -1, -1}, .input = v,
                             .weight = 1.0, .term = term};
        sum += term;
        p->term_count++;
        keep_term(p, &t);
    }
    p->sum = (double)sum;
    /* One channel only: its share is whole; the terms say which cells. */
    p->dominant_channel = channel;
    p->dominant_share = 1.0;
    p->dominant_weight_typical = 1.0;
    for (size_t i = 0; i < cells; i++)
        if (fabs((double)p->input_slice[i]) > p->dominant_input_max) p->dominant_input_max = fabs(p->input_slice[i]);
    return 0;
}

/* ------------------------------------------------------------ Add */

int provenance_add(const float *a, const float *b, size_t element, int channels, provenance *p, error *err)
{
    memset(p, 0, sizeof *p);
    if (!a || !b || channels < 1) return error_set(err, "provenance: no inputs for the Add element");
    p->slice_rank = 1;
    p->slice_shape[0] = 2;
    if (slices_alloc(p, 2, 0, err)) return -1;
    const float v[2] = {a[element], b[element]};
    for (int k = 0; k < 2; k++) {
        p->input_slice[k] = v[k];
        provenance_term t = {.channel = (int)(element % (size_t)channels), .sample = -1, .d = -1, .h = -1,
                             .w = -1, .tap = {-1, -1, -1}, .input = v[k], .weight = 1.0, .term = v[k]};
        p->term_count++;
        keep_term(p, &t);
    }
    p->sum = (double)v[0] + (double)v[1];
    /* "channel" of an Add is which input: 0 the shortcut, 1 the residual. */
    int big = fabs((double)v[1]) > fabs((double)v[0]);
    double total = fabs((double)v[0]) + fabs((double)v[1]);
    p->dominant_channel = big;
    p->dominant_share = total > 0.0 ? fabs((double)v[big]) / total : 0.0;
    p->dominant_input_max = fabs((double)v[big]);
    p->dominant_weight_typical = 1.0;
    return 0;
}

/* ------------------------------------------------------------ files */

int provenance_write_npy(const provenance *p, const char *input_path, const char *kernel_path, error *err)
{
    int64_t shape[4];
    for (int a = 0; a < p->slice_rank; a++) shape[a] = p->slice_shape[a];
    if (npy_write(input_path, "<f4", p->slice_rank, shape, p->input_slice, 1, err)) return -1;
    if (p->kernel_slice && kernel_path && npy_write(kernel_path, "<f4", p->slice_rank, shape, p->kernel_slice, 1, err))
        return -1;
    return 0;
}

void provenance_free(provenance *p)
{
    free(p->input_slice);
    free(p->kernel_slice);
    p->input_slice = p->kernel_slice = NULL;
}
