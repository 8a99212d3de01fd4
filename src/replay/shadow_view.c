/* shadow_view.c: a shadow_view over the float32 model (see shadow_view.h),
 * and the tensor names the replay tables use. */
#include "shadow_view.h"

#include <stdlib.h>

static const char *const kind_names[SHADOW_KIND_COUNT] = {
    "output", "output_grad", "batch_mean", "batch_variance", "", ".grad",
};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == SHADOW_KIND_COUNT, "one name per shadow_kind");

/* Layer tensors by kind; a parameter's as the stats table writes it
 * ("kernel", "gamma.grad"), from its role. */
const char *shadow_kind_name(shadow_kind kind, int param_role)
{
    static const char *const params[2][6] = {
        {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"},
        {"kernel.grad", "bias.grad", "gamma.grad", "beta.grad", "moving_mean.grad", "moving_variance.grad"},
    };
    if (kind < SHADOW_PARAM_VALUE) return kind_names[kind];
    if (kind >= SHADOW_KIND_COUNT || param_role < 0 || param_role > 5) return "?";
    return params[kind - SHADOW_PARAM_VALUE][param_role];
}

int shadow_view_init(shadow_view *v, const model *m, error *err)
{
    *v = (shadow_view){.layer_count = m->layer_count, .param_count = m->param_count};
    for (int k = 0; k < SHADOW_PARAM_VALUE; k++) v->layer[k] = calloc((size_t)m->layer_count, sizeof(float *));
    for (int k = 0; k < 2; k++) v->param[k] = calloc((size_t)m->param_count, sizeof(float *));
    v->adam_m = calloc((size_t)m->param_count, sizeof(float *));
    v->adam_v = calloc((size_t)m->param_count, sizeof(float *));
    int ok = v->adam_m && v->adam_v && v->param[0] && v->param[1];
    for (int k = 0; k < SHADOW_PARAM_VALUE; k++) ok = ok && v->layer[k];
    if (!ok) {
        shadow_view_free(v);
        return error_set(err, "out of memory for the replay's view of the model");
    }
    for (int i = 0; i < m->layer_count; i++) {
        const layer *l = &m->layers[i];
        v->layer[SHADOW_OUTPUT][i] = l->output.data;
        v->layer[SHADOW_OUTPUT_GRAD][i] = l->output_gradient;
        v->layer[SHADOW_BATCH_MEAN][i] = l->kind == LAYER_BATCHNORM ? l->batch_stats.mean : NULL;
        v->layer[SHADOW_BATCH_VARIANCE][i] = l->kind == LAYER_BATCHNORM ? l->batch_stats.variance : NULL;
    }
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        v->param[0][i] = p->value.data;
        v->param[1][i] = p->gradient;
        v->adam_m[i] = p->adam_m;
        v->adam_v[i] = p->adam_v;
    }
    return 0;
}

void shadow_view_free(shadow_view *v)
{
    for (int k = 0; k < SHADOW_PARAM_VALUE; k++) free(v->layer[k]);
    for (int k = 0; k < 2; k++) free(v->param[k]);
    free(v->adam_m);
    free(v->adam_v);
    *v = (shadow_view){0};
}
