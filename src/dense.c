/* dense.c: fully connected layer forward and backward (see dense.h). */
#include "dense.h"

#include <cblas.h>

void dense_forward(int batch, int in, int out, const float *x, const float *kernel,
                   const float *bias, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, out, in, 1.0f,
                x, in, kernel, out, 0.0f, y, out);
    for (int n = 0; n < batch; n++)
        for (int j = 0; j < out; j++) y[(long)n * out + j] += bias[j];
}

void dense_backward(int batch, int in, int out, const float *x, const float *kernel,
                    const float *dy, float *dkernel, float *dbias, float *dx, int accumulate_dx)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, batch, 1.0f,
                x, in, dy, out, 0.0f, dkernel, out);
    for (int j = 0; j < out; j++) {
        double sum = 0.0;
        for (int n = 0; n < batch; n++) sum += dy[(long)n * out + j];
        dbias[j] = (float)sum;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, in, out, 1.0f,
                    dy, out, kernel, out, accumulate_dx ? 1.0f : 0.0f, dx, in);
}
