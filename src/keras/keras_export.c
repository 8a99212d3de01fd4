/* keras_export.c: writes the model as tf.keras 2.x model.save() does
 * (legacy hdf5_format): root attrs keras_version, backend, model_config,
 * training_config; model_weights with layer_names in model.layers order
 * (keras_order.h) and per layer weight_names and datasets at
 * <layer>/<layer>/<role>:0; with the optimizer, optimizer_weights exactly as
 * tf_keras' legacy Adam (OptimizerV2) saves its weights, which load_model()
 * hands to optimizer.set_weights() by position: Adam/iter:0, then m for
 * every trainable weight in model.trainable_variables order, then v.  The
 * hyperparameters and the learning rate are not variables there: the rate
 * travels in training_config, whose optimizer_config, like a real legacy
 * file's, has no is_legacy_optimizer key, so load_model() builds that Adam
 * (the key itself is refused by the legacy Adam's constructor).  Writing
 * beta_1, beta_2, decay and learning_rate among the weights made the list
 * 4 longer than Keras' and load_model() dropped the whole state with a log
 * line (tests/test_keras_real.c checks the layout real Keras accepted).
 * Layer and weight names are the Keras auto-names a fresh process gives the
 * seed's model, so load_weights(by_name=True) matches too.
 *
 * Written to PATH.tmp and renamed, so a failed export leaves no half file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keras.h"
#include "keras_export_json.h"
#include "keras_h5.h"
#include "keras_order.h"

static int write_layers(hid_t file, const model *m, const int *order)
{
    hid_t weights = keras_h5_group(file, "model_weights");
    if (weights < 0) return -1;
    char **names = malloc(sizeof(char *) * (size_t)m->layer_count);
    int rc = names ? 0 : -1;
    for (int k = 0; rc == 0 && k < m->layer_count; k++) names[k] = (char *)m->layers[order[k]].name;
    if (rc == 0) rc = keras_h5_write_strings(weights, "layer_names", names, m->layer_count);
    free(names);
    if (rc == 0) rc = keras_h5_write_string(weights, "backend", "tensorflow");
    if (rc == 0) rc = keras_h5_write_string(weights, "keras_version", "2.12.0");
    for (int k = 0; rc == 0 && k < m->layer_count; k++) {
        const layer *l = &m->layers[order[k]];
        hid_t g = keras_h5_group(weights, l->name);
        char weight_names[6][96], *items[6];
        for (int j = 0; j < l->param_count && j < 6; j++) {
            snprintf(weight_names[j], sizeof weight_names[j], "%s:0", m->params[l->first_param + j].name);
            items[j] = weight_names[j];
        }
        rc = g < 0 || keras_h5_write_strings(g, "weight_names", items, l->param_count) ? -1 : 0;
        for (int j = 0; rc == 0 && j < l->param_count; j++) {
            const tensor *t = &m->params[l->first_param + j].value;
            rc = keras_h5_write_floats(g, weight_names[j], t->rank, t->shape, t->data);
        }
        if (g >= 0) H5Gclose(g);
    }
    H5Gclose(weights);
    return rc;
}

/* The trainable parameters in model.weights order. */
static int trainable_order(const model *m, const int *order, int *out)
{
    int n = 0;
    for (int k = 0; k < m->layer_count; k++) {
        const layer *l = &m->layers[order[k]];
        for (int j = 0; j < l->param_count; j++)
            if (m->params[l->first_param + j].trainable) out[n++] = l->first_param + j;
    }
    return n;
}

static int write_optimizer(hid_t file, const model *m, const int *order, const keras_export_options *o)
{
    int *trainable = malloc(sizeof(int) * (size_t)m->param_count);
    int count = trainable ? trainable_order(m, order, trainable) : 0;
    int total = 1 + 2 * count;
    char **names = calloc((size_t)total, sizeof(char *));
    hid_t g = keras_h5_group(file, "optimizer_weights");
    long long t = o->iterations;
    int rc = trainable && names && g >= 0 ? 0 : -1;
    if (rc == 0) names[0] = strdup("Adam/iter:0");
    if (rc == 0) rc = !names[0] || keras_h5_write_scalar(g, names[0], H5T_NATIVE_LLONG, &t);
    for (int which = 0; rc == 0 && which < 2; which++)
        for (int i = 0; rc == 0 && i < count; i++) {
            const parameter *p = &m->params[trainable[i]];
            char name[128];
            snprintf(name, sizeof name, "Adam/%s/%c:0", p->name, which ? 'v' : 'm');
            names[1 + which * count + i] = strdup(name);
            rc = !names[1 + which * count + i] ||
                 keras_h5_write_floats(g, name, p->value.rank, p->value.shape, which ? p->adam_v : p->adam_m);
        }
    if (rc == 0) rc = keras_h5_write_strings(g, "weight_names", names, total);
    for (int i = 0; names && i < total; i++) free(names[i]);
    free(names);
    free(trainable);
    if (g >= 0) H5Gclose(g);
    return rc ? -1 : 0;
}

static int write_file(hid_t file, const model *m, const int *order, const keras_export_options *o)
{
    char *config = keras_model_config_json(m, order, o->l2);
    char *training = keras_training_config_json(m, o->learning_rate);
    int rc = config && training ? 0 : -1;
    if (rc == 0) rc = keras_h5_write_string(file, "keras_version", "2.12.0");
    if (rc == 0) rc = keras_h5_write_string(file, "backend", "tensorflow");
    if (rc == 0) rc = keras_h5_write_string(file, "model_config", config);
    if (rc == 0) rc = keras_h5_write_string(file, "training_config", training);
    free(config);
    free(training);
    if (rc == 0) rc = write_layers(file, m, order);
    if (rc == 0 && o->with_optimizer) rc = write_optimizer(file, m, order, o);
    return rc;
}

int keras_export(const char *path, const model *m, const keras_export_options *options, error *err)
{
    char temp[4200];
    if (snprintf(temp, sizeof temp, "%s.tmp", path) >= (int)sizeof temp)
        return error_set(err, "-o %s: the path is too long", path);
    int *order = malloc(sizeof(int) * (size_t)m->layer_count);
    if (!order || keras_layer_order(m, order)) {
        free(order);
        return error_set(err, "out of memory exporting to %s", path);
    }
    /* PATH must be a regular file if it exists (the rename would turn a
     * device node or a symlink's name into our file); PATH.tmp is unlinked
     * so that a planted one loses its name, never its target. */
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(order);
        return error_set(err, "-o %s: not a regular file (a device, directory or symbolic link is not replaced)",
                         path);
    }
    if (unlink(temp) != 0 && errno != ENOENT) {
        free(order);
        return error_set(err, "%s: cannot replace: %s", temp, strerror(errno));
    }
    hid_t file = keras_h5_create(temp, err);
    int rc = file < 0 ? -1 : write_file(file, m, order, options);
    if (file >= 0 && H5Fclose(file) < 0) rc = -1;
    free(order);
    if (file >= 0 && rc) error_set(err, "%s: writing the Keras file failed (disk full?)", path);
    if (rc == 0 && rename(temp, path) != 0) rc = error_set(err, "%s: cannot rename %s into place", path, temp);
    if (rc) remove(temp);
    return rc;
}
