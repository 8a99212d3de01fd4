/* keras_inspect.c: what a Keras file defines about the model to build.
 *
 * From model_config (tf.keras 2.x full model) or config.json (.keras) when
 * the file carries one (keras_config.c); otherwise from the weights' shapes:
 * the stem Conv3D (the first in model.layers) gives the width (its filters)
 * and the clip's channels (its input channels), the Dense kernel the
 * classes, the number of Conv3D layers the depth.  Without a config the
 * clip's D, H, W are unknown: a global average pool makes the weights
 * independent of them, so the user passes --clip or the data decides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras_h5.h"
#include "keras_map.h"

static int depth_of(int convs)
{
    static const int table[][2] = {{20, 18}, {36, 34}, {53, 50}, {104, 101}, {155, 152}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i][0] == convs) return table[i][1];
    return 0;
}

/* Records what a Conv3D kernel or Dense kernel says (dims of the dataset). */
static void note_kernel(const keras_h5_info *kernel, int *convs, keras_model_info *info)
{
    if (kernel->rank == 5) {
        if ((*convs)++ == 0) {
            info->width = kernel->dims[4];
            info->clip[3] = kernel->dims[3];
        }
    } else if (kernel->rank == 2) {
        info->classes = kernel->dims[1];
    }
}

static int shapes_keras2(keras_source *s, keras_model_info *info, int *convs, error *err)
{
    string_array names;
    if (keras_h5_read_strings(s->weights, "layer_names", s->label, "the model weights", &names, err)) return -1;
    int rc = names.count ? 0 : error_set(err, "%s: the model weights have no layer_names attribute", s->label);
    for (int i = 0; i < names.count && rc == 0; i++) {
        if (!keras_h5_has(s->weights, names.items[i]) || strchr(names.items[i], '/')) {
            rc = error_set(err, "%s: layer %s is listed in layer_names but has no group", s->label, names.items[i]);
            break;
        }
        hid_t g = H5Gopen2(s->weights, names.items[i], H5P_DEFAULT);
        string_array weights;
        if (g < 0 || keras_h5_read_strings(g, "weight_names", s->label, names.items[i], &weights, err)) {
            if (g < 0) error_set(err, "%s: the group of layer %s cannot be read", s->label, names.items[i]);
            rc = -1;
        } else {
            keras_h5_info kernel;
            if (weights.count == 2 && strstr(weights.items[0], "kernel")) {
                if (keras_h5_dataset_info(g, weights.items[0], s->label, weights.items[0], &kernel, err)) rc = -1;
                else note_kernel(&kernel, convs, info);
            }
            string_array_free(&weights);
        }
        if (g >= 0) H5Gclose(g);
    }
    string_array_free(&names);
    return rc;
}

static int shapes_keras3(keras_source *s, keras_model_info *info, int *convs, error *err)
{
    for (int k = 0;; k++) {
        char path[64];
        if (k == 0) snprintf(path, sizeof path, "layers/conv3d/vars/0");
        else snprintf(path, sizeof path, "layers/conv3d_%d/vars/0", k);
        if (!keras_h5_has(s->file, path)) break;
        keras_h5_info kernel;
        if (keras_h5_dataset_info(s->file, path, s->label, path, &kernel, err)) return -1;
        note_kernel(&kernel, convs, info);
    }
    keras_h5_info dense;
    if (keras_h5_has(s->file, "layers/dense/vars/0")) {
        if (keras_h5_dataset_info(s->file, "layers/dense/vars/0", s->label, "layers/dense/vars/0", &dense, err))
            return -1;
        note_kernel(&dense, convs, info);
    }
    return 0;
}

static int infer_from_shapes(keras_source *s, keras_model_info *info, error *err)
{
    int convs = 0;
    int rc = s->kind == KERAS_H5_MODEL || s->kind == KERAS_H5_WEIGHTS ? shapes_keras2(s, info, &convs, err)
                                                                     : shapes_keras3(s, info, &convs, err);
    if (rc) return -1;
    info->depth = depth_of(convs);
    if (!info->depth)
        return error_set(err, "%s: the file has %d Conv3D kernels, which matches no ResNet3D depth (20, 36, 53, 104 "
                              "or 155 for 18, 34, 50, 101, 152)", s->label, convs);
    if (!info->classes) return error_set(err, "%s: the file has no Dense kernel", s->label);
    return 0;
}

/* What the file says, held to the ranges of train's options (keras.h):
 * a width or class count beyond them would overflow int in the model's
 * sizes, a learning rate or L2 factor beyond them is no training. */
static int check_ranges(const keras_model_info *info, const char *path, error *err)
{
    if (info->width < 1 || info->width > KERAS_MAX_WIDTH)
        return error_set(err, "%s: the file's width %d is outside --width's range [1, %d]", path, info->width,
                         KERAS_MAX_WIDTH);
    if (info->classes < 1 || info->classes > KERAS_MAX_CLASSES)
        return error_set(err, "%s: the file's %d classes are outside --classes' range [1, %d]", path, info->classes,
                         KERAS_MAX_CLASSES);
    for (int a = info->has_clip ? 0 : 3; a < 4; a++)
        if (info->clip[a] < 1 || info->clip[a] > KERAS_MAX_CLIP)
            return error_set(err, "%s: the file's input has %d in axis %d, outside --clip's range [1, %d]", path,
                             info->clip[a], a, KERAS_MAX_CLIP);
    if (info->has_l2 && !(info->l2 >= 0 && info->l2 <= KERAS_MAX_L2))
        return error_set(err, "%s: the file's L2 factor %g is outside --l2's range [0, %g]", path, info->l2,
                         KERAS_MAX_L2);
    if (info->learning_rate_source &&
        !(info->learning_rate >= KERAS_MIN_LEARNING_RATE && info->learning_rate <= KERAS_MAX_LEARNING_RATE))
        return error_set(err, "%s: the file's learning rate %g (%s) is outside --lr's range [%g, %g]", path,
                         info->learning_rate, info->learning_rate_source, KERAS_MIN_LEARNING_RATE,
                         KERAS_MAX_LEARNING_RATE);
    return 0;
}

int keras_inspect(const char *path, keras_model_info *info, error *err)
{
    memset(info, 0, sizeof *info);
    keras_source s;
    if (keras_source_open(&s, path, err)) return -1;
    info->kind = s.kind;
    int rc = 0;
    if (s.model_config) rc = keras_config_model(s.model_config, path, info, err);
    else rc = infer_from_shapes(&s, info, err);
    /* tf.keras: training_config; Keras 3: config.json's compile_config. */
    const char *training = s.training_config ? s.training_config : s.kind == KERAS3_ARCHIVE ? s.model_config : NULL;
    if (rc == 0 && training) rc = keras_config_optimizer(training, path, info, err);
    if (rc == 0) rc = keras_optimizer_peek(&s, info, err);
    if (rc == 0) rc = check_ranges(info, path, err);
    keras_source_close(&s);
    return rc;
}
