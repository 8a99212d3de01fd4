/* batchnorm.c: BatchNormalization forward (train / infer) and backward.
 * See batchnorm.h for the Keras semantics reproduced. */
#include "batchnorm.h"

#include <math.h>
#include <omp.h>
#include <string.h>

size_t batchnorm_workspace_floats(int channels, int threads)
{
    /* Two double accumulators per channel per thread. */
    return 4 * (size_t)channels * (size_t)threads;
}

/* Sums over cells of (a) and (b) per channel, where the caller's loop body is
 * fixed: this file has two reductions (statistics, gradient terms), each
 * written out below; partials are per thread and reduced in thread order so
 * results do not depend on scheduling. */
static void reduce_partials(const double *partials, int threads, int channels,
                            double *first, double *second)
{
    for (int c = 0; c < channels; c++) {
        double a = 0.0, b = 0.0;
        for (int t = 0; t < threads; t++) {
            a += partials[(size_t)t * 2 * channels + c];
            b += partials[(size_t)t * 2 * channels + channels + c];
        }
        first[c] = a;
        second[c] = b;
    }
}

/* Synchronized statistics: this replica's shifted sums become (count, mean,
 * M2), are merged over the replicas, and come back centred on the global
 * mean (sum 0, square M2), so the caller's formulas give mean and M2/n
 * without the cancellation a sum of squares around 0 would bring back.
 * Returns the global count. */
static double sync_moments(const batchnorm_sync *sync, int channels, double n, double *center, double *sum,
                           double *square)
{
    double count[channels], mean[channels], m2[channels];
    for (int c = 0; c < channels; c++) {
        double mean_shifted = sum[c] / n;
        count[c] = n;
        mean[c] = center[c] + mean_shifted;
        m2[c] = fmax(square[c] - sum[c] * mean_shifted, 0.0);
    }
    sync->merge_moments(sync->context, channels, count, mean, m2);
    for (int c = 0; c < channels; c++) {
        center[c] = mean[c];
        sum[c] = 0.0;
        square[c] = m2[c];
    }
    return count[0];
}

/* E[x^2] - E[x]^2 in float32 from the shifted double sums (see
 * batchnorm_batch.one_pass); two_pass is the accurate variance. */
static double one_pass_variance(batchnorm_batch *batch, double n, double shift, double sum, double square,
                                double two_pass)
{
    volatile float mean = (float)(shift + sum / n);
    volatile float mean_of_squares = (float)((square + 2.0 * shift * sum) / n + shift * shift);
    volatile float mean_squared = mean * mean; /* volatile: no fused multiply-add, as XLA's float32 ops */
    float variance = mean_of_squares - mean_squared;
    batch->cancelled += fabs((double)variance - two_pass) >= two_pass && two_pass > 0.0;
    batch->negative += variance < 0.0f;
    if (variance < batch->most_negative) batch->most_negative = variance;
    return variance;
}

void batchnorm_forward_train(size_t cells, int channels, const real *x,
                             const real *gamma, const real *beta, real *y,
                             batchnorm_batch *batch, real *moving_mean,
                             real *moving_variance, real *workspace)
{
    double *partials = (double *)workspace;
    int threads = 1;
    const real *shift = x; /* the first cell of every channel */
    #pragma omp parallel
    {
        int tid = omp_get_thread_num();
        #pragma omp single
        threads = omp_get_num_threads();
        double *sum = partials + (size_t)tid * 2 * channels, *square = sum + channels;
        for (int c = 0; c < channels; c++) sum[c] = square[c] = 0.0;
        #pragma omp for schedule(static)
        for (size_t i = 0; i < cells; i++) {
            const real *row = x + i * (size_t)channels;
            for (int c = 0; c < channels; c++) {
                double d = (double)row[c] - (double)shift[c];
                sum[c] += d;
                square[c] += d * d;
            }
        }
    }
    double sum[channels], square[channels];
    reduce_partials(partials, threads, channels, sum, square);

    double n = (double)cells, center[channels];
    for (int c = 0; c < channels; c++) center[c] = shift[c];
    if (batch->sync) n = sync_moments(batch->sync, channels, n, center, sum, square);
    const double unbiased = n > 1.0 ? n / (n - 1.0) : n; /* n/1 when n == 1 */
    const real keep = BATCHNORM_MOMENTUM, take = (real)(1.0 - 0.99); /* TF: float32(1 - momentum) = float32(0.01) */
    batch->cancelled = batch->negative = 0;
    batch->most_negative = 0.0f;
    for (int c = 0; c < channels; c++) {
        double mean_shifted = sum[c] / n;
        double variance = square[c] / n - mean_shifted * mean_shifted;
        if (variance < 0.0) variance = 0.0;
        if (batch->one_pass) variance = one_pass_variance(batch, n, center[c], sum[c], square[c], variance);
        batch->mean[c] = (real)(center[c] + mean_shifted);
        batch->variance[c] = (real)variance;
        batch->inverse_std[c] = (real)(1.0 / sqrt((double)batch->variance[c] + (double)BATCHNORM_EPSILON));
        moving_mean[c] = keep * moving_mean[c] + take * batch->mean[c];
        moving_variance[c] = keep * moving_variance[c] + take * (real)(variance * unbiased);
    }

    real scale[channels];
    for (int c = 0; c < channels; c++) scale[c] = gamma[c] * batch->inverse_std[c];
    const real *mean = batch->mean;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < cells; i++) {
        const real *in = x + i * (size_t)channels;
        real *out = y + i * (size_t)channels;
        for (int c = 0; c < channels; c++) out[c] = (in[c] - mean[c]) * scale[c] + beta[c];
    }
}

void batchnorm_forward_infer(size_t cells, int channels, const real *x,
                             const real *gamma, const real *beta,
                             const real *moving_mean,
                             const real *moving_variance, real *y)
{
    real scale[channels];
    for (int c = 0; c < channels; c++)
        scale[c] = gamma[c] / real_sqrt(moving_variance[c] + BATCHNORM_EPSILON);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < cells; i++) {
        const real *in = x + i * (size_t)channels;
        real *out = y + i * (size_t)channels;
        for (int c = 0; c < channels; c++) out[c] = (in[c] - moving_mean[c]) * scale[c] + beta[c];
    }
}

void batchnorm_backward(size_t cells, int channels, const real *x,
                        const real *gamma, const batchnorm_batch *batch,
                        const real *dy, real *dgamma, real *dbeta,
                        real *dx, int accumulate_dx, real *workspace)
{
    double *partials = (double *)workspace;
    int threads = 1;
    const real *mean = batch->mean, *inverse_std = batch->inverse_std;
    #pragma omp parallel
    {
        int tid = omp_get_thread_num();
        #pragma omp single
        threads = omp_get_num_threads();
        double *sum_dy = partials + (size_t)tid * 2 * channels, *sum_dy_xhat = sum_dy + channels;
        for (int c = 0; c < channels; c++) sum_dy[c] = sum_dy_xhat[c] = 0.0;
        #pragma omp for schedule(static)
        for (size_t i = 0; i < cells; i++) {
            const real *in = x + i * (size_t)channels, *grad = dy + i * (size_t)channels;
            for (int c = 0; c < channels; c++) {
                sum_dy[c] += grad[c];
                sum_dy_xhat[c] += (double)grad[c] * ((in[c] - mean[c]) * inverse_std[c]);
            }
        }
    }
    double sums[2 * channels + 1], *sum_dy = sums, *sum_dy_xhat = sums + channels;
    reduce_partials(partials, threads, channels, sum_dy, sum_dy_xhat);
    for (int c = 0; c < channels; c++) {
        dbeta[c] = (real)sum_dy[c];
        dgamma[c] = (real)sum_dy_xhat[c];
    }
    /* Synchronized: dgamma and dbeta stay this replica's share (the
     * gradient allreduce adds them up); dx needs the means over all cells. */
    sums[2 * channels] = (double)cells;
    if (batch->sync) batch->sync->sum(batch->sync->context, sums, 2 * channels + 1);
    const double n = sums[2 * channels];

    /* dx = gamma/sigma * (dy - mean(dy) - xhat * mean(dy * xhat)) */
    real scale[channels], mean_dy[channels], mean_dy_xhat[channels];
    for (int c = 0; c < channels; c++) {
        scale[c] = gamma[c] * inverse_std[c];
        mean_dy[c] = (real)(sum_dy[c] / n);
        mean_dy_xhat[c] = (real)(sum_dy_xhat[c] / n);
    }
    if (!dx) return;
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < cells; i++) {
        const real *in = x + i * (size_t)channels, *grad = dy + i * (size_t)channels;
        real *out = dx + i * (size_t)channels;
        for (int c = 0; c < channels; c++) {
            real xhat = (in[c] - mean[c]) * inverse_std[c];
            real g = scale[c] * (grad[c] - mean_dy[c] - xhat * mean_dy_xhat[c]);
            out[c] = accumulate_dx ? out[c] + g : g;
        }
    }
}
