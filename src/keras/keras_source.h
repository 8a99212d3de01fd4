/* keras_source.h: one opened Keras checkpoint, whatever its kind: the
 * HDF5 file holding the weights (for a .keras archive, its
 * model.weights.h5 extracted to a private, already unlinked temporary file), the group the
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
    int temp_fd;            /* extracted archive member (unnamed), closed on close; -1 none */
    char temp_name[4200];   /* its name where O_TMPFILE is missing, until opened; "" none */
} keras_source;

int keras_source_open(keras_source *s, const char *path, error *err);
void keras_source_close(keras_source *s);

/* .keras archives (keras_archive.c): extracts the weights member to a
 * private temporary file (its descriptor into *temp_fd; temp_name set only
 * where the file system cannot keep it unnamed) and returns config.json's
 * text.  keras_archive_h5_open then opens it with libhdf5, leaving no name
 * behind. */
int keras_archive_open(const char *path, int *temp_fd, char *temp_name, size_t name_size, char **config_json,
                       error *err);
hid_t keras_archive_h5_open(int fd, char *name, size_t name_size, const char *label, error *err);

/* JSON configs (keras_config.c).  Fill what they define into info. */
int keras_config_model(const char *json, const char *label, keras_model_info *info, error *err);
/* The learning rate and a check of Adam's constants; json is a tf.keras
 * training_config or a Keras 3 config.json (its compile_config). */
int keras_config_optimizer(const char *json, const char *label, keras_model_info *info, error *err);

#endif
