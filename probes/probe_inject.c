/* probe_inject.c: the fault drill (--inject, see inject.h) applied at the
 * probes' hook points: the value planted, an "injection" event for the
 * step, and scaled weights checked by the sentinel like any tensor. */
#include "probe_session.h"

#include <math.h>
#include <stdio.h>

/* The injection's own columns: its kind, and the element it hit (NULL for
 * scale-weights, which scales a whole tensor by old_value's factor). */
static event_row *note_injection(probe_session *ps, const injection *inj, const char *what)
{
    event_row *e = probe_add_event(ps, EVENT_INJECTION, inj->layer);
    if (!e) return NULL;
    e->inject_kind = inj->kind;
    e->old_value = inj->kind == INJECT_SCALE_WEIGHTS ? inj->factor : NAN;
    snprintf((char *)e->message, sizeof ps->event_messages[0], "injected %s (--inject %s)", what, inj->spec);
    return e;
}

void probe_inject_value(probe_session *ps, injection_kind kind, int layer_index, float *data, const tensor *shape_of,
                        float value)
{
    for (int i = 0; i < ps->config.injection_count; i++) {
        const injection *inj = &ps->config.injections[i];
        if (inj->kind != kind || inj->step != ps->step || inj->layer != layer_index) continue;
        long long element = injection_element(inj, shape_of->rank, shape_of->shape);
        data[element] = value;
        char what[96];
        snprintf(what, sizeof what, "%s into element %lld of %s", value != value ? "NaN" : "+Inf", element,
                 ps->m->layers[layer_index].name);
        event_row *e = note_injection(ps, inj, what);
        if (e) {
            e->element_index = element;
            e->sample = inj->sample;
            injection_cell(inj, shape_of->rank, shape_of->shape, &e->d, &e->h, &e->w, &e->channel);
        }
    }
}

void probe_inject_weight_scaling(probe_session *ps)
{
    for (int i = 0; i < ps->config.injection_count; i++) {
        const injection *inj = &ps->config.injections[i];
        if (inj->kind != INJECT_SCALE_WEIGHTS || inj->step != ps->step) continue;
        const layer *l = &ps->m->layers[inj->layer];
        const parameter *p = &ps->m->params[l->first_param];
        injection_apply_scaling(inj, ps->m);
        char what[96];
        snprintf(what, sizeof what, "a factor of %g on %s", inj->factor, p->name);
        note_injection(ps, inj, what);
        /* The scaled weights are a tensor of this step like any other. */
        tensor_stats s;
        stats_compute(p->value.data, p->value.count, &s);
        ps->value_ok[l->first_param] = stats_nonfinite(&s) == 0;
        sentinel_check(&ps->sentinel, &s, p->value.data, inj->layer, PASS_UPDATE,
                       probe_param_names[PROBE_PARAM_VALUE][p->role], p->value.rank, p->value.shape, 0, 1);
    }
}
