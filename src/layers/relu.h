/* relu.h: Keras Activation("relu"), forward and backward.
 * A NaN input stays NaN (as tf.nn.relu), so the sentinel sees it propagate. */
#ifndef NANPROBE_RELU_H
#define NANPROBE_RELU_H

#include <stddef.h>

#include "real.h"

void relu_forward(size_t count, const real *x, real *y);
/* dx = dy where y > 0, else 0; overwritten or, with accumulate_dx, added to. */
void relu_backward(size_t count, const real *y, const real *dy, real *dx, int accumulate_dx);

#endif
