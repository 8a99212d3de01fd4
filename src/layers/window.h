/* window.h: sliding-window geometry shared by Conv3D and MaxPooling3D.
 *
 * TensorFlow's padding rules, per axis:
 *   'valid': out = ceil((in - k + 1) / s), no padding.
 *   'same':  out = ceil(in / s); pad_total = max(0, (out-1)*s + k - in);
 *            pad_before = pad_total / 2 (floor), the extra cell goes after.
 * Only pad_before is stored: the cells past the end are simply out of range. */
#ifndef NANPROBE_WINDOW_H
#define NANPROBE_WINDOW_H

typedef enum padding_kind { PADDING_VALID = 0, PADDING_SAME = 1 } padding_kind;

/* Output size along one axis; *pad_before receives the leading padding.
 * Returns 0 when the window does not fit ('valid' with k > in). */
int window_output_size(int in, int kernel, int stride, padding_kind padding, int *pad_before);
const char *padding_name(padding_kind padding);

#endif
