/* model.c: builds the seed's ResNet3D layer by layer (Keras creation order and
 * names), places its buffers, and runs the whole-network forward and
 * backward passes (see model.h). */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add.h"
#include "array.h"
#include "avgpool3d.h"
#include "dense.h"
#include "model_layer.h"
#include "relu.h"
#include "rng.h"

/* ------------------------------------------------------------------ names */

const char *const layer_kind_names[] = {
    [LAYER_INPUT] = "InputLayer",         [LAYER_CONV3D] = "Conv3D",    [LAYER_BATCHNORM] = "BatchNormalization",
    [LAYER_RELU] = "Activation",          [LAYER_MAXPOOL3D] = "MaxPooling3D",
    [LAYER_AVGPOOL3D] = "AveragePooling3D", [LAYER_FLATTEN] = "Flatten", [LAYER_DENSE] = "Dense",
    [LAYER_ADD] = "Add",
};
_Static_assert(sizeof layer_kind_names / sizeof layer_kind_names[0] == LAYER_KIND_COUNT, "one Keras class per layer_kind");

const char *const initializer_names[] = {[INIT_HE_NORMAL] = "he_normal", [INIT_GLOROT_UNIFORM] = "glorot_uniform"};
_Static_assert(sizeof initializer_names / sizeof initializer_names[0] == INIT_KIND_COUNT, "one name per initializer_kind");
/* The prefix of Keras' auto-generated names (the snake_case class name). */
static const char *const keras_prefix[] = {
    [LAYER_INPUT] = "input",         [LAYER_CONV3D] = "conv3d",   [LAYER_BATCHNORM] = "batch_normalization",
    [LAYER_RELU] = "activation",     [LAYER_MAXPOOL3D] = "max_pooling3d",
    [LAYER_AVGPOOL3D] = "average_pooling3d", [LAYER_FLATTEN] = "flatten", [LAYER_DENSE] = "dense",
    [LAYER_ADD] = "add",
};
_Static_assert(sizeof keras_prefix / sizeof keras_prefix[0] == LAYER_KIND_COUNT, "one name prefix per layer_kind");

const char *layer_kind_name(layer_kind kind)
{
    return layer_kind_names[kind];
}

const char *parameter_role_name(parameter_role role)
{
    static const char *const names[] = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"};
    _Static_assert(sizeof names / sizeof names[0] == PARAMETER_ROLE_COUNT, "one name per parameter_role");
    return names[role];
}

int model_find_layer(const model *m, const char *name)
{
    for (int i = 0; i < m->layer_count; i++)
        if (strcmp(m->layers[i].name, name) == 0) return i;
    return -1;
}

const char *const model_depth_names[] = {"18", "34", "50", "101", "152", NULL};
const int model_depths[] = {18, 34, 50, 101, 152};

int model_repetitions(int depth, int repetitions[4], int *bottleneck)
{
    static const struct { int depth, bottleneck, reps[4]; } table[] = {
        {18, 0, {2, 2, 2, 2}}, {34, 0, {3, 4, 6, 3}}, {50, 1, {3, 4, 6, 3}},
        {101, 1, {3, 4, 23, 3}}, {152, 1, {3, 8, 36, 3}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].depth == depth) {
            memcpy(repetitions, table[i].reps, sizeof table[i].reps);
            *bottleneck = table[i].bottleneck;
            return 1;
        }
    return 0;
}

/* ---------------------------------------------------------------- builder */

typedef struct builder {
    model *m;
    int layer_capacity, param_capacity;
    int name_count[LAYER_KIND_COUNT];
    error *err;
    int failed;
} builder;

/* Appends a layer whose output has the given per-sample shape (rank 4, or
 * rank 1 after Flatten/Dense) and gives it the next Keras name of its kind. */
static int add_layer(builder *b, layer_kind kind, const char *path, int input0, int input1,
                     int sample_rank, const int *sample_shape)
{
    if (b->failed) return -1;
    model *m = b->m;
    int shape[TENSOR_MAX_RANK];
    shape[0] = m->config.batch;
    for (int i = 0; i < sample_rank; i++) shape[i + 1] = sample_shape[i]; /* before realloc moves it */
    if (array_grow((void **)&m->layers, &b->layer_capacity, m->layer_count + 1, sizeof(layer))) {
        b->failed = 1;
        error_set(b->err, "out of memory building the model");
        return -1;
    }
    int index = m->layer_count++;
    layer *l = &m->layers[index];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    int k = b->name_count[kind]++;
    if (kind == LAYER_INPUT)
        snprintf(l->name, sizeof l->name, "input_%d", k + 1); /* Keras counts inputs from 1 */
    else if (k == 0)
        snprintf(l->name, sizeof l->name, "%s", keras_prefix[kind]);
    else
        snprintf(l->name, sizeof l->name, "%s_%d", keras_prefix[kind], k);
    snprintf(l->path, sizeof l->path, "%s", path);
    l->inputs[0] = input0;
    l->inputs[1] = input1;
    l->input_count = (input0 >= 0) + (input1 >= 0);
    l->output = tensor_make(NULL, sample_rank + 1, shape);
    l->first_param = m->param_count;
    return index;
}

static void add_param(builder *b, int layer_index, parameter_role role, int rank, const int *shape)
{
    if (b->failed) return;
    model *m = b->m;
    if (array_grow((void **)&m->params, &b->param_capacity, m->param_count + 1, sizeof(parameter))) {
        b->failed = 1;
        error_set(b->err, "out of memory building the model");
        return;
    }
    parameter *p = &m->params[m->param_count++];
    layer *l = &m->layers[layer_index];
    snprintf(p->name, sizeof p->name, "%s/%s", l->name, parameter_role_name(role));
    p->role = role;
    p->layer = layer_index;
    p->trainable = role != PARAM_MOVING_MEAN && role != PARAM_MOVING_VARIANCE;
    p->regularized = role == PARAM_KERNEL;
    p->value = tensor_make(NULL, rank, shape);
    l->param_count++;
    if (p->trainable) m->trainable_count += p->value.count;
    else m->non_trainable_count += p->value.count;
}

/* The per-sample shape of a layer's output, copied (the layer array moves
 * as it grows). */
static void sample_shape_of(const model *m, int index, int shape[4])
{
    memcpy(shape, m->layers[index].output.shape + 1, 4 * sizeof(int));
}

static int add_conv(builder *b, const char *path, int input, int filters, int kernel_size,
                    int stride_d, int stride_h, int stride_w, padding_kind padding)
{
    if (b->failed) return -1;
    conv3d_geometry g;
    const int kernel[3] = {kernel_size, kernel_size, kernel_size};
    const int stride[3] = {stride_d, stride_h, stride_w};
    int in[4];
    sample_shape_of(b->m, input, in);
    if (conv3d_geometry_init(&g, in, filters, kernel, stride, padding, b->err)) {
        b->failed = 1;
        return -1;
    }
    conv3d_plan(&g, b->m->config.batch);
    int index = add_layer(b, LAYER_CONV3D, path, input, -1, 4, g.out);
    if (index < 0) return -1;
    b->m->layers[index].conv = g;
    const int kshape[5] = {kernel_size, kernel_size, kernel_size, in[3], filters};
    add_param(b, index, PARAM_KERNEL, 5, kshape);
    add_param(b, index, PARAM_BIAS, 1, &filters);
    return index;
}

static int add_batchnorm(builder *b, const char *path, int input)
{
    if (b->failed) return -1;
    int shape[4];
    sample_shape_of(b->m, input, shape);
    int index = add_layer(b, LAYER_BATCHNORM, path, input, -1, 4, shape);
    if (index < 0) return -1;
    int channels = shape[3];
    add_param(b, index, PARAM_GAMMA, 1, &channels);
    add_param(b, index, PARAM_BETA, 1, &channels);
    add_param(b, index, PARAM_MOVING_MEAN, 1, &channels);
    add_param(b, index, PARAM_MOVING_VARIANCE, 1, &channels);
    return index;
}

static int add_relu(builder *b, const char *path, int input)
{
    if (b->failed) return -1;
    int shape[4];
    sample_shape_of(b->m, input, shape);
    return add_layer(b, LAYER_RELU, path, input, -1, 4, shape);
}

/* _bn_relu_conv3d: BN -> ReLU -> Conv3D, the pre-activation unit. */
static int add_bn_relu_conv(builder *b, const char *prefix, int unit, int input, int filters,
                            int kernel_size, int stride)
{
    char path[64];
    snprintf(path, sizeof path, "%s.bn%d", prefix, unit);
    int bn = add_batchnorm(b, path, input);
    snprintf(path, sizeof path, "%s.relu%d", prefix, unit);
    int act = add_relu(b, path, bn);
    snprintf(path, sizeof path, "%s.conv%d", prefix, unit);
    return add_conv(b, path, act, filters, kernel_size, stride, stride, stride, PADDING_SAME);
}

/* _shortcut3d: identity when shapes match, else a 1x1x1 'valid' conv with
 * stride ceil(in/out) per axis on the block input as is (not normalized). */
static int add_shortcut_and_merge(builder *b, const char *prefix, int input, int residual)
{
    if (b->failed) return -1;
    int in[4], res[4], out[4];
    sample_shape_of(b->m, input, in);
    sample_shape_of(b->m, residual, res);
    int stride[3];
    for (int a = 0; a < 3; a++) stride[a] = (in[a] + res[a] - 1) / res[a];
    int shortcut = input;
    char path[64];
    if (stride[0] > 1 || stride[1] > 1 || stride[2] > 1 || in[3] != res[3]) {
        snprintf(path, sizeof path, "%s.shortcut", prefix);
        shortcut = add_conv(b, path, input, res[3], 1, stride[0], stride[1], stride[2], PADDING_VALID);
        if (shortcut < 0) return -1;
        sample_shape_of(b->m, shortcut, out);
        if (out[0] != res[0] || out[1] != res[1] || out[2] != res[2]) {
            b->failed = 1;
            return error_set(b->err, "shortcut of %s does not match its residual's shape", prefix);
        }
    }
    snprintf(path, sizeof path, "%s.add", prefix);
    return add_layer(b, LAYER_ADD, path, shortcut, residual, 4, res);
}

static int add_block(builder *b, int bottleneck, const char *prefix, int input, int filters,
                     int stride, int first_block_of_first_stage)
{
    int x;
    char path[64];
    if (first_block_of_first_stage) {
        /* The stem already did BN -> ReLU -> max pool: no second BN-ReLU. */
        snprintf(path, sizeof path, "%s.conv1", prefix);
        x = add_conv(b, path, input, filters, bottleneck ? 1 : 3, stride, stride, stride, PADDING_SAME);
    } else {
        x = add_bn_relu_conv(b, prefix, 1, input, filters, bottleneck ? 1 : 3, stride);
    }
    if (bottleneck) {
        x = add_bn_relu_conv(b, prefix, 2, x, filters, 3, 1);
        x = add_bn_relu_conv(b, prefix, 3, x, filters * 4, 1, 1);
    } else {
        x = add_bn_relu_conv(b, prefix, 2, x, filters, 3, 1);
    }
    return add_shortcut_and_merge(b, prefix, input, x);
}

static int build_layers(builder *b)
{
    model *m = b->m;
    const model_config *c = &m->config;
    int repetitions[4], bottleneck;
    if (!model_repetitions(c->depth, repetitions, &bottleneck))
        return error_set(b->err, "unsupported depth %d (expected 18, 34, 50, 101 or 152)", c->depth);

    int x = add_layer(b, LAYER_INPUT, "input", -1, -1, 4, c->clip);
    x = add_conv(b, "stem.conv", x, c->width, 7, 2, 2, 2, PADDING_SAME);
    x = add_batchnorm(b, "stem.bn", x);
    x = add_relu(b, "stem.relu", x);
    if (!b->failed) {
        pool3d_geometry g;
        const int pool[3] = {3, 3, 3}, stride[3] = {2, 2, 2};
        int in[4];
        sample_shape_of(m, x, in);
        if (maxpool3d_geometry_init(&g, in, pool, stride, PADDING_SAME, b->err)) return -1;
        x = add_layer(b, LAYER_MAXPOOL3D, "stem.pool", x, -1, 4, g.out);
        if (x >= 0) m->layers[x].pool = g;
    }

    int filters = c->width;
    for (int s = 0; s < 4; s++) {
        for (int r = 0; r < repetitions[s]; r++) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "stage%d.block%d", s + 1, r + 1);
            int stride = (r == 0 && s > 0) ? 2 : 1;
            x = add_block(b, bottleneck, prefix, x, filters, stride, s == 0 && r == 0);
        }
        filters *= 2;
    }

    x = add_batchnorm(b, "head.bn", x);
    x = add_relu(b, "head.relu", x);
    if (b->failed) return -1;
    int last[4];
    sample_shape_of(m, x, last);
    const int channels = last[3], pooled[4] = {1, 1, 1, channels};
    x = add_layer(b, LAYER_AVGPOOL3D, "head.avgpool", x, -1, 4, pooled);
    x = add_layer(b, LAYER_FLATTEN, "head.flatten", x, -1, 1, &channels);
    x = add_layer(b, LAYER_DENSE, "head.dense", x, -1, 1, &c->classes);
    if (x >= 0) {
        const int kshape[2] = {channels, c->classes};
        add_param(b, x, PARAM_KERNEL, 2, kshape);
        add_param(b, x, PARAM_BIAS, 1, &c->classes);
    }
    if (b->failed) return -1;
    m->logits_layer = x;
    return 0;
}

/* Which backward writes into each gradient buffer first, in reverse
 * execution order; later writers add.  Flatten shares its input's buffer. */
static void plan_gradient_accumulation(model *m)
{
    char *written = calloc((size_t)m->layer_count, 1);
    assert(written);
    for (int i = m->layer_count - 1; i >= 0; i--) {
        layer *l = &m->layers[i];
        if (l->kind == LAYER_FLATTEN) continue;
        for (int k = 0; k < l->input_count; k++) {
            int target = l->inputs[k];
            if (m->layers[target].kind == LAYER_FLATTEN) target = m->layers[target].inputs[0];
            l->accumulate[k] = written[target];
            written[target] = 1;
        }
    }
    free(written);
}

/* Hands out every buffer.  Called twice with the same sequence: once to size
 * the arenas, once to assign pointers into the placed blocks. */
static void take_buffers(model *m)
{
    const int threads = m->config.threads, batch = m->config.batch;
    size_t workspace = 0;
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        if (p->trainable) {
            p->value.data = arena_take(&m->weights, p->value.count);
            p->gradient = arena_take(&m->gradients, p->value.count);
            p->adam_m = arena_take(&m->adam_m, p->value.count);
            p->adam_v = arena_take(&m->adam_v, p->value.count);
        } else {
            p->value.data = arena_take(&m->moving, p->value.count);
        }
    }
    for (int i = 0; i < m->layer_count; i++) {
        layer *l = &m->layers[i];
        if (l->kind == LAYER_FLATTEN) {
            /* A view: Flatten's output and gradient are its input's. */
            layer *in = &m->layers[l->inputs[0]];
            l->output.data = in->output.data;
            l->output_gradient = in->output_gradient;
            continue;
        }
        l->output.data = arena_take(&m->activations, l->output.count);
        l->output_gradient = l->kind == LAYER_INPUT ? NULL
                                                    : arena_take(&m->activation_gradients, l->output.count);
        size_t need = 0;
        if (l->kind == LAYER_CONV3D) {
            need = conv3d_workspace_floats(&l->conv, batch, threads);
        } else if (l->kind == LAYER_BATCHNORM) {
            int channels = l->output.shape[4];
            l->batch_stats.mean = arena_take(&m->scratch, (size_t)channels);
            l->batch_stats.variance = arena_take(&m->scratch, (size_t)channels);
            l->batch_stats.inverse_std = arena_take(&m->scratch, (size_t)channels);
            need = batchnorm_workspace_floats(channels, threads);
        } else if (l->kind == LAYER_MAXPOOL3D) {
            l->argmax = (int32_t *)arena_take(&m->scratch, l->output.count);
        }
        if (need > workspace) workspace = need;
    }
    m->workspace = arena_take(&m->scratch, workspace);
}

int model_build(model *m, const model_config *config, error *err)
{
    memset(m, 0, sizeof *m);
    m->config = *config;
    if (m->config.threads < 1) m->config.threads = 1;
    const model_config *c = &m->config;
    if (c->batch < 1) return error_set(err, "batch size must be at least 1, got %d", c->batch);
    if (c->width < 1) return error_set(err, "width must be at least 1, got %d", c->width);
    if (c->classes < 1) return error_set(err, "classes must be at least 1, got %d", c->classes);
    for (int a = 0; a < 4; a++)
        if (c->clip[a] < 1) return error_set(err, "clip dimensions must be positive");

    builder b = {.m = m, .err = err};
    if (build_layers(&b) || b.failed) {
        model_free(m);
        return -1;
    }
    plan_gradient_accumulation(m);

    take_buffers(m); /* sizing pass */
    arena *arenas[] = {&m->weights, &m->gradients, &m->adam_m, &m->adam_v, &m->moving,
                       &m->activations, &m->activation_gradients, &m->scratch};
    const size_t arena_count = sizeof arenas / sizeof arenas[0];
    for (size_t i = 0; i < arena_count; i++) {
        if (arena_place(arenas[i])) {
            /* The figure is what the model needs in all, not the one buffer
             * that happened to fail (the unplaced ones still count in used). */
            double total = 0;
            for (size_t j = 0; j < arena_count; j++)
                total += (double)(j <= i ? arenas[j]->capacity : arenas[j]->used > 0 ? arenas[j]->used : 16);
            double gib = total * (double)sizeof(real) / (1 << 30);
            model_free(m);
            return error_set(err, "cannot allocate %.2f GiB for the model's buffers "
                                  "(try a smaller --batch or --clip)", gib);
        }
    }
    take_buffers(m); /* assigning pass */
    m->batch = c->batch;
    return 0;
}

void model_set_batch(model *m, int batch)
{
    assert(batch >= 1 && batch <= m->config.batch);
    m->batch = batch;
    for (int i = 0; i < m->layer_count; i++) {
        tensor *t = &m->layers[i].output;
        t->shape[0] = batch;
        t->count = tensor_shape_count(t->rank, t->shape);
    }
}

void model_free(model *m)
{
    arena_free(&m->weights);
    arena_free(&m->gradients);
    arena_free(&m->adam_m);
    arena_free(&m->adam_v);
    arena_free(&m->moving);
    arena_free(&m->activations);
    arena_free(&m->activation_gradients);
    arena_free(&m->scratch);
    free(m->precision_scratch);
    m->precision_scratch = NULL;
    free(m->layers);
    free(m->params);
    m->layers = NULL;
    m->params = NULL;
    m->layer_count = m->param_count = 0;
}

/* ------------------------------------------------------------ initializers */

void model_init_weights(model *m, initializer_kind init, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed, RNG_STREAM_INIT);
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        real *w = p->value.data;
        real fill = (p->role == PARAM_GAMMA || p->role == PARAM_MOVING_VARIANCE) ? 1.0f : 0.0f;
        if (p->role != PARAM_KERNEL) {
            for (size_t j = 0; j < p->value.count; j++) w[j] = fill;
            continue;
        }
        /* Keras fans: the receptive field times the input (output) channels. */
        int rank = p->value.rank;
        double receptive = 1.0;
        for (int a = 0; a < rank - 2; a++) receptive *= p->value.shape[a];
        double fan_in = receptive * p->value.shape[rank - 2];
        double fan_out = receptive * p->value.shape[rank - 1];
        if (init == INIT_HE_NORMAL) {
            /* VarianceScaling(2, fan_in, truncated_normal): the 0.8796 divisor
             * is the std of a unit normal truncated at +-2, so the realised
             * std is sqrt(2/fan_in). */
            double sigma = sqrt(2.0 / fan_in) / 0.87962566103423978;
            for (size_t j = 0; j < p->value.count; j++) w[j] = (real)rng_truncated_normal(&r, sigma);
        } else {
            double limit = sqrt(6.0 / (fan_in + fan_out));
            for (size_t j = 0; j < p->value.count; j++) w[j] = (real)((2.0 * rng_uniform(&r) - 1.0) * limit);
        }
    }
}

/* -------------------------------------------------------- forward/backward */

real *model_input(model *m)
{
    return m->layers[0].output.data;
}

const real *model_logits(const model *m)
{
    return m->layers[m->logits_layer].output.data;
}

real *model_logits_gradient(model *m)
{
    return m->layers[m->logits_layer].output_gradient;
}

static const parameter *param_of(const model *m, const layer *l, int k)
{
    return &m->params[l->first_param + k];
}

static size_t cells_of(const tensor *t)
{
    return t->count / (size_t)t->shape[t->rank - 1];
}

void model_forward_layer(model *m, layer *l, int training)
{
    const int batch = m->batch;
    const tensor *x = l->input_count > 0 ? &m->layers[l->inputs[0]].output : NULL;
    real *y = l->output.data;
    switch (l->kind) {
    case LAYER_INPUT:
    case LAYER_FLATTEN:
    case LAYER_KIND_COUNT:
        break;
    case LAYER_CONV3D:
        conv3d_forward(&l->conv, batch, x->data, param_of(m, l, 0)->value.data,
                       param_of(m, l, 1)->value.data, y, m->workspace);
        break;
    case LAYER_BATCHNORM: {
        int channels = l->output.shape[4];
        const real *gamma = param_of(m, l, 0)->value.data, *beta = param_of(m, l, 1)->value.data;
        real *moving_mean = param_of(m, l, 2)->value.data, *moving_var = param_of(m, l, 3)->value.data;
        if (training)
            batchnorm_forward_train(cells_of(x), channels, x->data, gamma, beta, y, &l->batch_stats,
                                    moving_mean, moving_var, m->workspace);
        else
            batchnorm_forward_infer(cells_of(x), channels, x->data, gamma, beta, moving_mean, moving_var, y);
        break;
    }
    case LAYER_RELU:
        relu_forward(l->output.count, x->data, y);
        break;
    case LAYER_MAXPOOL3D:
        maxpool3d_forward(&l->pool, batch, x->data, y, l->argmax);
        break;
    case LAYER_AVGPOOL3D:
        avgpool3d_forward(batch, cells_of(x) / (size_t)batch, x->shape[4], x->data, y);
        break;
    case LAYER_DENSE:
        dense_forward(batch, x->shape[1], l->output.shape[1], x->data, param_of(m, l, 0)->value.data,
                      param_of(m, l, 1)->value.data, y);
        break;
    case LAYER_ADD:
        add_forward(l->output.count, x->data, m->layers[l->inputs[1]].output.data, y);
        break;
    }
}

void model_backward_layer(model *m, layer *l)
{
    const int batch = m->batch;
    const layer *in = l->input_count > 0 ? &m->layers[l->inputs[0]] : NULL;
    const real *dy = l->output_gradient;
    real *dx = in ? in->output_gradient : NULL;
    switch (l->kind) {
    case LAYER_INPUT:
    case LAYER_FLATTEN:
    case LAYER_KIND_COUNT:
        break;
    case LAYER_CONV3D: {
        const parameter *kernel = param_of(m, l, 0), *bias = param_of(m, l, 1);
        conv3d_backward(&l->conv, batch, in->output.data, kernel->value.data, dy, kernel->gradient,
                        bias->gradient, dx, l->accumulate[0], m->workspace);
        break;
    }
    case LAYER_BATCHNORM:
        batchnorm_backward(cells_of(&in->output), l->output.shape[4], in->output.data,
                           param_of(m, l, 0)->value.data, &l->batch_stats, dy,
                           param_of(m, l, 0)->gradient, param_of(m, l, 1)->gradient, dx,
                           l->accumulate[0], m->workspace);
        break;
    case LAYER_RELU:
        relu_backward(l->output.count, l->output.data, dy, dx, l->accumulate[0]);
        break;
    case LAYER_MAXPOOL3D:
        maxpool3d_backward(&l->pool, batch, l->argmax, dy, dx, l->accumulate[0]);
        break;
    case LAYER_AVGPOOL3D:
        avgpool3d_backward(batch, cells_of(&in->output) / (size_t)batch, in->output.shape[4], dy, dx,
                           l->accumulate[0]);
        break;
    case LAYER_DENSE: {
        const parameter *kernel = param_of(m, l, 0), *bias = param_of(m, l, 1);
        dense_backward(batch, in->output.shape[1], l->output.shape[1], in->output.data, kernel->value.data,
                       dy, kernel->gradient, bias->gradient, dx, l->accumulate[0]);
        break;
    }
    case LAYER_ADD:
        add_backward_input(l->output.count, dy, dx, l->accumulate[0]);
        add_backward_input(l->output.count, dy, m->layers[l->inputs[1]].output_gradient, l->accumulate[1]);
        break;
    }
}

void model_forward(model *m, int training)
{
    for (int i = 0; i < m->layer_count; i++) {
        layer *l = &m->layers[i];
        double start = omp_get_wtime();
#ifndef NANPROBE_REAL_DOUBLE
        if (m->precision != PRECISION_FLOAT32)
            model_precision_forward_layer(m, l, training);
        else
#endif
            model_forward_layer(m, l, training);
        m->timing.seconds[l->kind][0] += omp_get_wtime() - start;
        if (m->hook) m->hook(m->hook_context, i, MODEL_AFTER_FORWARD);
    }
}

void model_backward(model *m)
{
    for (int i = m->layer_count - 1; i > 0; i--) {
        layer *l = &m->layers[i];
        if (m->hook) m->hook(m->hook_context, i, MODEL_BEFORE_BACKWARD);
        double start = omp_get_wtime();
#ifndef NANPROBE_REAL_DOUBLE
        if (m->precision != PRECISION_FLOAT32)
            model_precision_backward_layer(m, l);
        else
#endif
            model_backward_layer(m, l);
        m->timing.seconds[l->kind][1] += omp_get_wtime() - start;
        if (m->hook) m->hook(m->hook_context, i, MODEL_AFTER_BACKWARD);
    }
}

double model_l2_penalty(const model *m, real lambda)
{
    double sum = 0.0;
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!p->regularized) continue;
        for (size_t j = 0; j < p->value.count; j++) sum += (double)p->value.data[j] * p->value.data[j];
    }
    return (double)lambda * sum;
}
