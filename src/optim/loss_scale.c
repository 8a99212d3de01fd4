/* loss_scale.c: Keras' dynamic loss scale (see loss_scale.h). */
#include "loss_scale.h"

#include "finite.h"

void loss_scale_init(loss_scale *ls)
{
    ls->scale = LOSS_SCALE_INITIAL;
    ls->counter = 0;
    ls->growth_steps = LOSS_SCALE_GROWTH_STEPS;
}

int loss_scale_gradients_finite(const model *m)
{
    int finite = 1;
    for (int i = 0; i < m->param_count && finite; i++) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        const real *g = p->gradient;
        size_t bad = 0;
        #pragma omp parallel for schedule(static) reduction(+ : bad)
        for (size_t j = 0; j < p->value.count; j++) bad += !float_is_finite(g[j]);
        finite = bad == 0;
    }
    return finite;
}

void loss_scale_unscale(model *m, float scale)
{
    const float reciprocal = 1.0f / scale;
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        if (!p->trainable) continue;
        real *g = p->gradient;
        #pragma omp parallel for schedule(static)
        for (size_t j = 0; j < p->value.count; j++) g[j] *= reciprocal;
    }
}

loss_scale_change loss_scale_update(loss_scale *ls, int finite)
{
    if (!finite) {
        float halved = ls->scale / LOSS_SCALE_MULTIPLIER;
        ls->counter = 0;
        loss_scale_change change = halved < ls->scale && ls->scale > LOSS_SCALE_FLOOR ? LOSS_SCALE_HALVED
                                                                                      : LOSS_SCALE_KEPT;
        ls->scale = halved < LOSS_SCALE_FLOOR ? LOSS_SCALE_FLOOR : halved;
        return change;
    }
    if (ls->counter + 1 >= ls->growth_steps) {
        float grown = ls->scale * LOSS_SCALE_MULTIPLIER;
        ls->counter = 0;
        if (!float_is_finite(grown)) return LOSS_SCALE_KEPT;
        ls->scale = grown;
        return LOSS_SCALE_GREW;
    }
    ls->counter++;
    return LOSS_SCALE_KEPT;
}
