/* summary.c: prints one row per layer (Keras name, structural path, output
 * shape, parameters, inputs) and the parameter totals, like model.summary(). */
#include "summary.h"

#include <string.h>

size_t layer_parameter_count(const model *m, int layer_index)
{
    const layer *l = &m->layers[layer_index];
    size_t n = 0;
    for (int k = 0; k < l->param_count; k++) n += m->params[l->first_param + k].value.count;
    return n;
}

void summary_conv_macs(const model *m, unsigned long long *nominal, unsigned long long *useful)
{
    *nominal = *useful = 0;
    for (int i = 0; i < m->layer_count; i++) {
        if (m->layers[i].kind != LAYER_CONV3D) continue;
        unsigned long long n, u;
        conv3d_mac_count(&m->layers[i].conv, &n, &u);
        *nominal += n;
        *useful += u;
    }
}

/* 63525386 -> "63,525,386" */
static void format_thousands(size_t value, char *out, size_t out_size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%zu", value), pos = 0;
    for (int i = 0; i < len && (size_t)pos + 2 < out_size; i++) {
        if (i > 0 && (len - i) % 3 == 0) out[pos++] = ',';
        out[pos++] = digits[i];
    }
    out[pos] = '\0';
}

void summary_print(const model *m, const int *order, FILE *out)
{
    const model_config *c = &m->config;
    int repetitions[4], bottleneck;
    model_repetitions(c->depth, repetitions, &bottleneck);
    fprintf(out, "Model: \"resnet3d_%d\"  (%s blocks, width %d, clip %dx%dx%dx%d, %d classes)\n",
            c->depth, bottleneck ? "bottleneck" : "basic", c->width, c->clip[0], c->clip[1], c->clip[2],
            c->clip[3], c->classes);
    const char *rule = "______________________________________________________________________________________________________________";
    fprintf(out, "%s\n", rule);
    fprintf(out, " %-26s %-26s %-24s %12s  %s\n", "Layer (type)", "Path", "Output Shape", "Param #", "Connected to");
    fprintf(out, "%s\n", rule);
    for (int row = 0; row < m->layer_count; row++) {
        const int i = order ? order[row] : row;
        const layer *l = &m->layers[i];
        char name[80], shape[64], count[32], inputs[112] = "";
        snprintf(name, sizeof name, "%s (%s)", l->name, layer_kind_name(l->kind));
        tensor_format_shape(&l->output, 1, shape, sizeof shape);
        format_thousands(layer_parameter_count(m, i), count, sizeof count);
        for (int k = 0; k < l->input_count; k++) {
            size_t len = strlen(inputs);
            snprintf(inputs + len, sizeof inputs - len, "%s%s", k ? ", " : "", m->layers[l->inputs[k]].name);
        }
        fprintf(out, " %-26s %-26s %-24s %12s  %s\n", name, l->path, shape, count, inputs);
    }
    fprintf(out, "%s\n", rule);
    char total[32], trainable[32], frozen[32];
    format_thousands(m->trainable_count + m->non_trainable_count, total, sizeof total);
    format_thousands(m->trainable_count, trainable, sizeof trainable);
    format_thousands(m->non_trainable_count, frozen, sizeof frozen);
    fprintf(out, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n", total, trainable, frozen);
    /* Plain integers: the bench parses this line. */
    unsigned long long nominal, useful;
    summary_conv_macs(m, &nominal, &useful);
    fprintf(out, "conv MACs per clip (forward): nominal %llu, useful %llu\n", nominal, useful);
    fprintf(out, "%s\n", rule);
}
