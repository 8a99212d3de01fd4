/* keras_config.c: what a Keras model_config / config.json and a
 * training_config / compile_config say, parsed with jansson.
 *
 * The model: the InputLayer's batch shape gives the clip, the first Conv3D's
 * filters the width and its kernel_regularizer the L2 lambda, the Dense
 * layer's units the classes, and the number of Conv3D layers the depth (the
 * seed's builder makes 1 + 2 or 3 per block + 3 or 4 shortcuts).  Any layer
 * class the seed's ResNet3D does not have is refused: nanprobe could not
 * reproduce that model.  The optimizer must be Adam with Keras' constants
 * (nanprobe's Adam is tf.keras' with beta1 0.9, beta2 0.999, epsilon 1e-7)
 * and no gradient clipping or weight decay, which nanprobe does not apply. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "keras_source.h"

static const struct { int convs, depth; } depth_by_convs[] = {
    {20, 18}, {36, 34}, {53, 50}, {104, 101}, {155, 152},
};

static json_t *parse(const char *text, const char *label, const char *what, error *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!root) error_set(err, "%s: %s is not valid JSON (line %d: %s)", label, what, jerr.line, jerr.text);
    return root;
}

static int config_int(json_t *cfg, const char *key, int *out)
{
    json_t *v = json_object_get(cfg, key);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1 << 30) return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

/* {"class_name": "L2", "config": {"l2": x}} or L1L2 with l1 = 0. */
static void regularizer_l2(json_t *reg, keras_model_info *info)
{
    json_t *cfg = json_object_get(reg, "config");
    json_t *l2 = json_object_get(cfg, "l2"), *l1 = json_object_get(cfg, "l1");
    if (json_is_number(l2) && (!l1 || json_number_value(l1) == 0.0)) {
        info->l2 = json_number_value(l2);
        info->has_l2 = 1;
    } else if (json_is_null(reg) || !reg) {
        info->l2 = 0.0;
        info->has_l2 = 1;
    }
}

static int input_shape(json_t *cfg, const char *label, keras_model_info *info, error *err)
{
    json_t *shape = json_object_get(cfg, "batch_input_shape");
    if (!shape) shape = json_object_get(cfg, "batch_shape");
    if (!json_is_array(shape) || json_array_size(shape) != 5)
        return error_set(err, "%s: the InputLayer's batch shape is not (None, D, H, W, C)", label);
    for (int a = 0; a < 4; a++) {
        json_t *v = json_array_get(shape, (size_t)a + 1);
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1 << 20)
            return error_set(err, "%s: the InputLayer's batch shape is not (None, D, H, W, C) with positive sizes",
                             label);
        info->clip[a] = (int)json_integer_value(v);
    }
    info->has_clip = 1;
    return 0;
}

/* A Keras class the model builds (model.h's layer kinds). */
static int known_class(const char *name)
{
    for (int k = 0; k < LAYER_KIND_COUNT; k++)
        if (strcmp(name, layer_kind_name((layer_kind)k)) == 0) return 1;
    return 0;
}

static int read_layers(json_t *layers, const char *label, keras_model_info *info, error *err)
{
    int convs = 0;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *l = json_array_get(layers, i), *cfg = json_object_get(l, "config");
        const char *cls = json_string_value(json_object_get(l, "class_name"));
        const char *name = json_string_value(json_object_get(cfg, "name"));
        if (!cls || !json_is_object(cfg)) return error_set(err, "%s: model_config layer %zu has no class_name/config", label, i);
        if (!known_class(cls))
            return error_set(err, "%s: model_config has a %s layer (%s), which the seed's ResNet3D does not have",
                             label, cls, name ? name : "unnamed");
        if (strcmp(cls, "InputLayer") == 0 && input_shape(cfg, label, info, err)) return -1;
        if (strcmp(cls, "Conv3D") == 0 && convs++ == 0) {
            if (config_int(cfg, "filters", &info->width))
                return error_set(err, "%s: Conv3D %s has no valid filters", label, name ? name : "");
            regularizer_l2(json_object_get(cfg, "kernel_regularizer"), info);
        }
        if (strcmp(cls, "Dense") == 0 && config_int(cfg, "units", &info->classes))
            return error_set(err, "%s: Dense %s has no valid units", label, name ? name : "");
    }
    for (size_t k = 0; k < sizeof depth_by_convs / sizeof depth_by_convs[0]; k++)
        if (depth_by_convs[k].convs == convs) info->depth = depth_by_convs[k].depth;
    if (!info->depth)
        return error_set(err, "%s: model_config has %d Conv3D layers, which matches no ResNet3D depth (20, 36, 53, "
                              "104 or 155 for 18, 34, 50, 101, 152)", label, convs);
    if (!info->classes) return error_set(err, "%s: model_config has no Dense layer", label);
    return 0;
}

int keras_config_model(const char *json, const char *label, keras_model_info *info, error *err)
{
    json_t *root = parse(json, label, "the model config", err);
    if (!root) return -1;
    json_t *layers = json_object_get(json_object_get(root, "config"), "layers");
    int rc;
    if (!json_is_array(layers))
        rc = error_set(err, "%s: the model config has no layer list (expected the seed's functional model)", label);
    else
        rc = read_layers(layers, label, info, err);
    if (rc == 0) info->has_config = 1;
    json_decref(root);
    return rc;
}

/* A constant of Adam's config that must equal nanprobe's (float32 values
 * round-tripped through JSON differ in the 8th digit). */
static int check_constant(json_t *cfg, const char *key, double expected, const char *label, error *err)
{
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v) || !(fabs(json_number_value(v) - expected) <= 1e-6 * expected))
        return error_set(err, "%s: the Keras Adam has %s = %g; nanprobe's Adam uses Keras' default %g", label, key,
                         json_is_number(v) ? json_number_value(v) : NAN, expected);
    return 0;
}

static int check_off(json_t *cfg, const char *key, const char *label, error *err)
{
    json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v) || json_is_false(v) || (json_is_number(v) && json_number_value(v) == 0.0)) return 0;
    return error_set(err, "%s: the Keras Adam uses %s, which nanprobe does not apply", label, key);
}

static int read_optimizer(json_t *opt, const char *label, keras_model_info *info, error *err)
{
    const char *cls = json_is_string(opt) ? json_string_value(opt) : json_string_value(json_object_get(opt, "class_name"));
    if (!cls) return 0;
    size_t n = strlen(cls);
    if (n < 4 || strcasecmp(cls + n - 4, "adam") != 0 || (n > 4 && cls[n - 5] != '>'))
        return error_set(err, "%s: the Keras run used the %s optimizer; nanprobe trains with Adam only", label, cls);
    json_t *cfg = json_object_get(opt, "config");
    if (!json_is_object(cfg)) return 0;
    if (check_constant(cfg, "beta_1", 0.9, label, err) || check_constant(cfg, "beta_2", 0.999, label, err) ||
        check_constant(cfg, "epsilon", 1e-7, label, err) || check_off(cfg, "amsgrad", label, err) ||
        check_off(cfg, "decay", label, err) || check_off(cfg, "weight_decay", label, err) ||
        check_off(cfg, "clipnorm", label, err) || check_off(cfg, "clipvalue", label, err) ||
        check_off(cfg, "global_clipnorm", label, err) || check_off(cfg, "use_ema", label, err))
        return -1;
    json_t *lr = json_object_get(cfg, "learning_rate");
    if (!lr) lr = json_object_get(cfg, "lr");
    if (json_is_number(lr)) { /* its range is checked with the rest (keras_inspect) */
        info->learning_rate = json_number_value(lr);
        info->learning_rate_source = "the training config";
    }
    return 0;
}

int keras_config_optimizer(const char *json, const char *label, keras_model_info *info, error *err)
{
    json_t *root = parse(json, label, "the training config", err);
    if (!root) return -1;
    json_t *opt = json_object_get(root, "optimizer_config");
    if (!opt) opt = json_object_get(json_object_get(root, "compile_config"), "optimizer");
    int rc = opt ? read_optimizer(opt, label, info, err) : 0;
    json_decref(root);
    return rc;
}
