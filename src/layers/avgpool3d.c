/* avgpool3d.c: global average pooling forward and backward (see avgpool3d.h). */
#include "avgpool3d.h"

void avgpool3d_forward(int batch, size_t cells, int channels, const real *x, real *y)
{
    for (int n = 0; n < batch; n++) {
        real *out = y + (size_t)n * channels;
        for (int c = 0; c < channels; c++) {
            double sum = 0.0;
            for (size_t i = 0; i < cells; i++) sum += x[((size_t)n * cells + i) * channels + c];
            out[c] = (real)(sum / (double)cells);
        }
    }
}

void avgpool3d_backward(int batch, size_t cells, int channels, const real *dy, real *dx, int accumulate_dx)
{
    const real share = 1.0f / (real)cells;
    for (int n = 0; n < batch; n++)
        for (size_t i = 0; i < cells; i++) {
            real *out = dx + ((size_t)n * cells + i) * channels;
            const real *grad = dy + (size_t)n * channels;
            for (int c = 0; c < channels; c++)
                out[c] = accumulate_dx ? out[c] + grad[c] * share : grad[c] * share;
        }
}
