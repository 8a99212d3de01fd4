/* keras_export_json.h: the JSON attributes of an exported .h5 (see
 * keras_model_json.c).  Internal to src/keras.  Both return malloc'd text
 * or NULL when out of memory. */
#ifndef NANPROBE_KERAS_EXPORT_JSON_H
#define NANPROBE_KERAS_EXPORT_JSON_H

#include "model.h"

char *keras_model_config_json(const model *m, const int *order, double l2);
char *keras_training_config_json(const model *m, float learning_rate);

#endif
