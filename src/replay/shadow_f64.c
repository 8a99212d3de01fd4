/* shadow_f64.c: the float64 step behind shadow.h.  Compiled only in the
 * double build (real = double), so `model` here is the float64 model and
 * every float32 value arrives through a shadow_view as plain float arrays. */
#include "shadow.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"

#ifndef NANPROBE_REAL_DOUBLE
#error "shadow_f64.c belongs to the double build; the Makefile compiles it with -DNANPROBE_REAL_DOUBLE"
#endif

struct shadow {
    model m;
    const shadow_view *view; /* during shadow_run_step */
    shadow_tensor *tensors;  /* execution order */
    int tensor_count, tensor_capacity;
    int *labels;
    double loss;
};

int shadow_create(shadow **out, const model_config *config, error *err)
{
    *out = NULL;
    shadow *s = calloc(1, sizeof *s);
    if (!s) return error_set(err, "out of memory for the float64 model");
    if (model_build(&s->m, config, err)) {
        free(s);
        return -1;
    }
    /* Layer tensors (four kinds at most) and two per parameter. */
    s->tensor_capacity = 4 * s->m.layer_count + 2 * s->m.param_count;
    s->tensors = calloc((size_t)s->tensor_capacity, sizeof *s->tensors);
    s->labels = calloc((size_t)config->batch, sizeof *s->labels);
    if (!s->tensors || !s->labels) {
        shadow_free(s);
        return error_set(err, "out of memory for the float64 model");
    }
    *out = s;
    return 0;
}

void shadow_free(shadow *s)
{
    if (!s) return;
    model_free(&s->m);
    free(s->tensors);
    free(s->labels);
    free(s);
}

size_t shadow_bytes(const shadow *s)
{
    const arena *a[] = {&s->m.weights, &s->m.gradients, &s->m.adam_m, &s->m.adam_v, &s->m.moving,
                        &s->m.activations, &s->m.activation_gradients, &s->m.scratch};
    size_t n = 0;
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) n += a[i]->capacity * sizeof(real);
    return n;
}

static void widen(const float *from, real *to, size_t n)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) to[i] = from[i];
}

void shadow_load(shadow *s, const shadow_view *view)
{
    for (int i = 0; i < s->m.param_count && i < view->param_count; i++) {
        parameter *p = &s->m.params[i];
        widen(view->param[0][i], p->value.data, p->value.count);
        if (!p->trainable) continue;
        widen(view->adam_m[i], p->adam_m, p->value.count);
        widen(view->adam_v[i], p->adam_v, p->value.count);
    }
}

/* ------------------------------------------------------------ comparing */

static int is_finite(double x)
{
    return x - x == 0.0; /* false for NaN and +-Inf, on any compiler setting that keeps IEEE */
}

/* One tensor against its float32 twin (NULL: float64 alone).  The error is
 * a norm ratio, so one bad element cannot hide in an average; it is NaN
 * when either side holds a non-finite value. */
static void compare_tensor(shadow *s, shadow_kind kind, int layer_index, int param, const real *x, const float *ref,
                           size_t n)
{
    if (s->tensor_count >= s->tensor_capacity || !x) return;
    shadow_tensor *t = &s->tensors[s->tensor_count++];
    *t = (shadow_tensor){.kind = kind, .layer = layer_index, .param = param, .count = n, .double_first_bad = -1};
    double max64 = 0.0, max32 = 0.0, diff2 = 0.0, norm2 = 0.0;
    long long bad64 = 0, bad32 = 0, first = LLONG_MAX; /* min-reduced: "none" must be the largest */
    #pragma omp parallel for schedule(static) reduction(max : max64, max32) reduction(+ : diff2, norm2, bad64, bad32) \
        reduction(min : first)
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (!is_finite(v)) {
            bad64++;
            if ((long long)i < first) first = (long long)i;
        } else if (fabs(v) > max64) {
            max64 = fabs(v);
        }
        if (!ref) continue;
        double r = ref[i];
        if (!is_finite(r)) bad32++;
        else if (fabs(r) > max32) max32 = fabs(r);
        diff2 += (r - v) * (r - v);
        norm2 += v * v;
    }
    t->double_max_abs = max64;
    t->double_nonfinite = bad64;
    t->double_first_bad = bad64 ? first : -1;
    t->float_max_abs = ref ? max32 : NAN;
    t->float_nonfinite = ref ? bad32 : -1;
    if (!ref || bad64 || bad32) t->relative_error = NAN;
    else t->relative_error = norm2 > 0.0 ? sqrt(diff2 / norm2) : sqrt(diff2);
}

static const float *view_layer(const shadow *s, shadow_kind kind, int layer_index)
{
    const shadow_view *v = s->view;
    if (!v || layer_index >= v->layer_count || !v->layer[kind]) return NULL;
    return v->layer[kind][layer_index];
}

static void hook(void *context, int index, model_event event)
{
    shadow *s = context;
    layer *l = &s->m.layers[index];
    if (l->kind == LAYER_FLATTEN) return; /* a view of its input */
    if (event == MODEL_AFTER_FORWARD) {
        compare_tensor(s, SHADOW_OUTPUT, index, -1, l->output.data, view_layer(s, SHADOW_OUTPUT, index),
                       l->output.count);
        if (l->kind == LAYER_BATCHNORM) {
            size_t c = (size_t)l->output.shape[4];
            compare_tensor(s, SHADOW_BATCH_MEAN, index, -1, l->batch_stats.mean,
                           view_layer(s, SHADOW_BATCH_MEAN, index), c);
            compare_tensor(s, SHADOW_BATCH_VARIANCE, index, -1, l->batch_stats.variance,
                           view_layer(s, SHADOW_BATCH_VARIANCE, index), c);
        }
    } else if (event == MODEL_BEFORE_BACKWARD && l->output_gradient) {
        compare_tensor(s, SHADOW_OUTPUT_GRAD, index, -1, l->output_gradient,
                       view_layer(s, SHADOW_OUTPUT_GRAD, index), l->output.count);
    }
}

/* ------------------------------------------------------------ the step */

/* Adam on every trainable parameter, L2 folded into the kernels' gradient
 * as optimizer_step does, every operation in double. */
static void update(shadow *s, const shadow_step *step)
{
    real alpha = adam_step_size(&step->adam, step->learning_rate, step->adam_t);
    for (int i = 0; i < s->m.param_count; i++) {
        parameter *p = &s->m.params[i];
        if (!p->trainable) continue;
        adam_update(&step->adam, p->value.count, alpha, p->regularized ? step->l2 : 0.0f, p->value.data,
                    p->gradient, p->adam_m, p->adam_v, NULL, NULL);
    }
}

void shadow_run_step(shadow *s, const shadow_view *view, const shadow_step *step)
{
    model *m = &s->m;
    s->view = view;
    s->tensor_count = 0;
    model_set_batch(m, step->batch);
    widen(step->input, model_input(m), m->layers[0].output.count);
    memcpy(s->labels, step->labels, sizeof(int) * (size_t)step->batch);
    m->hook = hook;
    m->hook_context = s;
    model_forward(m, 1);
    loss_result lr =
        loss_from_logits(step->batch, m->config.classes, model_logits(m), s->labels, model_logits_gradient(m));
    s->loss = lr.loss;
    model_backward(m);
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        const float *ref = view && i < view->param_count && view->param[1] ? view->param[1][i] : NULL;
        compare_tensor(s, SHADOW_PARAM_GRAD, p->layer, i, p->gradient, ref, p->value.count);
    }
    update(s, step);
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        const float *ref = view && i < view->param_count && view->param[0] ? view->param[0][i] : NULL;
        compare_tensor(s, SHADOW_PARAM_VALUE, p->layer, i, p->value.data, ref, p->value.count);
    }
    m->hook = NULL;
    s->view = NULL;
}

int shadow_tensor_count(const shadow *s)
{
    return s->tensor_count;
}

const shadow_tensor *shadow_tensor_at(const shadow *s, int i)
{
    return i >= 0 && i < s->tensor_count ? &s->tensors[i] : NULL;
}

double shadow_loss(const shadow *s)
{
    return s->loss;
}

double shadow_value(const shadow *s, shadow_kind kind, int layer_index, int param, long long element)
{
    const model *m = &s->m;
    const real *data = NULL;
    size_t n = 0;
    if (kind >= SHADOW_PARAM_VALUE) {
        if (param < 0 || param >= m->param_count) return NAN;
        const parameter *p = &m->params[param];
        data = kind == SHADOW_PARAM_VALUE ? p->value.data : p->gradient;
        n = p->value.count;
    } else {
        if (layer_index < 0 || layer_index >= m->layer_count) return NAN;
        const layer *l = &m->layers[layer_index];
        n = l->output.count;
        if (kind == SHADOW_OUTPUT) {
            data = l->output.data;
        } else if (kind == SHADOW_OUTPUT_GRAD) {
            data = l->output_gradient;
        } else if (l->kind == LAYER_BATCHNORM) {
            data = kind == SHADOW_BATCH_MEAN ? l->batch_stats.mean : l->batch_stats.variance;
            n = (size_t)l->output.shape[4];
        }
    }
    if (!data || element < 0 || (size_t)element >= n) return NAN;
    return data[element];
}
