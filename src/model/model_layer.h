/* model_layer.h: one layer's forward and backward, for model.c and the
 * precision emulation (model_precision.c) that wraps them. */
#ifndef NANPROBE_MODEL_LAYER_H
#define NANPROBE_MODEL_LAYER_H

#include "model.h"

void model_forward_layer(model *m, layer *l, int training);
void model_backward_layer(model *m, layer *l);

/* The same under m->precision (float build only). */
void model_precision_forward_layer(model *m, layer *l, int training);
void model_precision_backward_layer(model *m, layer *l);

#endif
