/* add.h: Keras add([shortcut, residual]), forward and backward. */
#ifndef NANPROBE_ADD_H
#define NANPROBE_ADD_H

#include <stddef.h>

void add_forward(size_t count, const float *a, const float *b, float *y);
/* Both inputs receive dy unchanged: overwritten or, with accumulate, added to. */
void add_backward_input(size_t count, const float *dy, float *dx, int accumulate_dx);

#endif
