/* avgpool3d.h: the head's AveragePooling3D, whose window is the whole
 * remaining (D, H, W) volume ('valid', stride 1): a plain mean per channel. */
#ifndef NANPROBE_AVGPOOL3D_H
#define NANPROBE_AVGPOOL3D_H

#include <stddef.h>

#include "real.h"

/* x: (batch, cells, C) -> y: (batch, C). */
void avgpool3d_forward(int batch, size_t cells, int channels, const real *x, real *y);
/* dx = dy / cells in every cell; overwritten or, with accumulate_dx, added to. */
void avgpool3d_backward(int batch, size_t cells, int channels, const real *dy, real *dx, int accumulate_dx);

#endif
