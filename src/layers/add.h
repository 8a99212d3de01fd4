/* add.h: Keras add([shortcut, residual]), forward and backward. */
#ifndef NANPROBE_ADD_H
#define NANPROBE_ADD_H

#include <stddef.h>

#include "real.h"

void add_forward(size_t count, const real *a, const real *b, real *y);
/* Both inputs receive dy unchanged: overwritten or, with accumulate, added to. */
void add_backward_input(size_t count, const real *dy, real *dx, int accumulate_dx);

#endif
