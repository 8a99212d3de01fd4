/* gemm.h: row-major sgemm split over the OpenMP threads by us, each part a
 * single-threaded OpenBLAS call (inside a parallel region the OpenMP build
 * of OpenBLAS does not fan out again).
 *
 * Splitting ourselves keeps the partition fixed (results depend on the
 * thread count only), avoids OpenBLAS's per-call thread bookkeeping (heap
 * allocations on every threaded call), and lets each shape take the split
 * that suits it: rows of C when there are many, otherwise columns, so that a
 * GEMM with a few hundred rows does not pack its large B once per thread. */
#ifndef NANPROBE_GEMM_H
#define NANPROBE_GEMM_H

#include <cblas.h>

#include "real.h"

/* The cblas_?gemm of `real`. */
#ifdef NANPROBE_REAL_DOUBLE
#define gemm_blas cblas_dgemm
#else
#define gemm_blas cblas_sgemm
#endif

/* C = op(A) op(B) + beta C, with C M x N, as cblas_sgemm or cblas_dgemm (alpha = 1). */
void gemm_parallel(CBLAS_TRANSPOSE transpose_a, CBLAS_TRANSPOSE transpose_b, int M, int N, int K, const real *A,
                   int lda, const real *B, int ldb, real beta, real *C, int ldc);

#endif
