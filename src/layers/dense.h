/* dense.h: Keras Dense, y = x * W + b with the kernel W as (in, out). */
#ifndef NANPROBE_DENSE_H
#define NANPROBE_DENSE_H

#include "real.h"

void dense_forward(int batch, int in, int out, const real *x, const real *kernel,
                   const real *bias, real *y);
/* dkernel, dbias overwritten; dx (may be NULL) overwritten or added to. */
void dense_backward(int batch, int in, int out, const real *x, const real *kernel,
                    const real *dy, real *dkernel, real *dbias, real *dx, int accumulate_dx);

#endif
