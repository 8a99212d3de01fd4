/* keras_map.c: maps a Keras file's layers onto the model by topology and
 * order, checks every shape, and fills weights and moving statistics; also
 * keras_inspect (what the file defines) and the non-finite scan.
 *
 * tf.keras 2.x files list their layers in layer_names in model.layers order;
 * the k-th layer that has weights in the file is the k-th layer with
 * parameters of the model in the same order (keras_order.h), whatever its
 * name (a process that built another model first names it conv3d_36...).
 * Its weights come in weight_names order, which is layer.weights order:
 * kernel, bias; gamma, beta, moving_mean, moving_variance; each role is
 * checked against the name's last component.  Keras 3 files address a layer
 * by class and rank in model.layers (layers/conv3d_5/vars/0), so the same
 * order gives the path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finite.h"
#include "keras_map.h"
#include "keras_order.h"

static void format_dims(int rank, const int *dims, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "(");
    for (int a = 0; a < rank && used < size; a++)
        used += (size_t)snprintf(out + used, size - used, "%s%d", a ? "," : "", dims[a]);
    if (used < size) snprintf(out + used, size - used, ")");
}

void keras_map_describe(const keras_map *k, int param, const char *file_name, char *out, size_t size)
{
    const parameter *p = &k->m->params[param];
    if (strcmp(file_name, p->name) == 0) snprintf(out, size, "%s", file_name);
    else snprintf(out, size, "%s (nanprobe's %s at %s)", file_name, p->name, k->m->layers[p->layer].path);
}

int keras_map_read(keras_map *k, hid_t loc, const char *path, int param, const char *file_name, float *dst)
{
    const parameter *p = &k->m->params[param];
    const char *label = k->source->label;
    char what[320];
    keras_map_describe(k, param, file_name, what, sizeof what);
    keras_h5_info info;
    if (keras_h5_dataset_info(loc, path, label, what, &info, k->err)) return -1;
    int same = info.rank == p->value.rank;
    for (int a = 0; same && a < info.rank; a++) same = info.dims[a] == p->value.shape[a];
    if (!same) {
        char have[128], want[128];
        format_dims(info.rank, info.dims, have, sizeof have);
        format_dims(p->value.rank, p->value.shape, want, sizeof want);
        return error_set(k->err, "%s: %s: the file has %s, the model expects %s", label, what, have, want);
    }
    int converted = 0;
    if (keras_h5_read_floats(loc, path, label, what, dst, p->value.count, &converted, k->err)) return -1;
    for (size_t i = 0; !k->result->nonfinite[0] && i < p->value.count; i++)
        if (!float_is_finite(dst[i]))
            snprintf(k->result->nonfinite, sizeof k->result->nonfinite, "%.320s element %zu", what, i);
    if (converted && k->result->converted++ == 0)
        snprintf(k->result->converted_example, sizeof k->result->converted_example, "%s", file_name);
    return 0;
}

/* The layers of the model with parameters, in model.layers order. */
static int weighted_layers(const keras_map *k, int *out)
{
    int n = 0;
    for (int i = 0; i < k->m->layer_count; i++)
        if (k->m->layers[k->order[i]].param_count > 0) out[n++] = k->order[i];
    return n;
}

/* "conv3d_48/kernel:0" -> role "kernel" (the last component before ':'). */
static void weight_role(const char *weight_name, char *role, size_t size)
{
    const char *slash = strrchr(weight_name, '/');
    const char *start = slash ? slash + 1 : weight_name;
    size_t n = strcspn(start, ":");
    if (n >= size) n = size - 1;
    memcpy(role, start, n);
    role[n] = '\0';
}

static int load_keras2_layer(keras_map *k, hid_t group, const char *name, const string_array *weights, int index)
{
    const layer *l = &k->m->layers[index];
    const char *label = k->source->label;
    int lines_up = weights->count == l->param_count;
    for (int j = 0; lines_up && j < weights->count; j++) {
        char role[64];
        weight_role(weights->items[j], role, sizeof role);
        lines_up = strcmp(role, parameter_role_name(k->m->params[l->first_param + j].role)) == 0;
    }
    if (!lines_up)
        return error_set(k->err, "%s: the file's layer %s (weights %s%s) does not line up with the model's %s "
                                 "(%s, %s): a layer is missing or the file holds another architecture",
                         label, name, weights->items[0], weights->count > 1 ? ", ..." : "", l->name,
                         layer_kind_name(l->kind), l->path);
    for (int j = 0; j < weights->count; j++) {
        int param = l->first_param + j;
        char file_name[192];
        snprintf(file_name, sizeof file_name, "%.*s", (int)strcspn(weights->items[j], ":"), weights->items[j]);
        snprintf(k->file_name[param], sizeof k->file_name[param], "%s", file_name);
        if (keras_map_read(k, group, weights->items[j], param, file_name, k->m->params[param].value.data))
            return -1;
    }
    if (strcmp(name, l->name) != 0 && k->result->renamed++ == 0)
        snprintf(k->result->renamed_example, sizeof k->result->renamed_example, "%s is nanprobe's %s", name,
                 l->name);
    return 0;
}

static int load_keras2_layers(keras_map *k, const int *weighted, int weighted_count)
{
    const char *label = k->source->label;
    string_array names;
    if (keras_h5_read_strings(k->source->weights, "layer_names", label, "the model weights", &names, k->err))
        return -1;
    if (names.count == 0) return error_set(k->err, "%s: the model weights have no layer_names attribute", label);
    int next = 0, rc = 0;
    for (int i = 0; i < names.count && rc == 0; i++) {
        const char *name = names.items[i];
        if (!keras_h5_has(k->source->weights, name) || strchr(name, '/')) {
            rc = error_set(k->err, "%s: layer %s is listed in layer_names but has no group", label, name);
            break;
        }
        hid_t g = H5Gopen2(k->source->weights, name, H5P_DEFAULT);
        string_array weights;
        if (g < 0 || keras_h5_read_strings(g, "weight_names", label, name, &weights, k->err)) {
            if (g < 0) error_set(k->err, "%s: the group of layer %s cannot be read", label, name);
            rc = -1;
        } else if (weights.count > 0) {
            if (next >= weighted_count)
                rc = error_set(k->err, "%s: the file has more layers with weights than the model (%s is one too "
                                       "many): it holds another architecture", label, name);
            else
                rc = load_keras2_layer(k, g, name, &weights, weighted[next++]);
            string_array_free(&weights);
        }
        if (g >= 0) H5Gclose(g);
    }
    string_array_free(&names);
    if (rc == 0 && next < weighted_count) {
        const layer *l = &k->m->layers[weighted[next]];
        rc = error_set(k->err, "%s: the file has %d layers with weights, the model expects %d: from the model's %s "
                               "(%s, %s) on nothing is in the file", label, next, weighted_count, l->name,
                       layer_kind_name(l->kind), l->path);
    }
    return rc;
}

/* Every group under layers/ must be one of the model's layers, and one
 * without weights must hold none: an extra layer is another architecture,
 * never silently ignored. */
typedef struct keras3_extra {
    const keras_map *k;
    char (*names)[64];
    char found[160];
} keras3_extra;

static herr_t keras3_layer_known(hid_t layers, const char *name, const H5L_info_t *info, void *data)
{
    (void)info;
    keras3_extra *x = data;
    const model *m = x->k->m;
    int index = -1;
    for (int i = 0; i < m->layer_count && index < 0; i++)
        if (strcmp(x->names[i], name) == 0) index = i;
    char vars[128];
    snprintf(vars, sizeof vars, "%.60s/vars", name);
    H5G_info_t gi;
    hid_t g = index >= 0 && m->layers[index].param_count == 0 && keras_h5_has(layers, vars)
                  ? H5Gopen2(layers, vars, H5P_DEFAULT) : -1;
    int holds = g >= 0 && H5Gget_info(g, &gi) >= 0 && gi.nlinks > 0;
    if (g >= 0) H5Gclose(g);
    if (index >= 0 && !holds) return 0;
    snprintf(x->found, sizeof x->found, "layers/%.60s%s", name,
             index < 0 ? " is not a layer of the model" : " holds variables, but the model's layer has none");
    return 1;
}

static int keras3_no_extra_layer(keras_map *k, char (*names)[64])
{
    keras3_extra x = {.k = k, .names = names};
    hid_t layers = H5Gopen2(k->source->file, "layers", H5P_DEFAULT);
    if (layers < 0) return error_set(k->err, "%s: the layers group cannot be read", k->source->label);
    herr_t rc = H5Literate(layers, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, keras3_layer_known, &x);
    H5Gclose(layers);
    if (x.found[0])
        return error_set(k->err, "%s: %s: the file holds another architecture", k->source->label, x.found);
    return rc < 0 ? error_set(k->err, "%s: the layers group cannot be read", k->source->label) : 0;
}

static int load_keras3_layers(keras_map *k, const int *weighted, int weighted_count)
{
    const char *label = k->source->label;
    char (*names)[64] = malloc(sizeof *names * (size_t)k->m->layer_count);
    if (!names) return error_set(k->err, "out of memory mapping %s", label);
    keras3_layer_names(k->m, k->order, names);
    int rc = 0;
    for (int w = 0; w < weighted_count && rc == 0; w++) {
        const layer *l = &k->m->layers[weighted[w]];
        char path[128];
        snprintf(path, sizeof path, "layers/%s/vars", names[weighted[w]]);
        H5G_info_t gi;
        hid_t g = keras_h5_has(k->source->file, path) ? H5Gopen2(k->source->file, path, H5P_DEFAULT) : -1;
        if (g < 0 || H5Gget_info(g, &gi) < 0) {
            rc = error_set(k->err, "%s: %s is missing: the model's %s (%s, %s) has no weights in the file", label,
                           path, l->name, layer_kind_name(l->kind), l->path);
        } else if (gi.nlinks != (hsize_t)l->param_count) {
            rc = error_set(k->err, "%s: %s holds %llu variables; the model's %s (%s) has %d", label, path,
                           (unsigned long long)gi.nlinks, l->name, layer_kind_name(l->kind), l->param_count);
        }
        for (int j = 0; rc == 0 && j < l->param_count; j++) {
            int param = l->first_param + j;
            char dataset[16];
            snprintf(dataset, sizeof dataset, "%d", j);
            snprintf(k->file_name[param], sizeof k->file_name[param], "%s/%d", path, j);
            rc = keras_map_read(k, g, dataset, param, k->file_name[param], k->m->params[param].value.data);
        }
        if (g >= 0) H5Gclose(g);
    }
    /* One more layer of a class than the model has: another architecture. */
    for (int w = 0; w < weighted_count && rc == 0; w++) {
        const layer *l = &k->m->layers[weighted[w]];
        int later = 0;
        for (int v = w + 1; v < weighted_count; v++) later |= k->m->layers[weighted[v]].kind == l->kind;
        if (later) continue;
        char path[160], base[64];
        snprintf(base, sizeof base, "%s", names[weighted[w]]);
        char *u = strrchr(base, '_');
        int rank = u && strspn(u + 1, "0123456789") == strlen(u + 1) && u[1] ? atoi(u + 1) : 0;
        if (rank > 0 && u) *u = '\0';
        snprintf(path, sizeof path, "layers/%s_%d", base, rank + 1);
        if (keras_h5_has(k->source->file, path))
            rc = error_set(k->err, "%s: the file has more %s layers than the model (%s): it holds another "
                                   "architecture", label, layer_kind_name(l->kind), path);
    }
    if (rc == 0) rc = keras3_no_extra_layer(k, names);
    free(names);
    return rc;
}

int keras_load(const char *path, model *m, keras_load_result *result, error *err)
{
    memset(result, 0, sizeof *result);
    if (keras_inspect(path, &result->info, err)) return -1;
    const keras_model_info *i = &result->info;
    if (i->depth != m->config.depth || i->width != m->config.width || i->classes != m->config.classes)
        return error_set(err, "%s holds a ResNet3D-%d of width %d with %d classes; the model is a ResNet3D-%d of width "
                              "%d with %d classes", path, i->depth, i->width, i->classes, m->config.depth,
                         m->config.width, m->config.classes);
    keras_source s;
    if (keras_source_open(&s, path, err)) return -1;
    keras_map k = {.source = &s, .m = m, .result = result, .err = err};
    k.order = malloc(sizeof(int) * (size_t)m->layer_count);
    int *weighted = malloc(sizeof(int) * (size_t)m->layer_count);
    k.file_name = calloc((size_t)m->param_count, sizeof *k.file_name);
    int rc = 0;
    if (!k.order || !weighted || !k.file_name || keras_layer_order(m, k.order))
        rc = error_set(err, "out of memory mapping %s", path);
    int count = rc ? 0 : weighted_layers(&k, weighted);
    if (rc == 0)
        rc = s.kind == KERAS_H5_MODEL || s.kind == KERAS_H5_WEIGHTS ? load_keras2_layers(&k, weighted, count)
                                                                    : load_keras3_layers(&k, weighted, count);
    if (rc == 0) rc = keras_optimizer_load(&k);
    free(k.order);
    free(weighted);
    free(k.file_name);
    keras_source_close(&s);
    return rc;
}

int keras_first_nonfinite(const model *m, size_t *element)
{
    for (int i = 0; i < m->param_count; i++) {
        const tensor *t = &m->params[i].value;
        for (size_t j = 0; j < t->count; j++)
            if (!float_is_finite(t->data[j])) {
                *element = j;
                return i;
            }
    }
    return -1;
}
