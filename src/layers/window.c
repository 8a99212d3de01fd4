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

int window_offsets_meeting_data(int in, int kernel, int stride, int pad_before, int out, unsigned char *meets)
{
    int count = 0;
    for (int k = 0; k < kernel; k++) {
        /* Offset k reads cell o*stride - pad_before + k: in range for some o? */
        meets[k] = 0;
        for (int o = 0; o < out && !meets[k]; o++) {
            int cell = o * stride - pad_before + k;
            meets[k] = cell >= 0 && cell < in;
        }
        count += meets[k];
    }
    return count;
}
