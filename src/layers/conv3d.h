/* conv3d.h: Keras Conv3D (channels-last, bias, 'same'/'valid'), forward and
 * backward, as GEMMs on OpenBLAS.
 *
 * With M = N*Do*Ho*Wo output cells and K = kd*kh*kw*Cin, the layer is
 *     Y[M x Cout] = Col[M x K] * Wk[K x Cout] + b
 * where Col is the vol2col (im2col) matrix of the input and Wk is the Keras
 * kernel (kd, kh, kw, Cin, Cout) read as a row-major matrix.  Backward is
 *     dWk = Col^T * dY,   db = column sums of dY,   dCol = dY * Wk^T -> col2im.
 * A 1x1x1 stride-1 convolution skips vol2col: Col is the input itself. */
#ifndef NANPROBE_CONV3D_H
#define NANPROBE_CONV3D_H

#include <stddef.h>

#include "real.h"

#include "error.h"
#include "window.h"

/* How the GEMMs are fed (see conv3d.c): chosen by conv3d_plan() from the
 * sizes; tests may override it to exercise every path. */
typedef enum conv3d_mode { CONV3D_POINTWISE, CONV3D_WHOLE, CONV3D_CHUNKED } conv3d_mode;

typedef struct conv3d_geometry {
    int in[4];     /* D, H, W, Cin of one sample */
    int out[4];    /* Do, Ho, Wo, Cout */
    int kernel[3];
    int stride[3];
    int pad[3];    /* padding cells before the first input cell, per axis */
    padding_kind padding;
    conv3d_mode mode;
    size_t chunk_rows; /* CONV3D_CHUNKED: Col rows a thread builds at a time */
} conv3d_geometry;

/* Fills g for a sample of shape in[4]; fails if the window does not fit. */
int conv3d_geometry_init(conv3d_geometry *g, const int in[4], int filters,
                         const int kernel[3], const int stride[3],
                         padding_kind padding, error *err);
size_t conv3d_kernel_count(const conv3d_geometry *g);
/* Multiply-adds of one sample's forward pass: every tap of every output
 * cell (nominal, what the GEMMs would do over a zero-padded Col) and only
 * the taps that meet input data rather than padding (useful). */
void conv3d_mac_count(const conv3d_geometry *g, unsigned long long *nominal, unsigned long long *useful);
/* Chooses mode and chunk_rows for this batch size. */
void conv3d_plan(conv3d_geometry *g, int batch);
/* Floats of scratch space forward and backward need for this batch size and
 * thread count. */
size_t conv3d_workspace_floats(const conv3d_geometry *g, int batch, int threads);

void conv3d_forward(const conv3d_geometry *g, int batch, const real *x,
                    const real *kernel, const real *bias, real *y,
                    real *workspace);

/* dkernel and dbias are overwritten.  dx may be NULL (the network's first
 * layer needs no input gradient); otherwise it is overwritten, or added to
 * when accumulate_dx is set (the input feeds more than one layer). */
void conv3d_backward(const conv3d_geometry *g, int batch, const real *x,
                     const real *kernel, const real *dy, real *dkernel,
                     real *dbias, real *dx, int accumulate_dx,
                     real *workspace);

#endif
