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

/* Which kernel offsets k in [0, kernel) ever meet an input cell along one
 * axis, over the `out` windows that start at o*stride - pad_before:
 * meets[k] = 1 for those, 0 for offsets that only ever read padding.
 * Returns how many offsets meet data. */
int window_offsets_meeting_data(int in, int kernel, int stride, int pad_before, int out, unsigned char *meets);

#endif
