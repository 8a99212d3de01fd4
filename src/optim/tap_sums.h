/* tap_sums.h: the sums behind the data/padding tap measurements of a
 * kernel (probes/kernel_taps.h), taken inside the fused Adam pass while
 * each chunk of w, g and the step is still in L1, so they cost no extra
 * pass over memory.
 *
 * A kernel in Keras' layout (kd, kh, kw, Cin, Cout) is a run of taps, tap
 * t owning the contiguous elements [t*per_tap, (t+1)*per_tap).  The probes
 * say which taps meet input data (is_data[t] = 1) and which only ever meet
 * 'same' padding; a parameter without a split (is_data NULL) is skipped. */
#ifndef NANPROBE_TAP_SUMS_H
#define NANPROBE_TAP_SUMS_H

#include <stddef.h>

#include "real.h"

typedef struct tap_sums {
    const unsigned char *is_data; /* set by the probes once; NULL: no split */
    size_t per_tap;
    /* Over the data taps, with w_old the weight before the update, step what
     * Adam subtracted (w_new = w_old - step) and g the data gradient: */
    double old_squares, new_squares, step_squares, old_dot_step, grad_squares;
    double dominant; /* coordinates with |2 lambda w_old| > |g| */
    /* Over the padding-only taps: */
    double padding_new_squares;
} tap_sums;

/* Zeroes the sums, keeping the split. */
void tap_sums_clear(tap_sums *s);
/* Adds elements [offset, offset + n) of the kernel: their old values, new
 * values, steps and data gradients. */
void tap_sums_add(tap_sums *s, const real *old, const real *new_value, const real *step, const real *gradient,
                  size_t n, size_t offset, real twice_lambda);
void tap_sums_merge(tap_sums *into, const tap_sums *part);

#endif
