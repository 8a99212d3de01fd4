/* keras_source.h: one opened Keras checkpoint, whatever its kind: the
 * HDF5 file holding the weights (for a .keras archive, its
 * model.weights.h5 extracted to a private temporary file), the group the
 * layer groups hang from, and the JSON configs the file carries.
 * Internal to src/keras. */
#ifndef NANPROBE_KERAS_SOURCE_H
#define NANPROBE_KERAS_SOURCE_H

#include <hdf5.h>

#include "error.h"
#include "keras.h"

typedef struct keras_source {
    keras_kind kind;
    const char *label;      /* the path as the user gave it, for messages */
    hid_t file;
    hid_t weights;          /* model_weights (full model), the root (weights-only), or the root (Keras 3) */
    char *model_config;     /* JSON text or NULL: model_config attr, or config.json */
    char *training_config;  /* JSON text or NULL (Keras 3: inside config.json) */
    char temp_path[64];     /* extracted archive member, removed on close */
} keras_source;

int keras_source_open(keras_source *s, const char *path, error *err);
void keras_source_close(keras_source *s);

/* .keras archives (keras_archive.c): extracts the weights member to a
 * temporary file (its path into temp_path) and returns config.json's text. */
int keras_archive_open(const char *path, char *temp_path, size_t temp_size, char **config_json, error *err);

/* JSON configs (keras_config.c).  Fill what they define into info. */
int keras_config_model(const char *json, const char *label, keras_model_info *info, error *err);
/* The learning rate and a check of Adam's constants; json is a tf.keras
 * training_config or a Keras 3 config.json (its compile_config). */
int keras_config_optimizer(const char *json, const char *label, keras_model_info *info, error *err);

#endif
