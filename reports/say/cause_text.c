/* cause_text.c: the Cause / Path / Fix lines (see cause_text.h). */
#include "cause_text.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void number(strbuf *out, double v)
{
    if (isnan(v)) strbuf_append(out, "NaN");
    else if (isinf(v)) strbuf_append(out, v > 0 ? "Inf" : "-Inf");
    else strbuf_printf(out, "%.3g", v);
}

void cause_text_link(const rundata *d, const cause_link *k, strbuf *out)
{
    char name[128], tensor[64], stat[64];
    cause_printable(k->layer >= 0 && k->layer < d->layer_count ? d->layers[k->layer].name : "?", name, sizeof name);
    cause_printable(k->tensor, tensor, sizeof tensor);
    cause_printable(k->statistic, stat, sizeof stat);
    strbuf_printf(out, "%s %s %s ", name, tensor, stat);
    if (strcmp(k->tensor, "kernel.update") == 0) {
        number(out, k->before);
        strbuf_append(out, " -> ");
        number(out, k->after);
        strbuf_printf(out, " (update of step %d)", k->step);
        return;
    }
    if (k->sample_id >= 0) {
        strbuf_printf(out, "%.0f in clip %lld (step %d)", k->after, k->sample_id, k->step);
        return;
    }
    if (k->role == CAUSE_ROLE_ROOT && strcmp(k->tensor, "kernel") == 0 && isfinite(k->before)) {
        /* an injected factor: the norm before it, at the step before */
        number(out, k->before);
        strbuf_printf(out, " (step %d) -> ", k->step_before);
    } else if (isfinite(k->before)) {
        strbuf_append(out, "baseline ");
        number(out, k->before);
        strbuf_append(out, " -> ");
    }
    number(out, k->after);
    strbuf_printf(out, " (step %d)", k->step);
}

static void chain_text(const rundata *d, const cause_chain *c, strbuf *out)
{
    /* upstream first: the root, then each link down to the origin */
    for (int i = c->count - 1; i >= 0; i--) {
        cause_text_link(d, &c->links[i], out);
        if (i) strbuf_append(out, " -> ");
    }
}

void cause_text_compose(const rundata *d, const cause_trace *t, strbuf *out)
{
    if (t->klass == MECHANISM_NONE) return;
    const mechanism_def *m = &mechanism_defs[t->klass];
    const cause_link *root = &t->chain.links[t->chain.count - 1];
    char name[128];
    cause_printable(d->layers[root->layer].name, name, sizeof name);
    if (root->layer == 0)
        strbuf_printf(out, "Cause: %s%s: %s; %s.\n", m->title, t->weak ? " (weak evidence)" : "",
                      t->root_detail, m->sentence);
    else
        strbuf_printf(out, "Cause: %s%s at %s: %s; %s.\n", m->title, t->weak ? " (weak evidence)" : "", name,
                      m->sentence, t->root_detail);
    strbuf_append(out, "Path: ");
    chain_text(d, &t->chain, out);
    if (t->elements > 0)
        strbuf_printf(out, "; %lld of %lld values non-finite at the origin", t->nonfinite, t->elements);
    strbuf_append(out, ".\n");
    if (t->inference_path[0]) strbuf_printf(out, "Inference path: %s.\n", t->inference_path);
    strbuf_printf(out, "Fix: %s.\n", m->fix);
    if (t->weak) {
        strbuf_printf(out, "Uncertain: %s", t->weak_reason);
        if (t->runner_up.count > 1) {
            strbuf_append(out, "; runner-up chain: ");
            chain_text(d, &t->runner_up, out);
        }
        strbuf_append(out, ".\n");
    }
}
