/* summary.h: a Keras-style model.summary() of the built network. */
#ifndef NANPROBE_SUMMARY_H
#define NANPROBE_SUMMARY_H

#include <stdio.h>

#include "model.h"

/* Parameters a layer owns (all roles), as Keras counts them. */
size_t layer_parameter_count(const model *m, int layer_index);
void summary_print(const model *m, FILE *out);

#endif
