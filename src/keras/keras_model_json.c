/* keras_model_json.c: the tf.keras 2.x model_config and training_config
 * of the model, as model.save() writes them, built with jansson.
 *
 * Layers come in model.layers order with Keras' functional inbound_nodes
 * ([[["conv3d_3", 0, 0, {}], ...]]), so keras.models.load_model() can
 * rebuild the seed's network and nanprobe's own import can infer depth,
 * width, classes and clip from it.  Configs carry what defines the layer
 * (filters, kernel, strides, padding, regularizer, momentum, epsilon...);
 * Keras fills the rest with its defaults. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "keras_export_json.h"

static json_t *triple(const int *v)
{
    return json_pack("[iii]", v[0], v[1], v[2]);
}

static json_t *l2_regularizer(double l2)
{
    if (l2 <= 0) return json_null();
    return json_pack("{s:s, s:{s:f}}", "class_name", "L2", "config", "l2", l2);
}

static json_t *layer_config(const model *m, const layer *l, double l2)
{
    json_t *c = json_pack("{s:s, s:b, s:s}", "name", l->name, "trainable", 1, "dtype", "float32");
    const int ones[3] = {1, 1, 1};
    switch (l->kind) {
    case LAYER_INPUT:
        /* tf_keras 2.21's InputLayer refuses a "trainable" argument (real
         * model.save() files leave it out), so load_model() failed on it. */
        json_object_del(c, "trainable");
        json_object_set_new(c, "batch_input_shape", json_pack("[n,i,i,i,i]", l->output.shape[1], l->output.shape[2],
                                                              l->output.shape[3], l->output.shape[4]));
        json_object_set_new(c, "sparse", json_false());
        json_object_set_new(c, "ragged", json_false());
        break;
    case LAYER_CONV3D: {
        int shortcut = strstr(l->path, "shortcut") != NULL;
        json_object_set_new(c, "filters", json_integer(l->conv.out[3]));
        json_object_set_new(c, "kernel_size", triple(l->conv.kernel));
        json_object_set_new(c, "strides", triple(l->conv.stride));
        json_object_set_new(c, "padding", json_string(shortcut ? "valid" : "same"));
        json_object_set_new(c, "data_format", json_string("channels_last"));
        json_object_set_new(c, "dilation_rate", triple(ones));
        json_object_set_new(c, "activation", json_string("linear"));
        json_object_set_new(c, "use_bias", json_true());
        json_object_set_new(c, "kernel_regularizer", l2_regularizer(l2));
        break;
    }
    case LAYER_BATCHNORM:
        json_object_set_new(c, "axis", json_integer(4));
        json_object_set_new(c, "momentum", json_real(0.99));
        json_object_set_new(c, "epsilon", json_real(0.001));
        json_object_set_new(c, "center", json_true());
        json_object_set_new(c, "scale", json_true());
        break;
    case LAYER_RELU:
        json_object_set_new(c, "activation", json_string("relu"));
        break;
    case LAYER_MAXPOOL3D:
        json_object_set_new(c, "pool_size", triple(l->pool.pool));
        json_object_set_new(c, "strides", triple(l->pool.stride));
        json_object_set_new(c, "padding", json_string("same"));
        json_object_set_new(c, "data_format", json_string("channels_last"));
        break;
    case LAYER_AVGPOOL3D: {
        const tensor *in = &m->layers[l->inputs[0]].output;
        json_object_set_new(c, "pool_size", json_pack("[iii]", in->shape[1], in->shape[2], in->shape[3]));
        json_object_set_new(c, "strides", triple(ones));
        json_object_set_new(c, "padding", json_string("valid"));
        json_object_set_new(c, "data_format", json_string("channels_last"));
        break;
    }
    case LAYER_DENSE:
        json_object_set_new(c, "units", json_integer(l->output.shape[1]));
        json_object_set_new(c, "activation", json_string(l->output.shape[1] == 1 ? "sigmoid" : "softmax"));
        json_object_set_new(c, "use_bias", json_true());
        json_object_set_new(c, "kernel_regularizer", l2_regularizer(l2));
        break;
    case LAYER_FLATTEN:
        json_object_set_new(c, "data_format", json_string("channels_last"));
        break;
    case LAYER_ADD:
    case LAYER_KIND_COUNT:
        break;
    }
    return c;
}

static json_t *inbound_nodes(const model *m, const layer *l)
{
    json_t *node = json_array();
    for (int k = 0; k < l->input_count; k++)
        json_array_append_new(node, json_pack("[s,i,i,{}]", m->layers[l->inputs[k]].name, 0, 0));
    json_t *nodes = json_array();
    if (l->input_count) json_array_append_new(nodes, node);
    else json_decref(node);
    return nodes;
}

char *keras_model_config_json(const model *m, const int *order, double l2)
{
    json_t *layers = json_array();
    for (int k = 0; k < m->layer_count; k++) {
        const layer *l = &m->layers[order[k]];
        json_array_append_new(layers, json_pack("{s:s, s:o, s:s, s:o}", "class_name", layer_kind_name(l->kind),
                                                "config", layer_config(m, l, l2), "name", l->name,
                                                "inbound_nodes", inbound_nodes(m, l)));
    }
    json_t *root = json_pack("{s:s, s:{s:s, s:o, s:[[s,i,i]], s:[[s,i,i]]}}", "class_name", "Functional", "config",
                             "name", "resnet3d", "layers", layers, "input_layers", m->layers[0].name, 0, 0,
                             "output_layers", m->layers[m->logits_layer].name, 0, 0);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

char *keras_training_config_json(const model *m, float learning_rate)
{
    int binary = m->layers[m->logits_layer].output.shape[1] == 1;
    json_t *root = json_pack(
        "{s:s, s:[s], s:n, s:n, s:{s:s, s:{s:s, s:f, s:f, s:f, s:f, s:f, s:b}}}", "loss",
        binary ? "binary_crossentropy" : "sparse_categorical_crossentropy", "metrics", "accuracy", "weighted_metrics",
        "loss_weights", "optimizer_config", "class_name", "Adam", "config", "name", "Adam", "learning_rate",
        (double)learning_rate, "decay", 0.0, "beta_1", 0.9, "beta_2", 0.999, "epsilon", 1e-7, "amsgrad", 0);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}
