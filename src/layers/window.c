/* window.c: TensorFlow 'same' / 'valid' window arithmetic (see window.h). */
#include "window.h"

int window_output_size(int in, int kernel, int stride, padding_kind padding, int *pad_before)
{
    if (padding == PADDING_VALID) {
        *pad_before = 0;
        if (in < kernel) return 0;
        return (in - kernel) / stride + 1;
    }
    int out = (in + stride - 1) / stride;
    int pad_total = (out - 1) * stride + kernel - in;
    if (pad_total < 0) pad_total = 0;
    *pad_before = pad_total / 2;
    return out;
}

const char *padding_name(padding_kind padding)
{
    return padding == PADDING_SAME ? "same" : "valid";
}
