/* gemm.c: sgemm split over threads (see gemm.h). */
#include "gemm.h"

#include <omp.h>

/* Rows of C per thread below which the columns are split instead. */
#define MIN_ROWS_PER_THREAD 256

void gemm_parallel(CBLAS_TRANSPOSE transpose_a, CBLAS_TRANSPOSE transpose_b, int M, int N, int K, const real *A,
                   int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    const int split_rows = M >= MIN_ROWS_PER_THREAD * omp_get_max_threads();
    #pragma omp parallel
    {
        int threads = omp_get_num_threads(), tid = omp_get_thread_num();
        if (split_rows) {
            int m0 = (int)((long)M * tid / threads), m1 = (int)((long)M * (tid + 1) / threads);
            const real *a = transpose_a == CblasNoTrans ? A + (long)m0 * lda : A + m0;
            if (m1 > m0)
                gemm_blas(CblasRowMajor, transpose_a, transpose_b, m1 - m0, N, K, 1.0f, a, lda, B, ldb, beta,
                            C + (long)m0 * ldc, ldc);
        } else {
            int n0 = (int)((long)N * tid / threads), n1 = (int)((long)N * (tid + 1) / threads);
            const real *b = transpose_b == CblasNoTrans ? B + n0 : B + (long)n0 * ldb;
            if (n1 > n0)
                gemm_blas(CblasRowMajor, transpose_a, transpose_b, M, n1 - n0, K, 1.0f, A, lda, b, ldb, beta, C + n0,
                            ldc);
        }
    }
}
