/* conv3d.c: Conv3D forward and backward through cblas_sgemm (see conv3d.h).
 *
 * Three ways to run the same GEMMs, chosen by size:
 *  - pointwise: a 1x1x1 stride-1 kernel, the input is its own Col matrix;
 *  - whole: Col (M x K floats) fits in WHOLE_COL_LIMIT, so it is built once
 *    and each product is one multi-threaded sgemm (late stages: small M,
 *    large K and Cout, where splitting the output columns over threads is
 *    what keeps OpenBLAS efficient);
 *  - chunked: Col would be large (the stem, the first stage), so each thread
 *    builds and consumes Col a few megabytes at a time while it is still in
 *    cache, calling a single-threaded sgemm on its own rows.  Writing the
 *    whole Col to memory and reading it back would cost about as much as the
 *    GEMM itself for Cout = 64.
 * The backward input gradient scatters dCol back (col2im); threads own whole
 * samples there, so no two threads ever add into the same cell. */
#include "conv3d.h"

#include <assert.h>
#include <cblas.h>
#include <omp.h>
#include <string.h>

/* Col rows per thread-chunk are chosen to make a chunk about this many floats. */
#define CHUNK_TARGET_FLOATS ((size_t)1 << 20)
/* Largest Col (floats) built in one piece. */
#define WHOLE_COL_LIMIT ((size_t)8 << 20)

static size_t cells_per_sample(const conv3d_geometry *g)
{
    return (size_t)g->out[0] * g->out[1] * g->out[2];
}

static size_t col_width(const conv3d_geometry *g)
{
    return (size_t)g->kernel[0] * g->kernel[1] * g->kernel[2] * g->in[3];
}

void conv3d_plan(conv3d_geometry *g, int batch)
{
    int pointwise = g->kernel[0] == 1 && g->kernel[1] == 1 && g->kernel[2] == 1 &&
                    g->stride[0] == 1 && g->stride[1] == 1 && g->stride[2] == 1;
    size_t col = (size_t)batch * cells_per_sample(g) * col_width(g);
    g->mode = pointwise ? CONV3D_POINTWISE : col <= WHOLE_COL_LIMIT ? CONV3D_WHOLE : CONV3D_CHUNKED;
    g->chunk_rows = CHUNK_TARGET_FLOATS / col_width(g);
    if (g->chunk_rows < 16) g->chunk_rows = 16;
}

int conv3d_geometry_init(conv3d_geometry *g, const int in[4], int filters,
                         const int kernel[3], const int stride[3],
                         padding_kind padding, error *err)
{
    memset(g, 0, sizeof *g);
    if (filters <= 0) return error_set(err, "Conv3D needs at least one filter, got %d", filters);
    for (int a = 0; a < 3; a++) {
        if (kernel[a] <= 0 || stride[a] <= 0)
            return error_set(err, "Conv3D kernel and strides must be positive");
        g->in[a] = in[a];
        g->kernel[a] = kernel[a];
        g->stride[a] = stride[a];
        g->out[a] = window_output_size(in[a], kernel[a], stride[a], padding, &g->pad[a]);
        if (g->out[a] <= 0)
            return error_set(err, "Conv3D kernel %d does not fit input size %d with '%s' padding",
                             kernel[a], in[a], padding_name(padding));
    }
    g->in[3] = in[3];
    g->out[3] = filters;
    g->padding = padding;
    conv3d_plan(g, 1);
    return 0;
}

size_t conv3d_kernel_count(const conv3d_geometry *g)
{
    return col_width(g) * (size_t)g->out[3];
}

/* The workspace starts with one row of double bias-gradient partials per
 * thread; the GEMM scratch follows, 64-byte aligned. */
static size_t bias_partials_floats(const conv3d_geometry *g, int threads)
{
    return ((2 * (size_t)threads * (size_t)g->out[3]) + 15) & ~(size_t)15;
}

size_t conv3d_workspace_floats(const conv3d_geometry *g, int batch, int threads)
{
    size_t K = col_width(g), cout = (size_t)g->out[3];
    size_t bias_partials = bias_partials_floats(g, threads);
    switch (g->mode) {
    case CONV3D_POINTWISE:
        return bias_partials;
    case CONV3D_WHOLE:
        return (size_t)batch * cells_per_sample(g) * K + bias_partials;
    case CONV3D_CHUNKED:
        /* A Col chunk per thread, plus a private kernel gradient for every
         * thread but the first (which writes the result directly). */
        return (size_t)threads * g->chunk_rows * K + (size_t)(threads - 1) * K * cout +
               bias_partials;
    }
    return 0;
}

/* Col rows [r0, r1) of the batch into col (row-major, K floats a row).
 * For a fixed (kd, kh) the kw taps read consecutive input cells, so each
 * (kd, kh) becomes one memcpy of up to kw*Cin floats plus zero fill. */
static void vol2col_rows(const conv3d_geometry *g, const float *x, size_t r0, size_t r1, float *col)
{
    const int D = g->in[0], H = g->in[1], W = g->in[2], C = g->in[3];
    const int Do = g->out[0], Ho = g->out[1], Wo = g->out[2];
    const int KD = g->kernel[0], KH = g->kernel[1], KW = g->kernel[2];
    const size_t K = col_width(g);
    for (size_t r = r0; r < r1; r++) {
        size_t t = r;
        int ow = (int)(t % (size_t)Wo); t /= (size_t)Wo;
        int oh = (int)(t % (size_t)Ho); t /= (size_t)Ho;
        int od = (int)(t % (size_t)Do);
        size_t n = t / (size_t)Do;
        float *row = col + (r - r0) * K;
        int iw0 = ow * g->stride[2] - g->pad[2];
        int kw_lo = iw0 < 0 ? -iw0 : 0;
        int kw_hi = W - iw0 < KW ? W - iw0 : KW;
        for (int kd = 0; kd < KD; kd++) {
            int id = od * g->stride[0] - g->pad[0] + kd;
            for (int kh = 0; kh < KH; kh++) {
                int ih = oh * g->stride[1] - g->pad[1] + kh;
                float *seg = row + (size_t)(kd * KH + kh) * KW * C;
                if (id < 0 || id >= D || ih < 0 || ih >= H || kw_hi <= kw_lo) {
                    memset(seg, 0, sizeof(float) * (size_t)KW * C);
                    continue;
                }
                const float *src = x + (((n * D + id) * H + ih) * W + iw0 + kw_lo) * C;
                if (kw_lo > 0) memset(seg, 0, sizeof(float) * (size_t)kw_lo * C);
                memcpy(seg + (size_t)kw_lo * C, src, sizeof(float) * (size_t)(kw_hi - kw_lo) * C);
                if (kw_hi < KW)
                    memset(seg + (size_t)kw_hi * C, 0, sizeof(float) * (size_t)(KW - kw_hi) * C);
            }
        }
    }
}

/* The adjoint of vol2col_rows: adds Col rows [r0, r1) back into dx. */
static void col2vol_rows(const conv3d_geometry *g, const float *col, size_t r0, size_t r1, float *dx)
{
    const int D = g->in[0], H = g->in[1], W = g->in[2], C = g->in[3];
    const int Do = g->out[0], Ho = g->out[1], Wo = g->out[2];
    const int KD = g->kernel[0], KH = g->kernel[1], KW = g->kernel[2];
    const size_t K = col_width(g);
    for (size_t r = r0; r < r1; r++) {
        size_t t = r;
        int ow = (int)(t % (size_t)Wo); t /= (size_t)Wo;
        int oh = (int)(t % (size_t)Ho); t /= (size_t)Ho;
        int od = (int)(t % (size_t)Do);
        size_t n = t / (size_t)Do;
        const float *row = col + (r - r0) * K;
        int iw0 = ow * g->stride[2] - g->pad[2];
        int kw_lo = iw0 < 0 ? -iw0 : 0;
        int kw_hi = W - iw0 < KW ? W - iw0 : KW;
        if (kw_hi <= kw_lo) continue;
        size_t span = (size_t)(kw_hi - kw_lo) * C;
        for (int kd = 0; kd < KD; kd++) {
            int id = od * g->stride[0] - g->pad[0] + kd;
            if (id < 0 || id >= D) continue;
            for (int kh = 0; kh < KH; kh++) {
                int ih = oh * g->stride[1] - g->pad[1] + kh;
                if (ih < 0 || ih >= H) continue;
                const float *seg = row + ((size_t)(kd * KH + kh) * KW + kw_lo) * C;
                float *dst = dx + (((n * D + id) * H + ih) * W + iw0 + kw_lo) * C;
                for (size_t i = 0; i < span; i++) dst[i] += seg[i];
            }
        }
    }
}

static void add_bias(float *y, size_t rows, int cout, const float *bias)
{
    #pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * (size_t)cout;
        for (int c = 0; c < cout; c++) row[c] += bias[c];
    }
}

/* Column sums of dy into dbias, accumulated in double per thread (a bias
 * gradient sums up to ~10^6 terms) and reduced in thread order, so the
 * result does not depend on scheduling. */
static void bias_gradient(const float *dy, size_t rows, int cout, float *dbias, double *partials)
{
    int threads = 1;
    #pragma omp parallel
    {
        int tid = omp_get_thread_num();
        #pragma omp single
        threads = omp_get_num_threads();
        double *acc = partials + (size_t)tid * cout;
        for (int c = 0; c < cout; c++) acc[c] = 0.0;
        #pragma omp for schedule(static)
        for (size_t r = 0; r < rows; r++) {
            const float *row = dy + r * (size_t)cout;
            for (int c = 0; c < cout; c++) acc[c] += row[c];
        }
    }
    for (int c = 0; c < cout; c++) {
        double s = 0.0;
        for (int t = 0; t < threads; t++) s += partials[(size_t)t * cout + c];
        dbias[c] = (float)s;
    }
}

void conv3d_forward(const conv3d_geometry *g, int batch, const float *x,
                    const float *kernel, const float *bias, float *y,
                    float *workspace)
{
    const size_t M = (size_t)batch * cells_per_sample(g), K = col_width(g);
    const int cout = g->out[3];
    workspace += bias_partials_floats(g, omp_get_max_threads());
    switch (g->mode) {
    case CONV3D_POINTWISE:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, cout, (int)K, 1.0f,
                    x, (int)K, kernel, cout, 0.0f, y, cout);
        add_bias(y, M, cout, bias);
        return;
    case CONV3D_WHOLE: {
        float *col = workspace;
        #pragma omp parallel for schedule(static)
        for (size_t r = 0; r < M; r++) vol2col_rows(g, x, r, r + 1, col + r * K);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, cout, (int)K, 1.0f,
                    col, (int)K, kernel, cout, 0.0f, y, cout);
        add_bias(y, M, cout, bias);
        return;
    }
    case CONV3D_CHUNKED: {
        const size_t rows = g->chunk_rows;
        #pragma omp parallel
        {
            int threads = omp_get_num_threads(), tid = omp_get_thread_num();
            float *col = workspace + (size_t)tid * rows * K;
            size_t begin = M * tid / threads, end = M * (tid + 1) / threads;
            for (size_t r = begin; r < end; r += rows) {
                size_t n = end - r < rows ? end - r : rows;
                vol2col_rows(g, x, r, r + n, col);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, cout, (int)K, 1.0f,
                            col, (int)K, kernel, cout, 0.0f, y + r * cout, cout);
                for (size_t i = 0; i < n; i++)
                    for (int c = 0; c < cout; c++) y[(r + i) * cout + c] += bias[c];
            }
        }
        return;
    }
    }
}

void conv3d_backward(const conv3d_geometry *g, int batch, const float *x,
                     const float *kernel, const float *dy, float *dkernel,
                     float *dbias, float *dx, int accumulate_dx,
                     float *workspace)
{
    const size_t cells = cells_per_sample(g);
    const size_t M = (size_t)batch * cells, K = col_width(g);
    const size_t in_sample = (size_t)g->in[0] * g->in[1] * g->in[2] * g->in[3];
    const int cout = g->out[3];
    double *bias_partials = (double *)workspace;
    workspace += bias_partials_floats(g, omp_get_max_threads());

    switch (g->mode) {
    case CONV3D_POINTWISE:
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, cout, (int)M, 1.0f,
                    x, (int)K, dy, cout, 0.0f, dkernel, cout);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)K, cout, 1.0f,
                        dy, cout, kernel, cout, accumulate_dx ? 1.0f : 0.0f, dx, (int)K);
        break;
    case CONV3D_WHOLE: {
        float *col = workspace;
        #pragma omp parallel for schedule(static)
        for (size_t r = 0; r < M; r++) vol2col_rows(g, x, r, r + 1, col + r * K);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, cout, (int)M, 1.0f,
                    col, (int)K, dy, cout, 0.0f, dkernel, cout);
        if (!dx) break;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)K, cout, 1.0f,
                    dy, cout, kernel, cout, 0.0f, col, (int)K);
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < batch; n++) {
            float *dx_n = dx + (size_t)n * in_sample;
            if (!accumulate_dx) memset(dx_n, 0, sizeof(float) * in_sample);
            col2vol_rows(g, col + (size_t)n * cells * K, (size_t)n * cells, (size_t)(n + 1) * cells, dx);
        }
        break;
    }
    case CONV3D_CHUNKED: {
        const size_t rows = g->chunk_rows;
        const size_t kernel_count = K * (size_t)cout;
        #pragma omp parallel
        {
            int threads = omp_get_num_threads(), tid = omp_get_thread_num();
            float *col = workspace + (size_t)tid * rows * K;
            float *partial = tid == 0 ? dkernel
                                      : workspace + (size_t)threads * rows * K + (size_t)(tid - 1) * kernel_count;
            /* Kernel gradient: rows split evenly, a private sum per thread. */
            size_t begin = M * tid / threads, end = M * (tid + 1) / threads;
            if (begin == end) memset(partial, 0, sizeof(float) * kernel_count);
            for (size_t r = begin; r < end; r += rows) {
                size_t n = end - r < rows ? end - r : rows;
                vol2col_rows(g, x, r, r + n, col);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, cout, (int)n, 1.0f,
                            col, (int)K, dy + r * cout, cout, r == begin ? 0.0f : 1.0f, partial, cout);
            }
            /* Input gradient: whole samples per thread, so scatters never collide. */
            if (dx) {
                int s0 = (int)((long)batch * tid / threads), s1 = (int)((long)batch * (tid + 1) / threads);
                if (!accumulate_dx && s1 > s0)
                    memset(dx + (size_t)s0 * in_sample, 0, sizeof(float) * in_sample * (size_t)(s1 - s0));
                for (size_t r = (size_t)s0 * cells; r < (size_t)s1 * cells; r += rows) {
                    size_t n = (size_t)s1 * cells - r < rows ? (size_t)s1 * cells - r : rows;
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, cout, 1.0f,
                                dy + r * cout, cout, kernel, cout, 0.0f, col, (int)K);
                    col2vol_rows(g, col, r, r + n, dx);
                }
            }
            #pragma omp barrier
            /* Sum the private kernel gradients into dkernel in thread order. */
            #pragma omp for schedule(static)
            for (size_t i = 0; i < kernel_count; i++) {
                float s = dkernel[i];
                for (int t = 1; t < threads; t++)
                    s += workspace[(size_t)threads * rows * K + (size_t)(t - 1) * kernel_count + i];
                dkernel[i] = s;
            }
        }
        break;
    }
    }
    bias_gradient(dy, M, cout, dbias, bias_partials);
}
