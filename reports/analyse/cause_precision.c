/* cause_precision.c: precision as the cause of a failure (see cause_precision.h). */
#include "cause_precision.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const ladder_info *rung_at(const precision_info *p, int step, const char *precision)
{
    for (int i = 0; i < p->ladder_count; i++)
        if (p->ladder[i].step == step && strcmp(p->ladder[i].precision, precision) == 0) return &p->ladder[i];
    return NULL;
}

static const char *layer_text(const rundata *d, int layer, char *out, size_t size)
{
    char name[128], path[128];
    int known = layer >= 0 && layer < d->layer_count;
    snprintf(out, size, "%s (%s)", cause_printable(known ? d->layers[layer].name : "?", name, sizeof name),
             cause_printable(known ? d->layers[layer].path : "-", path, sizeof path));
    return out;
}

static void float16_overflow(const rundata *d, const event_info *e, cause_trace *t)
{
    char where[300];
    t->klass = MECHANISM_FLOAT16_OVERFLOW;
    t->weak = 0;
    const replay_info *x = replay_set_nan(&d->replays);
    double value = x && x->origin_layer == e->layer_id ? x->double_value : NAN;
    double before = t->chain.count > 0 ? t->chain.links[0].last_finite : NAN;
    int n = snprintf(t->root_detail, sizeof t->root_detail, "the %s of %s went past 65504 in float16 at step %d",
                     e->tensor, layer_text(d, e->layer_id, where, sizeof where), e->step);
    if (isfinite(value) && fabs(value) > 65504.0)
        snprintf(t->root_detail + n, sizeof t->root_detail - (size_t)n, " (%.6g in float64, %.1fx float16's largest)",
                 value, fabs(value) / 65504.0);
    else if (isfinite(before) && before > 0)
        snprintf(t->root_detail + n, sizeof t->root_detail - (size_t)n, " (its largest finite |x| before: %.6g)",
                 before);
}

static void reduced_precision(const rundata *d, const ladder_info *r, cause_trace *t)
{
    char where[300];
    int underflow = strcmp(r->precision, "mixed_float16") == 0 && r->lost_layer >= 0 && strstr(r->lost_tensor, "grad");
    t->klass = underflow ? MECHANISM_FLOAT16_UNDERFLOW : MECHANISM_REDUCED_PRECISION;
    t->weak = 0;
    if (r->lost_layer >= 0)
        snprintf(t->root_detail, sizeof t->root_detail,
                 "rerun in %s, the %s of %s lost every digit (all zero where float32's is not) before the step "
                 "failed; the float32 rerun of the same step held",
                 r->precision, r->lost_tensor, layer_text(d, r->lost_layer, where, sizeof where));
    else
        snprintf(t->root_detail, sizeof t->root_detail,
                 "rerun in %s the step fails first at the %s of %s; the float32 rerun of the same step held",
                 r->precision, r->bad_tensor, layer_text(d, r->bad_layer, where, sizeof where));
}

void cause_precision_refine(const rundata *d, cause_trace *t)
{
    const precision_info *p = &d->precision;
    const event_info *e = rundata_first_nan(d);
    if (!e) return;
    const ladder_info *f32 = rung_at(p, e->step, "float32"), *own = rung_at(p, e->step, p->precision);
    int float32_holds = f32 && !f32->failed;
    if (strcmp(p->precision, "mixed_float16") == 0 && e->pass == PASS_FORWARD &&
        strcmp(e->tensor, "output") == 0 && (!f32 || float32_holds)) {
        float16_overflow(d, e, t);
        return;
    }
    if (strcmp(p->precision, "float32") != 0 && float32_holds && own && own->failed) {
        reduced_precision(d, own, t);
        return;
    }
    int batchnorm = e->layer_id >= 0 && e->layer_id < d->layer_count &&
                    d->layers[e->layer_id].kind == LAYER_BATCHNORM;
    if (batchnorm && p->bn_negative_steps > 0 && p->first_bn_negative_step <= e->step) {
        t->klass = MECHANISM_BATCHNORM;
        snprintf(t->root_detail, sizeof t->root_detail,
                 "cancellation: the one-pass variance E[x^2]-E[x]^2 in float32 (--bn-variance one_pass) went "
                 "negative from step %d on (%d steps), and below -epsilon 1/sqrt is NaN; the two-pass variance "
                 "stays positive",
                 p->first_bn_negative_step, p->bn_negative_steps);
    }
}

void cause_precision_collapse(const rundata *d, strbuf *out)
{
    const precision_info *p = &d->precision;
    if (p->trailing_skipped < CAUSE_COLLAPSE_STEPS || p->last_scale > 1.0) return;
    const mechanism_def *m = &mechanism_defs[MECHANISM_LOSS_SCALE_COLLAPSE];
    strbuf_printf(out, "Cause: %s: the last %d steps were all skipped, the loss scale at its floor %g (%d of %d "
                       "steps skipped in all); %s.\nFix: %s.\n",
                  m->title, p->trailing_skipped, p->last_scale, p->skipped_steps, p->scaled_steps, m->sentence, m->fix);
}

int cause_precision_ladder_line(const rundata *d, int step, strbuf *out)
{
    const precision_info *p = &d->precision;
    char held[160], failed[160];
    precision_ladder_list(p, step, 0, held, sizeof held);
    precision_ladder_list(p, step, 1, failed, sizeof failed);
    if (!held[0] && !failed[0]) return 0;
    strbuf_printf(out, "Precision: step %d rerun from the same state holds in %s; fails in %s.\n", step,
                  held[0] ? held : "none", failed[0] ? failed : "none");
    return 1;
}
