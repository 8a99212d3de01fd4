/* maxpool3d.h: Keras MaxPooling3D (channels-last, 'same'/'valid'), forward
 * and backward.
 *
 * Padded cells are not values: they never win (TensorFlow pads with -inf).
 * A NaN in a window wins, so it propagates as it does in PyTorch and cuDNN.
 * Backward routes each output's gradient to its arg-max input, the first
 * maximum in scan order on ties; that is cuDNN's behaviour, which is what
 * users train with.  (TensorFlow's CPU kernel differs only on exact ties.) */
#ifndef NANPROBE_MAXPOOL3D_H
#define NANPROBE_MAXPOOL3D_H

#include <stddef.h>
#include <stdint.h>

#include "real.h"

#include "error.h"
#include "window.h"

typedef struct pool3d_geometry {
    int in[4];  /* D, H, W, C */
    int out[4];
    int pool[3];
    int stride[3];
    int pad[3];
} pool3d_geometry;

int maxpool3d_geometry_init(pool3d_geometry *g, const int in[4], const int pool[3],
                            const int stride[3], padding_kind padding, error *err);
/* argmax (one int32 per output value) receives the flat batch index of the
 * winning input, for backward. */
void maxpool3d_forward(const pool3d_geometry *g, int batch, const real *x, real *y, int32_t *argmax);
void maxpool3d_backward(const pool3d_geometry *g, int batch, const int32_t *argmax,
                        const real *dy, real *dx, int accumulate_dx);

#endif
