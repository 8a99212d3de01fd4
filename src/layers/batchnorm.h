/* batchnorm.h: Keras BatchNormalization over the channel axis (momentum
 * 0.99, epsilon 1e-3), forward and backward.
 *
 * Training mode normalizes with the batch statistics over n = N*D*H*W cells
 * per channel (biased variance) and moves the moving statistics the way
 * TensorFlow's fused kernel does:
 *     moving_mean = m*moving_mean + (1-m)*mean
 *     moving_var  = m*moving_var  + (1-m)*var*n/(n-1)     (n/1 when n == 1,
 * as TensorFlow's CPU kernel; cuDNN divides by zero there).  Inference mode
 * normalizes with the moving statistics.
 *
 * The batch statistics are accumulated in double around a per-channel shift
 * (the first cell), so mean^2/var of 1e10 does not cancel.  The one-pass
 * float32 variance that breaks there is reproduced on request
 * (batchnorm_batch.one_pass, train --bn-variance one_pass). */
#ifndef NANPROBE_BATCHNORM_H
#define NANPROBE_BATCHNORM_H

#include <stddef.h>

#include "real.h"

#define BATCHNORM_MOMENTUM 0.99f
#define BATCHNORM_EPSILON 1e-3f

/* Synchronized BatchNorm across data-parallel replicas (--sync-bn): the
 * layer stays free of any communication library; whoever runs replicas
 * supplies these two reductions (src/dist does, over MPI).
 *   merge_moments: per channel, this replica's (count, mean, M2 = sum of
 *     squared deviations from mean) in, those of the union of all replicas
 *     out, in place.  (count, mean, M2) merge exactly whatever shift each
 *     replica accumulated around.
 *   sum: values[0..n) added over the replicas, in place (the backward's
 *     per-channel sums of dy and dy*xhat, and the cell count). */
typedef struct batchnorm_sync {
    void (*merge_moments)(void *context, int channels, double *count, double *mean, double *m2);
    void (*sum)(void *context, double *values, int n);
    void *context;
} batchnorm_sync;

/* Per-channel batch statistics a training forward leaves for backward and
 * for the probes. */
typedef struct batchnorm_batch {
    real *mean;
    real *variance;     /* biased, as used to normalize */
    real *inverse_std;  /* 1/sqrt(variance + epsilon) */
    const batchnorm_sync *sync; /* NULL: statistics of this replica's batch only */
    /* --bn-variance one_pass: the variance as XLA's batch-norm expander and
     * older Keras 3 ops.moments compute it, E[x^2] - E[x]^2 in float32 (the
     * sums themselves stay accurate; the cancellation is in the float32
     * subtraction), neither clamped nor shifted.  The forward counts the
     * channels where that lost every significant digit of the two-pass
     * variance (|one - two| >= two, negative ones included) and the negative
     * ones. */
    int one_pass;
    int cancelled, negative;
    float most_negative; /* the smallest one-pass variance of the last forward */
} batchnorm_batch;

/* Doubles of scratch (as floats) the forward and backward need. */
size_t batchnorm_workspace_floats(int channels, int threads);

void batchnorm_forward_train(size_t cells, int channels, const real *x,
                             const real *gamma, const real *beta, real *y,
                             batchnorm_batch *batch, real *moving_mean,
                             real *moving_variance, real *workspace);
void batchnorm_forward_infer(size_t cells, int channels, const real *x,
                             const real *gamma, const real *beta,
                             const real *moving_mean,
                             const real *moving_variance, real *y);
/* dgamma, dbeta overwritten; dx overwritten or, with accumulate_dx, added to. */
void batchnorm_backward(size_t cells, int channels, const real *x,
                        const real *gamma, const batchnorm_batch *batch,
                        const real *dy, real *dgamma, real *dbeta,
                        real *dx, int accumulate_dx, real *workspace);

#endif
