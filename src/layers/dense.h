/* dense.h: Keras Dense, y = x * W + b with the kernel W as (in, out). */
#ifndef NANPROBE_DENSE_H
#define NANPROBE_DENSE_H

void dense_forward(int batch, int in, int out, const float *x, const float *kernel,
                   const float *bias, float *y);
/* dkernel, dbias overwritten; dx (may be NULL) overwritten or added to. */
void dense_backward(int batch, int in, int out, const float *x, const float *kernel,
                    const float *dy, float *dkernel, float *dbias, float *dx, int accumulate_dx);

#endif
