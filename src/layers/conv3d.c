/* conv3d.c: Conv3D forward and backward through cblas_sgemm (see conv3d.h).
 *
 * Three ways to feed the GEMMs, chosen by size (conv3d_plan):
 *  - pointwise: a 1x1x1 stride-1 kernel, the input is its own Col matrix;
 *  - whole: Col (M x K floats) fits in WHOLE_COL_LIMIT, so it is built once
 *    and each product is one call (late stages: small M, large K and Cout);
 *  - chunked: Col would be large (the stem, the first stage), so each thread
 *    builds and consumes Col a few megabytes at a time while it is still in
 *    cache, calling a single-threaded sgemm on its own rows.  Writing the
 *    whole Col to memory and reading it back would cost about as much as the
 *    GEMM itself for Cout = 64.
 *
 * Backward, per output:
 *  - dKernel = Col^T dY.  Threads never share an output element: in whole
 *    mode each thread owns a slice of the kernel's rows (one GEMM over all
 *    M, which OpenBLAS runs twice as fast as its own threading of this
 *    short-inner-dimension shape); in chunked mode each thread sums its own
 *    rows into a private copy, reduced in thread order.
 *  - dX: for a stride-1 kernel with symmetric padding (every 3x3x3 'same'
 *    conv of the ResNet) the input gradient is itself a convolution of dY
 *    with the flipped, transposed kernel, so it runs through the forward
 *    feed as one more GEMM of the forward's shape.  Otherwise (strided
 *    convs) dCol = dY Kernel^T is scattered back (col2vol), threads owning
 *    whole samples so no two ever add into the same cell.
 *
 * No multiplications by depth padding.  K runs (kd, kh, kw, Cin), kd
 * slowest, as Keras lays out the kernel, so the taps of one kd are a
 * contiguous block of Col columns and of kernel rows.  All rows of one
 * output depth plane meet data through the same kd range, so every product
 * above is cut into depth runs (consecutive planes with equal ranges; at
 * depth 1, as in stages 3-4 of a 16-frame clip, one run holds the whole
 * batch) and each run's GEMM uses only its kd block: K shrinks to 1/3 at
 * depth 1 and to 2/3 at the edges of depth 2.  vol2col leaves the other kd
 * blocks of Col unwritten and dCol leaves them uncomputed; nothing reads
 * them.  The kernel gradient starts from zero and each run adds into its kd
 * block only, so a kd slice that no plane meets keeps a gradient of exactly
 * 0, as the zero-padded product gave (the L2 term still moves it).  The
 * transposed dX is a convolution of its own and skips its padding the same
 * way.  Height and width borders are not skipped: their taps are not whole
 * kd blocks, so skipping them would cut the late stages' few rows into GEMMs
 * of a handful of rows (`nanprobe summary` counts what remains: about 8 %
 * of the ResNet3D-34 forward, against 30 % for depth). */
#include "conv3d.h"

#include <assert.h>
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "gemm.h"

/* Col rows per thread-chunk are chosen to make a chunk about this many floats. */
#define CHUNK_TARGET_FLOATS ((size_t)1 << 20)
/* Largest Col (floats) built in one piece. */
#define WHOLE_COL_LIMIT ((size_t)8 << 20)
/* Output cells from which dX goes through the transposed convolution. */
#define TRANSPOSED_MIN_ROWS 2048

static size_t cells_per_sample(const conv3d_geometry *g)
{
    return (size_t)g->out[0] * g->out[1] * g->out[2];
}

static size_t input_per_sample(const conv3d_geometry *g)
{
    return (size_t)g->in[0] * g->in[1] * g->in[2] * g->in[3];
}

static size_t col_width(const conv3d_geometry *g)
{
    return (size_t)g->kernel[0] * g->kernel[1] * g->kernel[2] * g->in[3];
}

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
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

/* Taps along axis a that meet data, summed over that axis' output cells.
 * The window of output o starts at o*stride - pad, so the count separates
 * by axis and the product over axes counts the (od, oh, ow, tap) pairs. */
static unsigned long long axis_useful_taps(const conv3d_geometry *g, int a)
{
    unsigned long long taps = 0;
    for (int o = 0; o < g->out[a]; o++) {
        int i0 = o * g->stride[a] - g->pad[a];
        int lo = i0 < 0 ? -i0 : 0, hi = g->in[a] - i0 < g->kernel[a] ? g->in[a] - i0 : g->kernel[a];
        if (hi > lo) taps += (unsigned long long)(hi - lo);
    }
    return taps;
}

void conv3d_mac_count(const conv3d_geometry *g, unsigned long long *nominal, unsigned long long *useful)
{
    unsigned long long channels = (unsigned long long)g->in[3] * (unsigned long long)g->out[3];
    *nominal = channels;
    *useful = channels;
    for (int a = 0; a < 3; a++) {
        *nominal *= (unsigned long long)g->out[a] * (unsigned long long)g->kernel[a];
        *useful *= axis_useful_taps(g, a);
    }
}

/* The convolution whose output is dX: same kernel size, stride 1, channels
 * swapped, run over dY.  Exists when every axis has stride 1 and symmetric
 * padding (2*pad = kernel - 1), so that the transposed convolution pads as
 * the forward one did; used when the batch has enough output cells. */
static int transposed_geometry(const conv3d_geometry *g, int batch, conv3d_geometry *t)
{
    /* Flipping the kernel costs K x Cout moves against M x K x Cout for
     * the GEMM: not worth it for the few output cells of the late stages,
     * where dCol is small and col2vol cheap. */
    if (g->mode == CONV3D_POINTWISE) return 0;
    if (g->mode == CONV3D_WHOLE && (size_t)batch * cells_per_sample(g) < TRANSPOSED_MIN_ROWS) return 0;
    for (int a = 0; a < 3; a++)
        if (g->stride[a] != 1 || 2 * g->pad[a] != g->kernel[a] - 1) return 0;
    *t = *g;
    for (int a = 0; a < 4; a++) {
        t->in[a] = g->out[a];
        t->out[a] = g->in[a];
    }
    conv3d_plan(t, batch);
    /* The transposed problem has the forward's size: a chunked forward
     * means a chunked transpose (and lets tests reach that path). */
    if (g->mode == CONV3D_CHUNKED) t->mode = CONV3D_CHUNKED;
    return 1;
}

/* Scratch the forward feed needs for geometry g. */
static size_t feed_floats(const conv3d_geometry *g, int batch, int threads)
{
    switch (g->mode) {
    case CONV3D_POINTWISE: return 0;
    case CONV3D_WHOLE: return (size_t)batch * cells_per_sample(g) * col_width(g);
    case CONV3D_CHUNKED: return (size_t)threads * g->chunk_rows * col_width(g);
    }
    return 0;
}

/* The workspace starts with one row of double bias-gradient partials per
 * thread; the GEMM scratch follows, 64-byte aligned. */
static size_t bias_partials_floats(const conv3d_geometry *g, int threads)
{
    return round16(2 * (size_t)threads * (size_t)g->out[3]);
}

size_t conv3d_workspace_floats(const conv3d_geometry *g, int batch, int threads)
{
    const size_t K = col_width(g), kernel = conv3d_kernel_count(g);
    size_t forward = feed_floats(g, batch, threads);
    size_t kernel_gradient = g->mode == CONV3D_CHUNKED ? forward + (size_t)(threads - 1) * kernel
                             : g->mode == CONV3D_POINTWISE ? (size_t)(threads - 1) * kernel
                                                           : forward;
    size_t input_gradient;
    conv3d_geometry t;
    if (transposed_geometry(g, batch, &t))
        input_gradient = round16(kernel) + feed_floats(&t, batch, threads);
    else if (g->mode == CONV3D_WHOLE)
        input_gradient = (size_t)batch * cells_per_sample(g) * K;
    else
        input_gradient = forward;
    size_t largest = forward;
    if (kernel_gradient > largest) largest = kernel_gradient;
    if (input_gradient > largest) largest = input_gradient;
    return bias_partials_floats(g, threads) + largest;
}

/* Row r of Col is output cell (n, od, oh, ow) of the batch. */
static void locate_row(const conv3d_geometry *g, size_t r, size_t *n, int *od, int *oh, int *ow)
{
    *ow = (int)(r % (size_t)g->out[2]);
    r /= (size_t)g->out[2];
    *oh = (int)(r % (size_t)g->out[1]);
    r /= (size_t)g->out[1];
    *od = (int)(r % (size_t)g->out[0]);
    *n = r / (size_t)g->out[0];
}

/* The kd taps through which output plane od meets data, [lo, hi): those
 * with 0 <= od*stride - pad + kd < D.  'same' padding always leaves the
 * centre tap, but the range is allowed to be empty. */
static void depth_taps(const conv3d_geometry *g, int od, int *lo, int *hi)
{
    int id0 = od * g->stride[0] - g->pad[0];
    *lo = id0 < 0 ? -id0 : 0;
    *hi = g->in[0] - id0 < g->kernel[0] ? g->in[0] - id0 : g->kernel[0];
    if (*hi < *lo) *hi = *lo;
}

/* Rows are ordered (n, od, oh, ow), so the rows of one output plane are
 * contiguous and share their depth taps; kd is the slowest index of K, so
 * those taps are the contiguous Col columns (and kernel rows) [k0, k1).
 * Returns the end (at most `end`) of the run of rows from r whose planes
 * all have the taps of r's plane: at depth 1 that is the whole batch. */
static size_t depth_run(const conv3d_geometry *g, size_t r, size_t end, size_t *k0, size_t *k1)
{
    const size_t plane = (size_t)g->out[1] * g->out[2];
    const size_t slice = (size_t)g->kernel[1] * g->kernel[2] * g->in[3];
    int lo, hi;
    depth_taps(g, (int)(r / plane % (size_t)g->out[0]), &lo, &hi);
    size_t next = (r / plane + 1) * plane;
    for (; next < end; next += plane) {
        int lo2, hi2;
        depth_taps(g, (int)(next / plane % (size_t)g->out[0]), &lo2, &hi2);
        if (lo2 != lo || hi2 != hi) break;
    }
    *k0 = (size_t)lo * slice;
    *k1 = (size_t)hi * slice;
    return next < end ? next : end;
}

/* Col rows [r0, r1) of the batch into col (row-major, K floats a row).
 * For a fixed (kd, kh) the kw taps read consecutive input cells, so each
 * (kd, kh) becomes one memcpy of up to kw*Cin floats plus zero fill.  The
 * kd slices outside the row's depth taps are left unwritten: no GEMM reads
 * them (see depth_run). */
static void vol2col_rows(const conv3d_geometry *g, const real *x, size_t r0, size_t r1, real *col)
{
    const int D = g->in[0], H = g->in[1], W = g->in[2], C = g->in[3];
    const int KD = g->kernel[0], KH = g->kernel[1], KW = g->kernel[2];
    const size_t K = col_width(g);
    for (size_t r = r0; r < r1; r++) {
        size_t n;
        int od, oh, ow;
        locate_row(g, r, &n, &od, &oh, &ow);
        real *row = col + (r - r0) * K;
        int iw0 = ow * g->stride[2] - g->pad[2];
        int kw_lo = iw0 < 0 ? -iw0 : 0;
        int kw_hi = W - iw0 < KW ? W - iw0 : KW;
        for (int kd = 0; kd < KD; kd++) {
            int id = od * g->stride[0] - g->pad[0] + kd;
            if (id < 0 || id >= D) continue;
            for (int kh = 0; kh < KH; kh++) {
                int ih = oh * g->stride[1] - g->pad[1] + kh;
                real *seg = row + (size_t)(kd * KH + kh) * KW * C;
                if (ih < 0 || ih >= H || kw_hi <= kw_lo) {
                    memset(seg, 0, sizeof(real) * (size_t)KW * C);
                    continue;
                }
                const real *src = x + (((n * D + id) * H + ih) * W + iw0 + kw_lo) * C;
                if (kw_lo > 0) memset(seg, 0, sizeof(real) * (size_t)kw_lo * C);
                memcpy(seg + (size_t)kw_lo * C, src, sizeof(real) * (size_t)(kw_hi - kw_lo) * C);
                if (kw_hi < KW)
                    memset(seg + (size_t)kw_hi * C, 0, sizeof(real) * (size_t)(KW - kw_hi) * C);
            }
        }
    }
}

/* The adjoint of vol2col_rows: adds Col rows [r0, r1) back into dx. */
static void col2vol_rows(const conv3d_geometry *g, const real *col, size_t r0, size_t r1, real *dx)
{
    const int D = g->in[0], H = g->in[1], W = g->in[2], C = g->in[3];
    const int KD = g->kernel[0], KH = g->kernel[1], KW = g->kernel[2];
    const size_t K = col_width(g);
    for (size_t r = r0; r < r1; r++) {
        size_t n;
        int od, oh, ow;
        locate_row(g, r, &n, &od, &oh, &ow);
        const real *row = col + (r - r0) * K;
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
                const real *seg = row + ((size_t)(kd * KH + kh) * KW + kw_lo) * C;
                real *dst = dx + (((n * D + id) * H + ih) * W + iw0 + kw_lo) * C;
                for (size_t i = 0; i < span; i++) dst[i] += seg[i];
            }
        }
    }
}

/* Y rows [r0, r1) = Col * kmat + beta Y over depth taps only: one GEMM per
 * depth run, Y[r] = Col[r, k0:k1] * kmat[k0:k1, :] + beta Y[r], col holding
 * row r0 first.  With `parallel` each GEMM is split over the threads;
 * otherwise the caller is one thread of a parallel region. */
static void forward_taps(const conv3d_geometry *g, size_t r0, size_t r1, const real *col, const real *kmat,
                         real beta, real *y, int parallel)
{
    const size_t K = col_width(g);
    const int cout = g->out[3];
    for (size_t r = r0; r < r1;) {
        size_t k0, k1, next = depth_run(g, r, r1, &k0, &k1);
        const int rows = (int)(next - r), taps = (int)(k1 - k0);
        const real *a = col + (r - r0) * K + k0, *b = kmat + k0 * (size_t)cout;
        real *c = y + r * (size_t)cout;
        if (taps == 0) {
            if (beta == 0.0f) memset(c, 0, sizeof(real) * (size_t)rows * cout);
        } else if (parallel) {
            gemm_parallel(CblasNoTrans, CblasNoTrans, rows, cout, taps, a, (int)K, b, cout, beta, c, cout);
        } else {
            gemm_blas(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cout, taps, 1.0f, a, (int)K, b, cout, beta, c,
                        cout);
        }
        r = next;
    }
}

/* dCol rows [r0, r1) = dY * kernel^T over depth taps only (col holds row
 * r0 first); the other columns are left unwritten, col2vol never reads them. */
static void dcol_taps(const conv3d_geometry *g, size_t r0, size_t r1, const real *kernel, const real *dy,
                      real *col, int parallel)
{
    const size_t K = col_width(g);
    const int cout = g->out[3];
    for (size_t r = r0; r < r1;) {
        size_t k0, k1, next = depth_run(g, r, r1, &k0, &k1);
        const int rows = (int)(next - r), taps = (int)(k1 - k0);
        const real *a = dy + r * (size_t)cout, *b = kernel + k0 * (size_t)cout;
        real *c = col + (r - r0) * K + k0;
        if (taps > 0 && parallel)
            gemm_parallel(CblasNoTrans, CblasTrans, rows, taps, cout, a, cout, b, cout, 0.0f, c, (int)K);
        else if (taps > 0)
            gemm_blas(CblasRowMajor, CblasNoTrans, CblasTrans, rows, taps, cout, 1.0f, a, cout, b, cout, 0.0f, c,
                        (int)K);
        r = next;
    }
}

/* Adds bias to rows [r0, r1) of y (one thread's share). */
static void add_bias_rows(real *y, size_t r0, size_t r1, int cout, const real *bias)
{
    for (size_t r = r0; r < r1; r++) {
        real *row = y + r * (size_t)cout;
        for (int c = 0; c < cout; c++) row[c] += bias[c];
    }
}

static void add_bias(real *y, size_t rows, int cout, const real *bias)
{
    #pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) add_bias_rows(y, r, r + 1, cout, bias);
}

/* Y = Col(x) * kmat + beta * Y (+ bias when not NULL), with kmat a
 * row-major [K x Cout] matrix, through the feed g->mode says.  Chunked,
 * the bias goes onto each chunk's rows while they are still in cache: the
 * stem's output is 51 MB at batch 8, a second pass would stream it again. */
static void convolve(const conv3d_geometry *g, int batch, const real *x, const real *kmat, real beta, real *y,
                     const real *bias, real *workspace)
{
    const size_t M = (size_t)batch * cells_per_sample(g), K = col_width(g);
    const int cout = g->out[3];
    switch (g->mode) {
    case CONV3D_POINTWISE:
        gemm_parallel(CblasNoTrans, CblasNoTrans, (int)M, cout, (int)K, x, (int)K, kmat, cout, beta, y, cout);
        if (bias) add_bias(y, M, cout, bias);
        return;
    case CONV3D_WHOLE: {
        real *col = workspace;
        #pragma omp parallel for schedule(static)
        for (size_t r = 0; r < M; r++) vol2col_rows(g, x, r, r + 1, col + r * K);
        forward_taps(g, 0, M, col, kmat, beta, y, 1);
        if (bias) add_bias(y, M, cout, bias);
        return;
    }
    case CONV3D_CHUNKED: {
        const size_t rows = g->chunk_rows;
        #pragma omp parallel
        {
            int threads = omp_get_num_threads(), tid = omp_get_thread_num();
            real *col = workspace + (size_t)tid * rows * K;
            size_t begin = M * tid / threads, end = M * (tid + 1) / threads;
            for (size_t r = begin; r < end; r += rows) {
                size_t n = end - r < rows ? end - r : rows;
                vol2col_rows(g, x, r, r + n, col);
                forward_taps(g, r, r + n, col, kmat, beta, y, 0);
                if (bias) add_bias_rows(y, r, r + n, cout, bias);
            }
        }
        return;
    }
    }
}

/* Column sums of dy into dbias, accumulated in double per thread (a bias
 * gradient sums up to ~10^6 terms) and reduced in thread order, so the
 * result does not depend on scheduling. */
static void bias_gradient(const real *dy, size_t rows, int cout, real *dbias, double *partials)
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
            const real *row = dy + r * (size_t)cout;
            for (int c = 0; c < cout; c++) acc[c] += row[c];
        }
    }
    for (int c = 0; c < cout; c++) {
        double s = 0.0;
        for (int t = 0; t < threads; t++) s += partials[(size_t)t * cout + c];
        dbias[c] = (real)s;
    }
}

/* Output planes (of one sample) whose depth taps include kd. */
static size_t planes_meeting(const conv3d_geometry *g, int kd)
{
    size_t count = 0;
    for (int od = 0; od < g->out[0]; od++) {
        int lo, hi;
        depth_taps(g, od, &lo, &hi);
        count += lo <= kd && kd < hi;
    }
    return count;
}

/* Whole mode: the first kernel row of thread t's share of dKernel.  The
 * work on kernel row k is the number of output cells whose taps include
 * it, so the rows are cut where that work's running sum reaches t/threads
 * of the total (a stride-2 conv at depth 1 meets data with 2 of 3 slices:
 * an even cut of K would leave one thread a third of the work). */
static size_t kernel_split(const conv3d_geometry *g, int t, int threads)
{
    const size_t K = col_width(g), slice = K / (size_t)g->kernel[0];
    size_t total = 0;
    for (int kd = 0; kd < g->kernel[0]; kd++) total += planes_meeting(g, kd);
    if (t <= 0 || total == 0) return 0;
    if (t >= threads) return K;
    double target = (double)total * t / threads, done = 0.0;
    for (int kd = 0; kd < g->kernel[0]; kd++) {
        double c = (double)planes_meeting(g, kd);
        if (c > 0 && done + c >= target) return (size_t)kd * slice + (size_t)((target - done) / c * (double)slice);
        done += c;
    }
    return K;
}

/* Whole mode: Col built once, each thread owns a share of the kernel rows
 * and runs one GEMM per depth run over its part of that run's kd block. */
static void kernel_gradient_whole(const conv3d_geometry *g, size_t M, const real *x, const real *dy,
                                  real *dkernel, real *col)
{
    const size_t K = col_width(g);
    const int cout = g->out[3];
    #pragma omp parallel for schedule(static)
    for (size_t r = 0; r < M; r++) vol2col_rows(g, x, r, r + 1, col + r * K);
    #pragma omp parallel
    {
        int threads = omp_get_num_threads(), tid = omp_get_thread_num();
        size_t ka = kernel_split(g, tid, threads), kb = kernel_split(g, tid + 1, threads);
        if (kb > ka) memset(dkernel + ka * cout, 0, sizeof(real) * (kb - ka) * cout);
        for (size_t r = 0; r < M;) {
            size_t k0, k1, next = depth_run(g, r, M, &k0, &k1);
            size_t lo = k0 > ka ? k0 : ka, hi = k1 < kb ? k1 : kb;
            if (hi > lo)
                gemm_blas(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(hi - lo), cout, (int)(next - r), 1.0f,
                            col + r * K + lo, (int)K, dy + r * cout, cout, 1.0f, dkernel + lo * cout, cout);
            r = next;
        }
    }
}

/* dKernel = Col^T dY over depth taps (see the file header for the split
 * over threads).  Kernel rows that no run reaches stay exactly 0. */
static void kernel_gradient(const conv3d_geometry *g, int batch, const real *x, const real *dy, real *dkernel,
                            real *workspace)
{
    const size_t M = (size_t)batch * cells_per_sample(g), K = col_width(g);
    const int cout = g->out[3];
    const size_t kernel_count = K * (size_t)cout;
    if (g->mode == CONV3D_WHOLE) {
        kernel_gradient_whole(g, M, x, dy, dkernel, workspace);
        return;
    }
    /* Chunked (and pointwise, whose Col is x itself): rows split evenly, a
     * private kernel gradient per thread but the first. */
    const int pointwise = g->mode == CONV3D_POINTWISE;
    const size_t rows = pointwise ? M : g->chunk_rows;
    real *partials = workspace + (pointwise ? 0 : (size_t)omp_get_max_threads() * rows * K);
    #pragma omp parallel
    {
        int threads = omp_get_num_threads(), tid = omp_get_thread_num();
        real *col = workspace + (size_t)tid * rows * K;
        real *partial = tid == 0 ? dkernel : partials + (size_t)(tid - 1) * kernel_count;
        size_t begin = M * tid / threads, end = M * (tid + 1) / threads;
        memset(partial, 0, sizeof(real) * kernel_count);
        for (size_t r = begin; r < end; r += rows) {
            size_t n = end - r < rows ? end - r : rows;
            if (pointwise) {
                gemm_blas(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, cout, (int)n, 1.0f, x + r * K, (int)K,
                            dy + r * cout, cout, 1.0f, partial, cout);
                continue;
            }
            vol2col_rows(g, x, r, r + n, col);
            for (size_t q = r; q < r + n;) {
                size_t k0, k1, next = depth_run(g, q, r + n, &k0, &k1);
                if (k1 > k0)
                    gemm_blas(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(k1 - k0), cout, (int)(next - q), 1.0f,
                                col + (q - r) * K + k0, (int)K, dy + q * cout, cout, 1.0f, partial + k0 * cout, cout);
                q = next;
            }
        }
        #pragma omp barrier
        #pragma omp for schedule(static)
        for (size_t i = 0; i < kernel_count; i++) {
            real s = dkernel[i];
            for (int t = 1; t < threads; t++) s += partials[(size_t)(t - 1) * kernel_count + i];
            dkernel[i] = s;
        }
    }
}

/* W_t[kd', kh', kw', o, i] = W[KD-1-kd', KH-1-kh', KW-1-kw', i, o]: the
 * kernel of the transposed convolution. */
static void flip_kernel(const conv3d_geometry *g, const real *kernel, real *flipped)
{
    const int taps = g->kernel[0] * g->kernel[1] * g->kernel[2], cin = g->in[3], cout = g->out[3];
    #pragma omp parallel for schedule(static)
    for (int tap = 0; tap < taps; tap++) {
        const real *src = kernel + (size_t)(taps - 1 - tap) * cin * cout;
        real *dst = flipped + (size_t)tap * cout * cin;
        for (int i = 0; i < cin; i++)
            for (int o = 0; o < cout; o++) dst[(size_t)o * cin + i] = src[(size_t)i * cout + o];
    }
}

static void input_gradient(const conv3d_geometry *g, int batch, const real *kernel, const real *dy, real *dx,
                           int accumulate, real *workspace)
{
    const size_t cells = cells_per_sample(g), in_sample = input_per_sample(g);
    const size_t M = (size_t)batch * cells, K = col_width(g);
    const int cout = g->out[3];
    conv3d_geometry t;
    if (g->mode == CONV3D_POINTWISE) {
        gemm_parallel(CblasNoTrans, CblasTrans, (int)M, (int)K, cout, dy, cout, kernel, cout, accumulate ? 1.0f : 0.0f,
                      dx, (int)K);
    } else if (transposed_geometry(g, batch, &t)) {
        real *flipped = workspace;
        flip_kernel(g, kernel, flipped);
        convolve(&t, batch, dy, flipped, accumulate ? 1.0f : 0.0f, dx, NULL,
                 workspace + round16(conv3d_kernel_count(g)));
    } else if (g->mode == CONV3D_WHOLE) {
        real *col = workspace;
        dcol_taps(g, 0, M, kernel, dy, col, 1);
        #pragma omp parallel for schedule(static)
        for (int n = 0; n < batch; n++) {
            if (!accumulate) memset(dx + (size_t)n * in_sample, 0, sizeof(real) * in_sample);
            col2vol_rows(g, col + (size_t)n * cells * K, (size_t)n * cells, (size_t)(n + 1) * cells, dx);
        }
    } else {
        const size_t rows = g->chunk_rows;
        #pragma omp parallel
        {
            int threads = omp_get_num_threads(), tid = omp_get_thread_num();
            real *col = workspace + (size_t)tid * rows * K;
            /* Whole samples per thread, so scatters never collide. */
            int s0 = (int)((long)batch * tid / threads), s1 = (int)((long)batch * (tid + 1) / threads);
            if (!accumulate && s1 > s0)
                memset(dx + (size_t)s0 * in_sample, 0, sizeof(real) * in_sample * (size_t)(s1 - s0));
            size_t end = (size_t)s1 * cells;
            for (size_t r = (size_t)s0 * cells; r < end; r += rows) {
                size_t n = end - r < rows ? end - r : rows;
                dcol_taps(g, r, r + n, kernel, dy, col, 0);
                col2vol_rows(g, col, r, r + n, dx);
            }
        }
    }
}

void conv3d_forward(const conv3d_geometry *g, int batch, const real *x,
                    const real *kernel, const real *bias, real *y,
                    real *workspace)
{
    convolve(g, batch, x, kernel, 0.0f, y, bias, workspace + bias_partials_floats(g, omp_get_max_threads()));
}

void conv3d_backward(const conv3d_geometry *g, int batch, const real *x,
                     const real *kernel, const real *dy, real *dkernel,
                     real *dbias, real *dx, int accumulate_dx,
                     real *workspace)
{
    double *bias_partials = (double *)workspace;
    real *scratch = workspace + bias_partials_floats(g, omp_get_max_threads());
    kernel_gradient(g, batch, x, dy, dkernel, scratch);
    bias_gradient(dy, (size_t)batch * cells_per_sample(g), g->out[3], dbias, bias_partials);
    if (dx) input_gradient(g, batch, kernel, dy, dx, accumulate_dx, scratch);
}
