/* keras_optimizer.c: Adam's state from a Keras file into the model's m, v,
 * and the step count t (Keras' iterations: the number of updates done, so
 * the next update is t + 1, as nanprobe counts).
 *
 * tf.keras 2.x optimizer_weights, by name:
 *   OptimizerV2 (TF <= 2.10, tf_keras' optimizers.legacy.Adam):
 *     Adam/iter:0, then Adam/<var>/m:0 for every trainable weight, then
 *     Adam/<var>/v:0 (tf_keras 2.21 writes no hyperparameters; older
 *     writers put Adam/beta_1:0, beta_2, decay, learning_rate after iter);
 *   TF 2.11+ optimizer: iteration:0 (tf_keras 2.21 writes it without the
 *     Adam/ scope), then Adam/m/<var>:0, Adam/v/<var>:0 per weight (a
 *     learning_rate variable, where present, is read too).
 * <var> is the weight's name in the file (conv3d_48/kernel), mapped to the
 * model's parameter through the layer mapping.
 * Keras 3 optimizer/vars/<i>, by order: iterations, learning_rate (the
 * scalars first), then the slots over model.trainable_weights, either all
 * momentums then all velocities (Keras >= 3.4's add_optimizer_variables) or
 * interleaved m, v per weight (Keras 3.0); the shapes tell which. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras_map.h"

static int is_one_of(const char *s, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(s, names[i]) == 0) return 1;
    return 0;
}

static const char *const iteration_names[] = {"iter", "iterations", "iteration", NULL};
static const char *const rate_names[] = {"learning_rate", "lr", NULL};

/* The last component of "Adam/iter:0", without ":0". */
static void last_component(const char *name, char *out, size_t size)
{
    const char *slash = strrchr(name, '/');
    const char *start = slash ? slash + 1 : name;
    snprintf(out, size, "%.*s", (int)strcspn(start, ":"), start);
}

static int find_param(const keras_map *k, const char *file_name, size_t length)
{
    for (int i = 0; i < k->m->param_count; i++)
        if (strlen(k->file_name[i]) == length && strncmp(k->file_name[i], file_name, length) == 0) return i;
    return -1;
}

/* Which parameter and slot ('m' or 'v') a slot name refers to, trying
 * every optimizer-scope prefix: "<scope>/<var>/m" or "<scope>/m/<var>". */
static int parse_slot(const keras_map *k, const char *name, char *slot)
{
    char base[256];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(name, ":"), name);
    for (const char *r = base; r; r = strchr(r, '/') ? strchr(r, '/') + 1 : NULL) {
        size_t n = strlen(r);
        if (n > 2 && r[n - 2] == '/' && (r[n - 1] == 'm' || r[n - 1] == 'v')) {
            int p = find_param(k, r, n - 2);
            if (p >= 0) {
                *slot = r[n - 1];
                return p;
            }
        }
        if (n > 2 && (r[0] == 'm' || r[0] == 'v') && r[1] == '/') {
            int p = find_param(k, r + 2, n - 2);
            if (p >= 0) {
                *slot = r[0];
                return p;
            }
        }
    }
    return -1;
}

/* A hyperparameter stored as a variable must be the one nanprobe uses
 * (written so that NaN fails too). */
static int check_hyper(const char *what, double value, double expected, const char *label, error *err)
{
    if (!(fabs(value - expected) <= 1e-6 * (expected > 0 ? expected : 1.0)))
        return error_set(err, "%s: the Keras Adam has %s = %g; nanprobe's Adam uses %g", label, what, value, expected);
    return 0;
}

/* Keras' iteration count as nanprobe's step count: a whole number in
 * [0, KERAS_MAX_ITERATIONS], checked before it is narrowed to long. */
static int take_iterations(double value, const char *name, const keras_source *s, keras_model_info *info,
                           error *err)
{
    if (!(value >= 0 && value <= KERAS_MAX_ITERATIONS) || value != floor(value))
        return error_set(err, "%s: %s = %g is not a step count (expected a whole number in [0, %ld])", s->label, name,
                         value, KERAS_MAX_ITERATIONS);
    info->iterations = (long)value;
    info->has_optimizer = 1;
    return 0;
}

static int take_learning_rate(double value, const char *name, const keras_source *s, keras_model_info *info,
                              error *err)
{
    if (!(value >= KERAS_MIN_LEARNING_RATE && value <= KERAS_MAX_LEARNING_RATE))
        return error_set(err, "%s: %s = %g is not a usable learning rate (expected a number in [%g, %g], as --lr)",
                         s->label, name, value, KERAS_MIN_LEARNING_RATE, KERAS_MAX_LEARNING_RATE);
    info->learning_rate = value;
    info->learning_rate_source = "the optimizer's learning_rate variable";
    return 0;
}

static int keras2_scalar(keras_source *s, hid_t g, const char *name, keras_model_info *info, int *known, error *err)
{
    char last[128];
    double value;
    last_component(name, last, sizeof last);
    *known = 1;
    if (is_one_of(last, iteration_names)) {
        if (keras_h5_read_scalar(g, name, s->label, name, &value, err)) return -1;
        return take_iterations(value, name, s, info, err);
    } else if (is_one_of(last, rate_names)) {
        if (keras_h5_read_scalar(g, name, s->label, name, &value, err)) return -1;
        return take_learning_rate(value, name, s, info, err);
    } else if (strcmp(last, "beta_1") == 0 || strcmp(last, "beta_2") == 0 || strcmp(last, "decay") == 0) {
        double expected = last[0] == 'd' ? 0.0 : last[5] == '1' ? 0.9 : 0.999;
        if (keras_h5_read_scalar(g, name, s->label, name, &value, err)) return -1;
        return check_hyper(last, value, expected, s->label, err);
    } else {
        *known = 0;
    }
    return 0;
}

/* Iterations and learning rate of a tf.keras file (slots are left to load). */
static int keras2_peek(keras_source *s, keras_model_info *info, error *err)
{
    if (s->kind != KERAS_H5_MODEL || !keras_h5_has(s->file, "optimizer_weights")) return 0;
    hid_t g = H5Gopen2(s->file, "optimizer_weights", H5P_DEFAULT);
    if (g < 0) return error_set(err, "%s: optimizer_weights cannot be read", s->label);
    string_array names;
    int rc = keras_h5_read_strings(g, "weight_names", s->label, "optimizer_weights", &names, err);
    for (int i = 0; rc == 0 && i < names.count; i++) {
        int known;
        rc = keras2_scalar(s, g, names.items[i], info, &known, err);
    }
    if (rc == 0 && names.count > 0 && !info->has_optimizer)
        rc = error_set(err, "%s: optimizer_weights has no iterations variable (Adam/iter:0 or Adam/iteration:0)",
                       s->label);
    string_array_free(&names);
    H5Gclose(g);
    return rc;
}

static int keras3_count(keras_source *s, hsize_t *count)
{
    H5G_info_t gi;
    hid_t g = H5Gopen2(s->file, "optimizer/vars", H5P_DEFAULT);
    if (g < 0) return -1;
    int rc = H5Gget_info(g, &gi) < 0 ? -1 : 0;
    *count = gi.nlinks;
    H5Gclose(g);
    return rc;
}

/* Keras 3: vars/0 is iterations (an integer), vars/1 the learning rate
 * when it is a scalar (a schedule has none); *scalars receives how many
 * scalars lead.  Adam has no other scalar: a third is refused, so a file
 * of 200,000 scalars costs three reads, not one each. */
static int keras3_peek(keras_source *s, keras_model_info *info, int *scalars, error *err)
{
    *scalars = 0;
    hsize_t n = 0;
    if (!keras_h5_has(s->file, "optimizer/vars") || keras3_count(s, &n) || n == 0) return 0;
    for (hsize_t i = 0; i < n && i < 3; i++) {
        char path[64];
        keras_h5_info d;
        snprintf(path, sizeof path, "optimizer/vars/%llu", (unsigned long long)i);
        if (keras_h5_dataset_info(s->file, path, s->label, path, &d, err)) return -1;
        if (d.rank != 0) break;
        if (i == 2)
            return error_set(err, "%s: %s is a third scalar; Keras 3's Adam has only iterations and the learning "
                                  "rate", s->label, path);
        double value;
        if (keras_h5_read_scalar(s->file, path, s->label, path, &value, err)) return -1;
        if (i == 0 && !d.is_integer) return error_set(err, "%s: %s should be the iteration count", s->label, path);
        if (i == 0 && take_iterations(value, path, s, info, err)) return -1;
        if (i == 1 && (!d.is_float || take_learning_rate(value, path, s, info, err)))
            return d.is_float ? -1 : error_set(err, "%s: %s should be the learning rate", s->label, path);
        (*scalars)++;
    }
    return 0;
}

int keras_optimizer_peek(keras_source *s, keras_model_info *info, error *err)
{
    int scalars;
    if (s->kind == KERAS_H5_MODEL || s->kind == KERAS_H5_WEIGHTS) return keras2_peek(s, info, err);
    return keras3_peek(s, info, &scalars, err);
}

static int load_keras2_slots(keras_map *k, char *have)
{
    keras_source *s = k->source;
    hid_t g = H5Gopen2(s->file, "optimizer_weights", H5P_DEFAULT);
    if (g < 0) return error_set(k->err, "%s: optimizer_weights cannot be read", s->label);
    string_array names;
    int rc = keras_h5_read_strings(g, "weight_names", s->label, "optimizer_weights", &names, k->err);
    for (int i = 0; rc == 0 && i < names.count; i++) {
        int known;
        keras_model_info ignored = k->result->info;
        if (keras2_scalar(s, g, names.items[i], &ignored, &known, k->err)) rc = -1;
        if (rc || known) continue;
        char slot = 0;
        int p = parse_slot(k, names.items[i], &slot);
        if (p < 0 || !k->m->params[p].trainable) {
            rc = error_set(k->err, "%s: optimizer variable '%s' is not an Adam slot (m or v) of a weight of the "
                                   "model (nanprobe resumes Adam only)", s->label, names.items[i]);
            break;
        }
        parameter *q = &k->m->params[p];
        char what[256];
        snprintf(what, sizeof what, "%.*s", (int)strcspn(names.items[i], ":"), names.items[i]);
        rc = keras_map_read(k, g, names.items[i], p, what, slot == 'm' ? q->adam_m : q->adam_v);
        have[p] |= slot == 'm' ? 1 : 2;
    }
    string_array_free(&names);
    H5Gclose(g);
    return rc;
}

/* Whether vars/(first + stride*i) (m) and vars/(first + offset + stride*i)
 * (v) have the shapes of the trainable weights, for every i. */
static int slots_fit(keras_map *k, const int *trainable, int count, int first, int m_step, int v_offset)
{
    for (int i = 0; i < count; i++) {
        const tensor *t = &k->m->params[trainable[i]].value;
        for (int which = 0; which < 2; which++) {
            char path[64];
            keras_h5_info d;
            error ignored;
            snprintf(path, sizeof path, "optimizer/vars/%d", first + m_step * i + which * v_offset);
            if (keras_h5_dataset_info(k->source->file, path, "", "", &d, &ignored) || d.rank != t->rank) return 0;
            for (int a = 0; a < d.rank; a++)
                if (d.dims[a] != t->shape[a]) return 0;
        }
    }
    return 1;
}

static int load_keras3_slots(keras_map *k, char *have)
{
    keras_source *s = k->source;
    int scalars;
    keras_model_info info = k->result->info;
    if (keras3_peek(s, &info, &scalars, k->err)) return -1;
    int *trainable = malloc(sizeof(int) * (size_t)k->m->param_count), count = 0;
    if (!trainable) return error_set(k->err, "out of memory reading %s", s->label);
    for (int i = 0; i < k->m->layer_count; i++) {
        const layer *l = &k->m->layers[k->order[i]];
        for (int j = 0; j < l->param_count; j++)
            if (k->m->params[l->first_param + j].trainable) trainable[count++] = l->first_param + j;
    }
    hsize_t n = 0;
    int rc = keras3_count(s, &n);
    int blocked = 0;
    if (rc == 0 && n != (hsize_t)(scalars + 2 * count))
        rc = error_set(k->err, "%s: optimizer/vars holds %llu variables; Adam over the model's %d weights has %d "
                               "(%d scalars, m and v per weight): not Adam, or another architecture", s->label,
                       (unsigned long long)n, count, scalars + 2 * count, scalars);
    else if (slots_fit(k, trainable, count, scalars, 1, count)) blocked = 1;
    else if (!slots_fit(k, trainable, count, scalars, 2, 1))
        rc = error_set(k->err, "%s: the shapes of optimizer/vars do not follow the model's weights in either Keras "
                               "3 order", s->label);
    for (int i = 0; rc == 0 && i < count; i++) {
        parameter *q = &k->m->params[trainable[i]];
        for (int which = 0; rc == 0 && which < 2; which++) {
            int index = blocked ? scalars + i + which * count : scalars + 2 * i + which;
            char path[64];
            snprintf(path, sizeof path, "optimizer/vars/%d", index);
            rc = keras_map_read(k, s->file, path, trainable[i], path, which ? q->adam_v : q->adam_m);
        }
        have[trainable[i]] = 3;
    }
    free(trainable);
    return rc;
}

int keras_optimizer_load(keras_map *k)
{
    model *m = k->m;
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        if (!p->trainable) continue;
        memset(p->adam_m, 0, sizeof(float) * p->value.count);
        memset(p->adam_v, 0, sizeof(float) * p->value.count);
    }
    if (!k->result->info.has_optimizer) return 0;
    char *have = calloc((size_t)m->param_count, 1);
    if (!have) return error_set(k->err, "out of memory reading %s", k->source->label);
    int keras2 = k->source->kind == KERAS_H5_MODEL || k->source->kind == KERAS_H5_WEIGHTS;
    int rc = keras2 ? load_keras2_slots(k, have) : load_keras3_slots(k, have);
    for (int i = 0; rc == 0 && i < m->param_count; i++)
        if (m->params[i].trainable && have[i] != 3)
            rc = error_set(k->err, "%s: the optimizer state has no Adam %s for %s", k->source->label,
                           have[i] & 1 ? "v" : "m", k->file_name[i]);
    free(have);
    return rc;
}
