/* verdict.c: composing the plain-text verdict (see verdict.h). */
#include "verdict.h"

#include "cause_precision.h"
#include "cause_text.h"
#include "inference_trace.h"
#include "l2_adam.h"
#include "replay_text.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void verdict_format_factor(double decades, char *out, size_t size)
{
    double d = fabs(decades);
    if (d >= 3.0) snprintf(out, size, "10^%.1f x", d);
    else snprintf(out, size, "%.3g x", pow(10.0, d));
}

/* Database strings go into the plain-text verdict (and so to terminals)
 * with control characters replaced (cause_printable): a layer name must not
 * be able to send escape sequences or break the verdict's lines.  Each
 * caller passes its own buffer. */
typedef char name_buf[400];

static const char *layer_path_or_dash(const rundata *d, int l, name_buf buf)
{
    return l >= 0 && l < d->layer_count && d->layers[l].path[0] ? cause_printable(d->layers[l].path, buf, sizeof(name_buf))
                                                                 : "-";
}

static const char *layer_name_of(const rundata *d, int l, name_buf buf)
{
    return cause_printable(l >= 0 && l < d->layer_count ? d->layers[l].name : "?", buf, sizeof(name_buf));
}

static const char *text_of(const char *text, name_buf buf)
{
    return cause_printable(text, buf, sizeof(name_buf));
}

/* "gradient absmax of conv3d_27 (stage3.block2.conv2) grew 10^6.0 x over the
 * 180 steps before step 1234 (baseline 2.1e-03, 3.5e+03 at step 1233)" */
static void describe_precursor(const rundata *d, const precursor *p, int end_step, int is_nan, strbuf *out)
{
    char factor[32];
    verdict_format_factor(p->departure, factor, sizeof factor);
    const char *unit = p->series == SERIES_UPDATE_RATIO ? " per unit lr" : "";
    name_buf name, path;
    strbuf_printf(out, "%s of %s (%s) %s %s", series_defs[p->series].label, layer_name_of(d, p->layer, name),
                  layer_path_or_dash(d, p->layer, path), p->departure >= 0 ? "grew" : "shrank", factor);
    if (p->onset_step > 0) {
        int span = end_step - p->onset_step;
        if (is_nan) strbuf_printf(out, " over the %d steps before step %d", span, end_step);
        else strbuf_printf(out, " from step %d on", p->onset_step);
    }
    strbuf_printf(out, " (baseline %.3g%s, %.3g%s at step %d)", p->baseline, unit, p->peak_value, unit, p->peak_step);
}

/* Is the same layer already listed? */
static int layer_listed(const int *layers, int n, int layer)
{
    for (int i = 0; i < n; i++)
        if (layers[i] == layer) return 1;
    return 0;
}

/* The best-scoring candidate of another layer (items are sorted by score):
 * the verdict ranks by score, so the runner-up it names is by score too,
 * not the largest raw departure. */
static const precursor *best_elsewhere(const precursor_ranking *r, int layer)
{
    for (int i = 0; i < r->candidates; i++)
        if (r->items[i].layer != layer) return &r->items[i];
    return NULL;
}

static void append_no_precursor(const rundata *d, const precursor_ranking *r, int end_step, int is_nan, strbuf *out)
{
    if (r->count == 0) {
        strbuf_printf(out,
                      "Precursor: none measurable (fewer than 8 probed steps before step %d: too short a history "
                      "to tell a departure from it).\n",
                      end_step);
        return;
    }
    const precursor *big = precursor_largest_elsewhere(r, -1);
    char factor[32];
    name_buf name;
    verdict_format_factor(big ? big->departure : 0, factor, sizeof factor);
    const char *label = big ? series_defs[big->series].label : "-";
    const char *layer = big ? layer_name_of(d, big->layer, name) : "-";
    if (is_nan)
        strbuf_printf(out,
                      "Precursor: none. No statistic of any layer left its own history by 10 x or more before step "
                      "%d (the largest departure was %s, %s of %s): the NaN appeared without a measurable "
                      "warning.\n",
                      end_step, factor, label, layer);
    else
        strbuf_printf(out,
                      "Trends: no statistic of any layer left its own history by 10 x or more (the largest departure "
                      "was %s, %s of %s).\n",
                      factor, label, layer);
}

static void append_precursors(const rundata *d, const precursor_ranking *r, int end_step, int is_nan, strbuf *out)
{
    const precursor *top = r->candidates > 0 ? &r->items[0] : NULL;
    if (!top || fabs(top->departure) < PRECURSOR_MIN_DECADES) {
        append_no_precursor(d, r, end_step, is_nan, out);
        return;
    }
    strbuf_append(out, is_nan ? "Precursor: " : "Largest departure from its own history: ");
    describe_precursor(d, top, end_step, is_nan, out);
    const precursor *other = best_elsewhere(r, top->layer);
    if (other && fabs(other->departure) >= PRECURSOR_MIN_DECADES) {
        char factor[32];
        name_buf name;
        verdict_format_factor(other->departure, factor, sizeof factor);
        strbuf_printf(out, "; the best-scoring series of another layer was %s of %s (%s).\n",
                      series_defs[other->series].label, layer_name_of(d, other->layer, name), factor);
    } else {
        strbuf_append(out, ", while no other layer's statistic left its band by 10 x or more.\n");
    }
    int listed[VERDICT_NEXT_CANDIDATES + 1], n = 0;
    listed[n++] = top->layer;
    for (int i = 1; i < r->candidates && n <= VERDICT_NEXT_CANDIDATES; i++) {
        const precursor *p = &r->items[i];
        if (layer_listed(listed, n, p->layer) || fabs(p->departure) < PRECURSOR_MIN_DECADES) continue;
        strbuf_append(out, n == 1 ? "Next candidates: " : "; ");
        strbuf_printf(out, "%d. ", n + 1);
        describe_precursor(d, p, end_step, is_nan, out);
        listed[n++] = p->layer;
    }
    if (n > 1) strbuf_append(out, ".\n");
}

static void append_rule_summary(const rule_finding findings[RULE_COUNT], strbuf *out)
{
    int fails = 0, warns = 0;
    for (int i = 0; i < RULE_COUNT; i++) {
        if (findings[i].level == RULE_FAIL) fails++;
        if (findings[i].level == RULE_WARN) warns++;
    }
    strbuf_printf(out, "Symptom rules: %d failed, %d warned", fails, warns);
    const char *sep = ": ";
    for (int level = RULE_FAIL; level >= RULE_WARN; level--)
        for (int i = 0; i < RULE_COUNT; i++)
            if ((int)findings[i].level == level) {
                strbuf_printf(out, "%s%s%s", sep, findings[i].key, level == RULE_FAIL ? " (fail)" : "");
                sep = ", ";
            }
    strbuf_append(out, ".\n");
}

int verdict_riskiest_layers(const rundata *d, int *order, double *absmax, int *tensor, int *step, int max)
{
    if (!d->extremes) return 0;
    int n = 0;
    for (int l = 0; l < d->layer_count; l++) {
        double best = -1;
        int best_t = -1, best_step = 0;
        for (int t = 0; t < d->tensor_count; t++) {
            const tensor_extreme *x = &d->extremes[(size_t)l * (size_t)d->tensor_count + (size_t)t];
            if (x->absmax_step && x->absmax > best) best = x->absmax, best_t = t, best_step = x->absmax_step;
        }
        if (best_t < 0) continue;
        /* insertion into the top `max`, largest first */
        int pos = n < max ? n : max;
        while (pos > 0 && absmax[pos - 1] < best) pos--;
        if (pos >= max) continue;
        int last = n < max ? n : max - 1;
        for (int k = last; k > pos; k--) {
            order[k] = order[k - 1];
            absmax[k] = absmax[k - 1];
            tensor[k] = tensor[k - 1];
            step[k] = step[k - 1];
        }
        order[pos] = l;
        absmax[pos] = best;
        tensor[pos] = best_t;
        step[pos] = best_step;
        if (n < max) n++;
    }
    return n;
}

static void append_nan_origin(const rundata *d, const event_info *e, const cause_trace *t, strbuf *out)
{
    int l = rundata_layer_index(d, e->layer_id);
    const step_info *si = rundata_step(d, e->step);
    int epoch = e->epoch >= 0 ? e->epoch : si ? si->epoch : -1;
    int in_data = e->pass == PASS_INPUT;
    name_buf tensor, layer, path;
    strbuf_printf(out, "First non-finite value at step %d", e->step);
    if (epoch >= 0) strbuf_printf(out, " (epoch %d)", epoch);
    const char *value_text = e->value_class < VALUE_CLASS_COUNT ? value_class_names[e->value_class] : "NaN";
    if (in_data)
        strbuf_printf(out, ": %s in the data (the input batch, before any layer ran)", value_text);
    else
        strbuf_printf(out, ": %s in %s of %s (%s) during the %s pass", value_text,
                      e->tensor[0] ? text_of(e->tensor, tensor) : "an unnamed tensor",
                      e->layer_name[0] ? text_of(e->layer_name, layer)
                                       : (l >= 0 ? layer_name_of(d, l, layer) : "an unnamed layer"),
                      e->layer_path[0] ? text_of(e->layer_path, path) : layer_path_or_dash(d, l, path),
                      e->pass < PASS_COUNT ? probe_pass_name(e->pass) : "unknown");
    if (t && t->elements > 0) strbuf_printf(out, "; %lld of %lld values non-finite", t->nonfinite, t->elements);
    strbuf_append(out, ".\nFirst bad element:");
    static const char *const axis[] = {"sample", "d", "h", "w", "channel"};
    long long coords[] = {e->sample, e->d, e->h, e->w, e->channel};
    int shown = 0;
    for (int k = 0; k < 5; k++)
        if (coords[k] >= 0) strbuf_printf(out, "%s%s %lld", shown++ ? ", " : " ", axis[k], coords[k]);
    if (e->element_index >= 0) strbuf_printf(out, " (flat index %lld)", e->element_index), shown++;
    if (e->sample_id >= 0) strbuf_printf(out, "%sthe clip with sample id %lld", shown++ ? ", in " : " in ", e->sample_id);
    strbuf_append(out, shown ? ".\n" : " not recorded.\n");
    if (in_data)
        strbuf_append(out, "Origin: in the data: the clip was non-finite when it entered the network.\n");
    else if (e->is_origin == 1)
        strbuf_append(out, "Origin: every input of that tensor was finite, so the non-finite value was created "
                           "here.\n");
    else if (e->is_origin == 0)
        strbuf_append(out, "Propagation: an input of that tensor was already non-finite; the value arrived from "
                           "upstream in this pass.\n");
}

void verdict_compose_traced(const rundata *d, const cause_trace *trace, const precursor_ranking *ranking,
                            const rule_finding findings[RULE_COUNT], strbuf *out)
{
    const event_info *nan = rundata_first_nan(d);
    if (nan) {
        /* a NaN that does not recur is not the model's: said before any cause */
        replay_text_first(d, out);
        if (trace && trace->klass != MECHANISM_NONE) cause_text_compose(d, trace, out);
        l2_adam_evidence(d, nan->step, out); /* issue 23: the L2 x Adam run-up, when it is there */
        /* an emulated precision's ladder says more than float32 against float64 */
        if (!cause_precision_ladder_line(d, nan->step, out) || strcmp(d->precision.precision, "float32") == 0)
            replay_text_precision(d, out);
        append_nan_origin(d, nan, trace, out);
        inference_text_origin(d, nan, trace, out);
        strbuf_append(out, "\n" VERDICT_EVIDENCE_HEADING "\n");
        append_precursors(d, ranking, nan->step, 1, out);
        replay_text_shadow(d, out);
        append_rule_summary(findings, out);
        return;
    }
    const step_info *last = &d->steps[d->step_count - 1];
    name_buf status, tensor, layer, path;
    strbuf_printf(out, "No NaN or Inf recorded: %d steps over %d epochs (run status: %s).\n", d->step_count,
                  last->epoch, text_of(d->run.status, status));
    int order[5], tensor_index[5], step[5];
    double absmax[5];
    int n = verdict_riskiest_layers(d, order, absmax, tensor_index, step, 5);
    if (n > 0) {
        strbuf_printf(out,
                      "Closest approach to overflow: |x| = %.3g in %s of %s (%s) at step %d, %.1f decades below "
                      "FLT_MAX (%.3g).\n",
                      absmax[0], text_of(d->tensor_names[tensor_index[0]], tensor), layer_name_of(d, order[0], layer),
                      layer_path_or_dash(d, order[0], path), step[0],
                      absmax[0] > 0 ? log10(FLT_MAX / absmax[0]) : 38.5, (double)FLT_MAX);
        strbuf_append(out, "Riskiest layers (least headroom): ");
        for (int i = 0; i < n; i++)
            strbuf_printf(out, "%s%s %.1f decades (%s)", i ? ", " : "", layer_name_of(d, order[i], layer),
                          absmax[i] > 0 ? log10(FLT_MAX / absmax[i]) : 38.5,
                          text_of(d->tensor_names[tensor_index[i]], tensor));
        strbuf_append(out, ".\n");
    }
    cause_precision_collapse(d, out);
    strbuf_append(out, "\n" VERDICT_EVIDENCE_HEADING "\n");
    append_precursors(d, ranking, ranking->end_step, 0, out);
    replay_text_shadow(d, out);
    append_rule_summary(findings, out);
}

void verdict_compose(const rundata *d, const precursor_ranking *ranking, const rule_finding findings[RULE_COUNT],
                     strbuf *out)
{
    verdict_compose_traced(d, NULL, ranking, findings, out);
}
