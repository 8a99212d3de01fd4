/* dense.c: fully connected layer forward and backward (see dense.h). */
#include "dense.h"

#include "gemm.h"

void dense_forward(int batch, int in, int out, const real *x, const real *kernel,
                   const real *bias, real *y)
{
    gemm_parallel(CblasNoTrans, CblasNoTrans, batch, out, in, x, in, kernel, out, 0.0f, y, out);
    for (int n = 0; n < batch; n++)
        for (int j = 0; j < out; j++) y[(long)n * out + j] += bias[j];
}

void dense_backward(int batch, int in, int out, const real *x, const real *kernel,
                    const real *dy, real *dkernel, real *dbias, real *dx, int accumulate_dx)
{
    gemm_parallel(CblasTrans, CblasNoTrans, in, out, batch, x, in, dy, out, 0.0f, dkernel, out);
    for (int j = 0; j < out; j++) {
        double sum = 0.0;
        for (int n = 0; n < batch; n++) sum += dy[(long)n * out + j];
        dbias[j] = (real)sum;
    }
    if (dx)
        gemm_parallel(CblasNoTrans, CblasTrans, batch, in, out, dy, out, kernel, out, accumulate_dx ? 1.0f : 0.0f, dx, in);
}
