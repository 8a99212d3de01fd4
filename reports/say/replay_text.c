/* replay_text.c: the verdict's replay lines (see replay_text.h).  Every
 * sentence is composed from the row's fields, not from its stored message,
 * and every database string goes through cause_printable. */
#include "replay_text.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cause.h"

typedef char text_buf[200];

void replay_text_number(double v, char *out, size_t size)
{
    if (isnan(v)) snprintf(out, size, "NaN");
    else if (isinf(v)) snprintf(out, size, v > 0 ? "+inf" : "-inf");
    else snprintf(out, size, "%.3g", v);
}

static const char *layer_name(const rundata *d, int layer, text_buf buf)
{
    return cause_printable(layer >= 0 && layer < d->layer_count ? d->layers[layer].name : "an unknown layer", buf,
                           sizeof(text_buf));
}

/* "+inf in output_grad of conv3d_8": the replay's origin, else the event's. */
static void origin_words(const rundata *d, const replay_info *x, strbuf *out)
{
    const event_info *e = rundata_first_nan(d);
    text_buf value, tensor, layer;
    const char *v = x->float_value[0] ? x->float_value : e && e->value_class < VALUE_CLASS_COUNT ? value_class_names[e->value_class] : "non-finite value";
    const char *t = x->origin_tensor[0] ? x->origin_tensor : e ? e->tensor : "";
    int l = x->origin_layer >= 0 ? x->origin_layer : e ? rundata_layer_index(d, e->layer_id) : -1;
    strbuf_printf(out, "%s in %s of %s", cause_printable(v, value, sizeof value),
                  t[0] ? cause_printable(t, tensor, sizeof tensor) : "a tensor", layer_name(d, l, layer));
}

static void not_reproducible_words(const rundata *d, const replay_info *x, strbuf *out)
{
    strbuf_printf(out, "Not reproducible: replaying step %d from the state at its start, in float32 with the same "
                       "batch", x->step);
    if (x->threads > 0) strbuf_printf(out, " and %d thread%s", x->threads, x->threads == 1 ? "" : "s");
    if (x->rerun_event[0]) {
        char event[400];
        strbuf_printf(out, ", gives another first non-finite value (%s); the run's ",
                      cause_printable(x->rerun_event, event, sizeof event));
        origin_words(d, x, out);
        strbuf_append(out, " did not recur there.");
    } else {
        strbuf_append(out, ", gives no non-finite value (the run's ");
        origin_words(d, x, out);
        strbuf_append(out, " did not recur).");
    }
    strbuf_append(out, " Suspect a transient fault (hardware, a race, an injected fault) rather than the model.\n");
}

void replay_text_first(const rundata *d, strbuf *out)
{
    const replay_info *x = replay_set_nan(&d->replays);
    if (x && x->finding == REPLAY_FINDING_NOT_REPRODUCIBLE) not_reproducible_words(d, x, out);
}

/* " The float32 replay of step 30 gave the same value ..." */
static void reproduction_words(const replay_info *x, strbuf *out)
{
    if (!x->float_rerun || x->reproduced < 0) return;
    if (x->reproduced == 1)
        strbuf_printf(out, " The float32 replay of step %d gave the same value at the same element, bit for bit.",
                      x->step);
    else
        strbuf_printf(out, " The float32 replay of step %d did not give the same value at the same element.", x->step);
}

static void precision_words(const replay_info *x, strbuf *out)
{
    char value[32], largest[32], limit[32];
    replay_text_number(x->double_value, value, sizeof value);
    replay_text_number(x->double_max_abs, largest, sizeof largest);
    replay_text_number(FLT_MAX, limit, sizeof limit);
    double magnitude = fabs(x->double_value);
    switch (x->finding) {
    case REPLAY_FINDING_REAL_DIVERGENCE:
        if (magnitude > FLT_MAX && isfinite(magnitude))
            strbuf_printf(out, "Precision: real divergence: in float64 the value is %s (beyond FLT_MAX %s); float32 "
                               "cannot hold it.", value, limit);
        else
            strbuf_printf(out, "Precision: real divergence: in float64 the value is %s (largest |x| of the tensor "
                               "%s; FLT_MAX is %s); float32 cannot hold it.", value, largest, limit);
        break;
    case REPLAY_FINDING_FLOAT32_ARTEFACT:
        strbuf_printf(out, "Precision: float32 artefact: float64 stays finite at %s (largest |x| of the tensor %s); "
                           "float32 lost it (an intermediate overflow, cancellation or the order of summation), not "
                           "the maths.", value, largest);
        break;
    case REPLAY_FINDING_MATHS_ITSELF: {
        char operation[400];
        strbuf_printf(out, "Precision: the maths itself: %s in float64 too (%s).",
                      isnan(x->double_value) ? "NaN" : value,
                      x->operation[0] ? cause_printable(x->operation, operation, sizeof operation)
                                      : "the operation was not named");
        break;
    }
    default:
        if (!x->double_rerun && !x->float_rerun) return;
        strbuf_printf(out, "Precision: replaying step %d%s found nothing non-finite to explain.", x->step,
                      x->double_rerun ? " in float64" : " in float32");
    }
    reproduction_words(x, out);
    strbuf_append(out, "\n");
}

void replay_text_precision(const rundata *d, strbuf *out)
{
    const replay_info *x = replay_set_nan(&d->replays);
    if (x && x->finding != REPLAY_FINDING_NOT_REPRODUCIBLE) precision_words(x, out);
}

void replay_text_finding(const rundata *d, const replay_info *x, strbuf *out)
{
    if (x->finding == REPLAY_FINDING_NOT_REPRODUCIBLE) not_reproducible_words(d, x, out);
    else precision_words(x, out);
}

void replay_text_shadow(const rundata *d, strbuf *out)
{
    replay_growth g[1];
    if (replay_shadow_growth(&d->replays.shadow, g, 1) < 1 || g[0].decades < REPLAY_SHADOW_RISE_DECADES) return;
    const replay_shadow *s = &d->replays.shadow;
    text_buf layer, tensor;
    char from[32], to[32];
    replay_text_number(g[0].baseline, from, sizeof from);
    replay_text_number(g[0].last, to, sizeof to);
    strbuf_printf(out, "Precision precursor: the float32 error of %s's %s grew from %s to %s over %d steps (float64 "
                       "shadow replays of %d steps, %d to %d).\n",
                  layer_name(d, s->series_layer[g[0].series], layer),
                  cause_printable(s->series_tensor[g[0].series], tensor, sizeof tensor), from, to,
                  g[0].last_step - g[0].first_step, g[0].points, g[0].first_step, g[0].last_step);
}
