/* keras_map.h: the state of one keras_load(), shared by the layer mapping
 * (keras_map.c) and the Adam state (keras_optimizer.c).  Internal. */
#ifndef NANPROBE_KERAS_MAP_H
#define NANPROBE_KERAS_MAP_H

#include "keras.h"
#include "keras_h5.h"
#include "keras_source.h"

typedef struct keras_map {
    keras_source *source;
    model *m;
    int *order;             /* model.layers (keras_order.h) */
    char (*file_name)[192]; /* per parameter: its variable in the file ("conv3d_48/kernel") */
    keras_load_result *result;
    error *err;
} keras_map;

/* "conv3d_48/kernel (nanprobe's conv3d_12/kernel at stage3.block1.conv2)",
 * or just the file's name when both agree. */
void keras_map_describe(const keras_map *k, int param, const char *file_name, char *out, size_t size);

/* Reads dataset path of loc into dst after checking its shape against the
 * parameter's: the message names the variable and both shapes. */
int keras_map_read(keras_map *k, hid_t loc, const char *path, int param, const char *file_name, float *dst);

/* Fills Adam's m, v and t (or zeroes them when the file has none). */
int keras_optimizer_load(keras_map *k);
/* Reads iterations and the learning rate only, for keras_inspect. */
int keras_optimizer_peek(keras_source *s, keras_model_info *info, error *err);

#endif
