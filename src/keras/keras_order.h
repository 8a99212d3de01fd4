/* keras_order.h: model.layers as Keras orders a functional model.
 *
 * Keras numbers auto-names (conv3d_12) in creation order, but a functional
 * model's model.layers, which is the order of layer_names in an .h5 file, of
 * model.weights, of the optimizer's slots, and of the class-numbered groups
 * of a Keras 3 .weights.h5, is topological (Keras' map_graph): a depth-first
 * walk from the output through each layer's inputs in order numbers the
 * layers; a layer's depth is one more than the largest depth of its
 * consumers (the output's is 0); layers come by decreasing depth, ties by
 * walk number.  The seed's shortcut convolutions are created after their
 * block's residual branch but sit nearer the block input, so the two orders
 * differ and a file can only be mapped through this one. */
#ifndef NANPROBE_KERAS_ORDER_H
#define NANPROBE_KERAS_ORDER_H

#include "model.h"

/* order[k] = index (into m->layers) of the k-th layer of model.layers.
 * Returns -1 when out of memory. */
int keras_layer_order(const model *m, int *order);

/* Keras 3's name of a layer in a .weights.h5: the snake-case class name,
 * numbered by its rank among the layers of that class in model.layers
 * ("conv3d", "conv3d_1", ...).  order as from keras_layer_order. */
void keras3_layer_names(const model *m, const int *order, char (*names)[64]);

#endif
