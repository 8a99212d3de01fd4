/* summary.h: a Keras-style model.summary() of the built network. */
#ifndef NANPROBE_SUMMARY_H
#define NANPROBE_SUMMARY_H

#include <stdio.h>

#include "model.h"

/* Parameters a layer owns (all roles), as Keras counts them. */
size_t layer_parameter_count(const model *m, int layer_index);
/* Multiply-adds of all Conv3D layers for one clip's forward pass, nominal
 * and useful (not touching padding), from the geometry alone. */
void summary_conv_macs(const model *m, unsigned long long *nominal, unsigned long long *useful);
/* The rows follow order[k] (layer indices; Keras' model.layers order, see
 * keras_order.h, is what model.summary() prints), or the build order when
 * order is NULL. */
void summary_print(const model *m, const int *order, FILE *out);

#endif
