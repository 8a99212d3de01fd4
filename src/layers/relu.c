/* relu.c: ReLU forward and backward (see relu.h). */
#include "relu.h"

void relu_forward(size_t count, const real *x, real *y)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward(size_t count, const real *y, const real *dy, real *dx, int accumulate_dx)
{
    if (accumulate_dx) {
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < count; i++) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
    } else {
        #pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < count; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}
