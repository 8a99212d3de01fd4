/* add.c: element-wise sum of two tensors and its gradient (see add.h). */
#include "add.h"

#include <string.h>

void add_forward(size_t count, const real *a, const real *b, real *y)
{
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void add_backward_input(size_t count, const real *dy, real *dx, int accumulate_dx)
{
    if (!accumulate_dx) {
        memcpy(dx, dy, count * sizeof(real));
        return;
    }
    #pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < count; i++) dx[i] += dy[i];
}
