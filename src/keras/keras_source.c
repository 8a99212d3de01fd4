/* keras_source.c: opens a Keras checkpoint and tells its kind from its
 * contents (see keras_source.h). */
#include "keras_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keras_h5.h"

const char *keras_kind_name(keras_kind kind)
{
    static const char *const names[KERAS_KIND_COUNT] = {
        "tf.keras 2.x full model (.h5)", "tf.keras 2.x weights only (.h5)", "Keras 3 weights (.weights.h5)",
        "Keras 3 archive (.keras)",
    };
    return names[kind];
}

static int is_zip(const char *path)
{
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(magic, 1, 4, f);
    fclose(f);
    return n == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

/* A string attribute that is optional but, when present, must be a string. */
static int optional_string(hid_t loc, const char *name, const char *label, char **out, error *err)
{
    *out = NULL;
    if (!keras_h5_has_attribute(loc, name)) return 0;
    return keras_h5_read_string(loc, name, label, out, err);
}

static int detect_h5(keras_source *s, error *err)
{
    if (keras_h5_has(s->file, "model_weights")) {
        s->kind = KERAS_H5_MODEL;
        s->weights = H5Gopen2(s->file, "model_weights", H5P_DEFAULT);
        if (s->weights < 0) return error_set(err, "%s: the model_weights group cannot be read", s->label);
        if (optional_string(s->file, "model_config", s->label, &s->model_config, err)) return -1;
        return optional_string(s->file, "training_config", s->label, &s->training_config, err);
    }
    if (keras_h5_has_attribute(s->file, "layer_names") || keras_h5_has_attribute(s->file, "layer_names0")) {
        s->kind = KERAS_H5_WEIGHTS;
        s->weights = H5Gopen2(s->file, "/", H5P_DEFAULT);
        return s->weights < 0 ? error_set(err, "%s: the root group cannot be read", s->label) : 0;
    }
    if (keras_h5_has(s->file, "layers")) {
        if (s->kind != KERAS3_ARCHIVE) s->kind = KERAS3_WEIGHTS;
        s->weights = H5Gopen2(s->file, "/", H5P_DEFAULT);
        return s->weights < 0 ? error_set(err, "%s: the root group cannot be read", s->label) : 0;
    }
    return error_set(err, "%s: not a Keras checkpoint (no model_weights group, layer_names attribute or layers "
                          "group)", s->label);
}

int keras_source_open(keras_source *s, const char *path, error *err)
{
    memset(s, 0, sizeof *s);
    s->label = path;
    s->file = s->weights = s->temp_fd = -1;
    /* Before any open: a FIFO would block it, a device would be read forever. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return error_set(err, "%s: not a regular file (expected a Keras .h5, .weights.h5 or .keras file)", path);
    if (is_zip(path)) {
        s->kind = KERAS3_ARCHIVE;
        if (keras_archive_open(path, &s->temp_fd, s->temp_name, sizeof s->temp_name, &s->model_config, err))
            return -1;
        s->file = keras_archive_h5_open(s->temp_fd, s->temp_name, sizeof s->temp_name, path, err);
    } else {
        s->file = keras_h5_open(path, path, err);
    }
    if (s->file < 0) {
        if (s->kind == KERAS3_ARCHIVE && err)
            snprintf(err->message + strlen(err->message), sizeof err->message - strlen(err->message),
                     " (its model.weights.h5)");
        keras_source_close(s);
        return -1;
    }
    if (detect_h5(s, err)) {
        keras_source_close(s);
        return -1;
    }
    if (s->kind == KERAS3_ARCHIVE && !keras_h5_has(s->file, "layers")) {
        keras_source_close(s);
        return error_set(err, "%s: model.weights.h5 has no layers group (not a Keras 3 weights file)", path);
    }
    return 0;
}

void keras_source_close(keras_source *s)
{
    if (s->weights >= 0) H5Gclose(s->weights);
    keras_h5_close(s->file);
    s->weights = s->file = -1;
    free(s->model_config);
    free(s->training_config);
    s->model_config = s->training_config = NULL;
    if (s->temp_fd >= 0) close(s->temp_fd);
    if (s->temp_name[0]) unlink(s->temp_name);
    s->temp_fd = -1;
    s->temp_name[0] = '\0';
}
