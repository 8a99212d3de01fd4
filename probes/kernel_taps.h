/* kernel_taps.h: a convolution kernel split into the taps that meet input
 * data and the taps that only ever meet 'same' padding, and the L2 x Adam
 * measurements of each part.
 *
 * In a 'same' convolution over a small input (a stage that runs at depth
 * 1, as ResNet3D-34's stages 3-4 do for 16-frame clips) some taps read
 * padding at every output cell.  Their data gradient is exactly 0, so
 * under L2 Adam drives them to 0 at about lr per step; that collapse never
 * touches the forward pass.  Judging a kernel by its whole norm mixes the
 * two, so the probes report each part on its own.
 *
 * The kernel layout is Keras' (kd, kh, kw, Cin, Cout): tap t owns the
 * contiguous block [t*Cin*Cout, (t+1)*Cin*Cout). */
#ifndef NANPROBE_KERNEL_TAPS_H
#define NANPROBE_KERNEL_TAPS_H

#include <stddef.h>

#include "conv3d.h"
#include "tap_sums.h"

/* Largest kernel (7x7x7, the stem) the split handles. */
#define KERNEL_TAPS_MAX 343

/* tap_is_data[t] (kd*kh*kw entries, t = (a*kh + b)*kw + c) = 1 when tap
 * (a, b, c) meets an input cell at some output cell.  Returns the number of
 * data taps, or -1 when the kernel has more than KERNEL_TAPS_MAX taps. */
int kernel_taps_split(const conv3d_geometry *g, unsigned char *tap_is_data);

/* One step's measurements of a kernel after its Adam update. */
typedef struct kernel_tap_metrics {
    int data_taps, padding_taps;
    double data_sum_squares, padding_sum_squares; /* of w after the update */
    double data_update_ratio;    /* ||dw|| / ||w before|| over data taps */
    double data_angle;           /* radians between w before and after, data taps */
    double data_l2_grad_ratio;   /* ||2 lambda w|| / ||g|| over data taps */
    double l2_dominant_fraction; /* data-tap coordinates with |2 lambda w_i| > |g_i| */
} kernel_tap_metrics;

/* The measurements from the sums the fused Adam pass took (tap_sums.h)
 * over a kernel of `taps` taps split by sums->is_data. */
void kernel_taps_finish(const tap_sums *sums, size_t taps, double twice_lambda, kernel_tap_metrics *out);

#endif
