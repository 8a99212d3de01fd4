/* model_precision.c: the model's passes in an emulated precision (see model_precision.h). */
#include "model_precision.h"

#include <stdlib.h>

#include "model_layer.h"

/* The rounded copies: an input, an output gradient, a kernel, a bias. */
typedef struct rounded_copies {
    real *input, *gradient, *kernel, *bias;
} rounded_copies;

/* Sized for the model's full batch, whatever the current one (model_set_batch). */
static rounded_copies copies_of(model *m)
{
    size_t activation = 0, kernel = 0, bias = 0;
    for (int i = 0; i < m->layer_count; i++) {
        const tensor *t = &m->layers[i].output;
        size_t full = t->count / (size_t)t->shape[0] * (size_t)m->config.batch;
        if (full > activation) activation = full;
    }
    for (int i = 0; i < m->param_count; i++) {
        size_t n = m->params[i].value.count;
        if (m->params[i].role == PARAM_KERNEL && n > kernel) kernel = n;
        if (m->params[i].role == PARAM_BIAS && n > bias) bias = n;
    }
    rounded_copies c = {m->precision_scratch, NULL, NULL, NULL};
    if (!m->precision_scratch) {
        m->precision_scratch_count = 2 * activation + kernel + bias;
        return c;
    }
    c.gradient = c.input + activation;
    c.kernel = c.gradient + activation;
    c.bias = c.kernel + kernel;
    return c;
}

int model_set_precision(model *m, precision_kind precision, error *err)
{
    if ((unsigned)precision >= PRECISION_FLOAT64)
        return error_set(err, "precision %s cannot train (float32, tf32, mixed_float16, mixed_bfloat16)",
                         (unsigned)precision < PRECISION_COUNT ? precision_names[precision] : "?");
    free(m->precision_scratch);
    m->precision_scratch = NULL;
    m->precision = precision;
    if (precision == PRECISION_FLOAT32) return 0;
    copies_of(m); /* sizing */
    m->precision_scratch = malloc(m->precision_scratch_count * sizeof(real));
    if (!m->precision_scratch) {
        m->precision = PRECISION_FLOAT32;
        return error_set(err, "cannot allocate %.2f GiB for %s's rounded operands",
                         (double)m->precision_scratch_count * sizeof(real) / (1 << 30), precision_names[precision]);
    }
    return 0;
}

static parameter *param_at(model *m, const layer *l, int k)
{
    return &m->params[l->first_param + k];
}

static int is_gemm_layer(const layer *l)
{
    return l->kind == LAYER_CONV3D || l->kind == LAYER_DENSE;
}

/* Points *slot at a copy of its n values rounded to format; returns the original. */
static real *round_into(round_format format, real **slot, real *copy, size_t n)
{
    real *original = *slot;
    round_array(format, original, copy, n);
    *slot = copy;
    return original;
}

void model_precision_forward_layer(model *m, layer *l, int training)
{
    const round_format operand = precision_operand_format(m->precision);
    const round_format storage = precision_storage_format(m->precision);
    if (!is_gemm_layer(l)) {
        model_forward_layer(m, l, training);
    } else {
        rounded_copies c = copies_of(m);
        tensor *x = &m->layers[l->inputs[0]].output;
        parameter *kernel = param_at(m, l, 0), *bias = param_at(m, l, 1);
        real *x_data = x->data, *bias_data = bias->value.data;
        if (storage == ROUND_NONE) round_into(operand, &x->data, c.input, x->count); /* mixed: stored rounded */
        real *kernel_data = round_into(operand, &kernel->value.data, c.kernel, kernel->value.count);
        if (storage != ROUND_NONE) round_into(storage, &bias->value.data, c.bias, bias->value.count);
        model_forward_layer(m, l, training);
        x->data = x_data;
        kernel->value.data = kernel_data;
        bias->value.data = bias_data;
    }
    if (storage != ROUND_NONE) round_array(storage, l->output.data, l->output.data, l->output.count);
}

/* The bias gradient as the float32 sum of the unrounded output gradient. */
static void bias_gradient(const layer *l, const real *dy, real *dbias)
{
    const int channels = l->output.shape[l->output.rank - 1];
    const size_t rows = l->output.count / (size_t)channels;
    double sum[channels];
    for (int c = 0; c < channels; c++) sum[c] = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < channels; c++) sum[c] += dy[r * (size_t)channels + c];
    for (int c = 0; c < channels; c++) dbias[c] = (real)sum[c];
}

static void gemm_layer_backward(model *m, layer *l, round_format operand, round_format storage)
{
    rounded_copies c = copies_of(m);
    layer *in = &m->layers[l->inputs[0]];
    parameter *kernel = param_at(m, l, 0), *bias = param_at(m, l, 1);
    real *x_data = in->output.data, *dy = l->output_gradient;
    if (storage == ROUND_NONE) {
        round_into(operand, &in->output.data, c.input, in->output.count);
        round_into(operand, &l->output_gradient, c.gradient, l->output.count);
    }
    real *kernel_data = round_into(operand, &kernel->value.data, c.kernel, kernel->value.count);
    model_backward_layer(m, l);
    in->output.data = x_data;
    l->output_gradient = dy;
    kernel->value.data = kernel_data;
    if (storage == ROUND_NONE) {
        bias_gradient(l, dy, bias->gradient);
    } else {
        round_array(storage, kernel->gradient, kernel->gradient, kernel->value.count);
        round_array(storage, bias->gradient, bias->gradient, bias->value.count);
    }
}

void model_precision_backward_layer(model *m, layer *l)
{
    const round_format operand = precision_operand_format(m->precision);
    const round_format storage = precision_storage_format(m->precision);
    if (is_gemm_layer(l))
        gemm_layer_backward(m, l, operand, storage);
    else
        model_backward_layer(m, l);
    if (storage == ROUND_NONE) return;
    for (int k = 0; k < l->input_count; k++) {
        layer *in = &m->layers[l->inputs[k]];
        if (in->output_gradient) round_array(storage, in->output_gradient, in->output_gradient, in->output.count);
    }
}

void model_precision_scale_logits_gradient(model *m, float loss_scale)
{
    const round_format storage = precision_storage_format(m->precision);
    const layer *logits = &m->layers[m->logits_layer];
    real *g = logits->output_gradient;
    for (size_t i = 0; i < logits->output.count; i++) g[i] = float_round_to(storage, g[i] * loss_scale);
}

void model_set_bn_variance(model *m, bn_variance_kind kind)
{
    for (int i = 0; i < m->layer_count; i++)
        if (m->layers[i].kind == LAYER_BATCHNORM) m->layers[i].batch_stats.one_pass = kind == BN_VARIANCE_ONE_PASS;
}

void model_bn_variance_counts(const model *m, int *cancelled, int *negative, int *first_negative_layer)
{
    *cancelled = *negative = 0;
    *first_negative_layer = -1;
    for (int i = 0; i < m->layer_count; i++) {
        const batchnorm_batch *b = &m->layers[i].batch_stats;
        if (m->layers[i].kind != LAYER_BATCHNORM || !b->one_pass) continue;
        *cancelled += b->cancelled;
        *negative += b->negative;
        if (b->negative && *first_negative_layer < 0) *first_negative_layer = i;
    }
}
