/* rules.c: the symptom rules (see rules.h).  The list starts from SageMaker
 * Debugger's built-in rules (ExplodingTensor, VanishingGradient,
 * WeightUpdateRatio, DeadRelu, SaturatedActivation, PoorWeightInitialization,
 * LossNotDecreasing, CheckInputImages) and DeepDiagnosis' symptoms
 * (numerical errors, unchanged weights, saturated activations, dead nodes,
 * loss not decreasing, accuracy not increasing), then adds the mechanisms of
 * this network: L2 against BatchNorm, BatchNorm over few values, one-pass
 * variance cancellation, overflow headroom, validation-only NaN. */
#include "rules.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rule_text {
    const char *key, *title, *threshold, *hint;
} rule_text;

static const rule_text rule_catalog[RULE_COUNT] = {
    [RULE_NONFINITE] = {"nonfinite", "Non-finite values",
                        "any NaN/Inf in a logged tensor, the loss, or a 'nan' event",
                        "Read the verdict: the origin layer, pass and tensor, and the precursor that grew before it."},
    [RULE_EXPLODING_GRADIENT] = {"exploding_gradient", "Exploding gradients",
                                 "a layer's output-gradient norm or absmax, or kernel-gradient norm, peaks >= 100x "
                                 "(warning) or >= 10^4 x (fail) above its early median",
                                 "Lower the learning rate or clip the gradient norm; look at the named layer's "
                                 "incoming residual sum and BatchNorm."},
    [RULE_VANISHING_GRADIENT] = {"vanishing_gradient", "Vanishing gradients",
                                 "recent median RMS of a layer's output gradient < 1e-7 (warning; SageMaker's "
                                 "threshold on mean |g|) or < 1e-10 (fail)",
                                 "Check for dead ReLUs or a saturated softmax above the layer; use He initialization "
                                 "and keep BatchNorm before each ReLU."},
    [RULE_POOR_INITIALIZATION] = {"poor_initialization", "Poorly scaled initialization",
                                  "over the first probes, the largest and smallest layer gradient norms differ by "
                                  ">= 10^4 (warning)",
                                  "Use an initializer matched to ReLU (he_normal) and check fan-in of the layers at "
                                  "both ends of the spread."},
    [RULE_DEAD_RELU] = {"dead_relu", "Dead ReLUs",
                        "recent median fraction of exact zeros in an Activation output >= 0.9 (warning) or >= 0.99 "
                        "(fail); about 0.5 is normal after BatchNorm",
                        "Lower the learning rate; check whether the preceding BatchNorm's beta drifted negative."},
    [RULE_SATURATED_SOFTMAX] = {"saturated_softmax", "Saturated softmax",
                                "recent median of the batch's largest softmax probability >= 1 - 1e-6 (warning)",
                                "The logits are too large: lower the learning rate or add label smoothing; check the "
                                "Dense kernel's norm."},
    [RULE_WEIGHT_NORM_COLLAPSE] = {"weight_norm_collapse", "Kernel norm collapse (rising effective learning rate)",
                                   "the recent norm of a kernel's data taps <= 1/2 of its first probed norm "
                                   "(warning: under Adam the relative step of a kernel feeding BatchNorm grows about "
                                   "1/r, x2) or <= 1/4 (fail: x4); taps that only meet 'same' padding are reported "
                                   "apart, as harmless",
                                   "Kernels feeding BatchNorm are scale-invariant, so L2 only shrinks them and raises "
                                   "their effective learning rate: drop L2 on them, use decoupled weight decay, or "
                                   "lower the learning rate."},
    [RULE_L2_DOMINATES] = {"l2_dominates", "L2 gradient dominates the data gradient",
                           "recent median ||2 lambda w|| / ||data gradient|| > 1 for a kernel (warning)",
                           "The penalty, not the data, is moving these kernels: lower lambda (1e-4 -> 1e-5) or "
                           "exempt kernels that feed BatchNorm."},
    [RULE_BN_SMALL_COUNT] = {"bn_small_count", "BatchNorm over too few values",
                             "values per channel n = N*D*H*W: n = 1 (fail: variance is 0, the unbiased moving "
                             "variance divides by n-1 = 0 on GPU) or n < 16 (warning: noisy statistics)",
                             "Use a larger batch, or no BatchNorm where the spatial size is 1x1x1."},
    [RULE_BN_VARIANCE_COLLAPSE] = {"bn_variance_collapse", "BatchNorm variance collapse",
                                   "a channel's batch variance < 1e-5 (100x below epsilon 1e-3) or gamma/std > 1000 "
                                   "in the recent window (warning)",
                                   "A channel has become (nearly) constant: check the conv feeding it for dead "
                                   "filters and the learning rate."},
    [RULE_BN_CANCELLATION] = {"bn_cancellation", "One-pass variance cancellation risk",
                              "max mean^2/variance of a BatchNorm channel >= 1e5 (warning: E[x^2]-E[x]^2 in float32 "
                              "loses >= 1 % of the variance) or >= 1e7 (fail: it can come out negative, sqrt -> NaN)",
                              "Compute the variance in two passes (or shifted/Welford) and remove the bias of convs "
                              "that feed BatchNorm, which lets channel means drift."},
    [RULE_UPDATE_RATIO] = {"update_ratio", "Update/weight ratio out of range",
                           "recent median ||update||/||w|| of a kernel > 1e-2 (warning), > 1e-1 (fail), or < 1e-7 "
                           "(warning: weights effectively unchanged); about 1e-3 is healthy",
                           "Too large: lower the learning rate; too small: raise it or look for vanishing "
                           "gradients."},
    [RULE_OVERFLOW_RISK] = {"overflow_risk", "Close to float32 overflow",
                            "the largest |x| of any logged tensor >= 1e15 (warning: its square is within 8 decades "
                            "of FLT_MAX) or >= sqrt(FLT_MAX) = 1.8e19 (fail: squaring it, as Adam's v does, "
                            "overflows)",
                            "Find what grows in the named tensor; clip gradients or lower the learning rate before "
                            "it reaches Adam's second moment."},
    [RULE_LOSS_NOT_DECREASING] = {"loss_not_decreasing", "Loss not decreasing",
                                  "mean finite loss over the last 10 % of steps >= 99 % of the first 10 % (warning) "
                                  "or >= 150 % (fail: diverging); needs 50 steps",
                                  "Check the learning rate (too high oscillates, too low stalls) and that labels "
                                  "match the inputs."},
    [RULE_ACCURACY_AT_CHANCE] = {"accuracy_at_chance", "Training accuracy at chance",
                                 "mean training accuracy over the last 10 % of steps <= 1/classes + 0.05 after 100 "
                                 "steps (warning)",
                                 "The network is not learning: check the labels, the input normalization and the "
                                 "learning rate."},
    [RULE_VALIDATION_ONLY_NAN] = {"validation_only_nan", "Validation NaN while training is finite",
                                  "an epoch ending before the first training NaN whose val_loss is NaN/missing while its "
                                  "training loss is finite (fail)",
                                  "Inference uses BatchNorm's moving statistics: look for a NaN moving_variance (n = "
                                  "1 per channel on GPU) in the stats table."},
    [RULE_INPUT_DATA] = {"input_data", "Non-finite or badly scaled input",
                         "any non-finite input element (fail); a constant clip (std < 1e-6: per-clip "
                         "standardization gives 0/0), |mean| > 0.2, mean std outside [0.2, 5] or |x| > 1000 "
                         "(warning)",
                         "Check the clip named (sample id) and the normalization; drop constant clips before "
                         "standardizing."},
};

const char *rule_level_name(rule_level level)
{
    switch (level) {
    case RULE_PASS: return "pass";
    case RULE_WARN: return "warning";
    case RULE_FAIL: return "FAIL";
    case RULE_NO_DATA: return "no data";
    }
    return "?";
}

/* ---------------------------------------------------------------- windows */

typedef struct window {
    int early_end;    /* probes [0, early_end) */
    int recent_begin; /* probes [recent_begin, end) */
    int end;          /* probes before the end step */
} window;

static window window_make(const rundata *d, int end_step)
{
    window w = {0, 0, 0};
    while (w.end < d->probe_count && d->probe_steps[w.end] < end_step) w.end++;
    int tenth = w.end / 10 > 5 ? w.end / 10 : 5;
    if (tenth > w.end) tenth = w.end;
    w.early_end = tenth;
    w.recent_begin = w.end - tenth;
    return w;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of the finite values of series s, layer l, over probes [p0, p1). */
static double window_median(const rundata *d, series_id s, int l, int p0, int p1, double *scratch)
{
    int n = 0;
    for (int p = p0; p < p1; p++) {
        double v = rundata_value(d, s, p, l);
        if (isfinite(v)) scratch[n++] = v;
    }
    if (n == 0) return NAN;
    qsort(scratch, (size_t)n, sizeof *scratch, compare_double);
    return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

/* Extreme finite value over [p0, p1): the largest (sign > 0) or smallest; *step gets its step. */
static double window_extreme(const rundata *d, series_id s, int l, int p0, int p1, int sign, int *step)
{
    double best = NAN;
    for (int p = p0; p < p1; p++) {
        double v = rundata_value(d, s, p, l);
        if (!isfinite(v)) continue;
        if (isnan(best) || (sign > 0 ? v > best : v < best)) {
            best = v;
            if (step) *step = d->probe_steps[p];
        }
    }
    return best;
}

static int kind_is(const rundata *d, int l, layer_kind kind)
{
    return d->layers[l].kind == kind;
}

/* Does some BatchNormalization layer take layer l's output directly? */
static int feeds_batchnorm(const rundata *d, int l)
{
    for (int k = 0; k < d->layer_count; k++)
        if (kind_is(d, k, LAYER_BATCHNORM) && strcmp(d->layers[k].inputs, d->layers[l].name) == 0) return 1;
    return 0;
}

static void finding_set(rule_finding *f, rule_level level, int layer, int step, const char *format, ...)
    __attribute__((format(printf, 5, 6)));

static void finding_set(rule_finding *f, rule_level level, int layer, int step, const char *format, ...)
{
    f->level = level;
    f->layer = layer;
    f->step = step;
    va_list args;
    va_start(args, format);
    vsnprintf(f->detail, sizeof f->detail, format, args);
    va_end(args);
}

static const char *layer_name(const rundata *d, int l)
{
    return l >= 0 && l < d->layer_count ? d->layers[l].name : "?";
}

/* ------------------------------------------------------------------ rules */

static void rule_nonfinite(const rundata *d, rule_finding *f)
{
    const event_info *nan = rundata_first_nan(d);
    if (nan) {
        finding_set(f, RULE_FAIL, rundata_layer_index(d, nan->layer_id), nan->step,
                    "first non-finite value at step %d: %s of %s in the %s pass (%s)", nan->step, nan->tensor,
                    nan->layer_name, read_enum_name(STORED_PASS, nan->pass),
                    read_enum_name(STORED_VALUE_CLASS, nan->value_class));
        return;
    }
    for (int i = 0; i < d->step_count; i++)
        if (!d->steps[i].loss_finite) {
            finding_set(f, RULE_FAIL, -1, d->steps[i].step, "the loss was non-finite at step %d (no 'nan' event)",
                        d->steps[i].step);
            return;
        }
    if (d->extremes) {
        int best_l = -1, best_t = -1, best_step = 0;
        for (int l = 0; l < d->layer_count; l++)
            for (int t = 0; t < d->tensor_count; t++) {
                const tensor_extreme *x = &d->extremes[(size_t)l * (size_t)d->tensor_count + (size_t)t];
                if (x->first_nonfinite_step && (!best_step || x->first_nonfinite_step < best_step)) {
                    best_step = x->first_nonfinite_step;
                    best_l = l;
                    best_t = t;
                }
            }
        if (best_step) {
            finding_set(f, RULE_FAIL, best_l, best_step, "%s of %s held non-finite values from step %d",
                        d->tensor_names[best_t], layer_name(d, best_l), best_step);
            return;
        }
    }
    finding_set(f, RULE_PASS, -1, 0, "no NaN or Inf in the loss or in any logged tensor");
}

static void rule_exploding(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    static const series_id grads[] = {SERIES_GRAD_NORM, SERIES_GRAD_ABSMAX, SERIES_KERNEL_GRAD_NORM};
    double worst = 0;
    int worst_l = -1, worst_step = 0, affected = 0, have = 0;
    series_id worst_s = SERIES_GRAD_NORM;
    for (int g = 0; g < 3; g++) {
        if (!d->series[grads[g]]) continue;
        for (int l = 0; l < d->layer_count; l++) {
            double early = window_median(d, grads[g], l, 0, w->early_end, scratch);
            int step = 0;
            double peak = window_extreme(d, grads[g], l, w->early_end, w->end, 1, &step);
            if (!(early > 0) || !isfinite(peak)) continue;
            have = 1;
            double ratio = peak / early;
            if (ratio >= 100.0) affected++;
            if (ratio > worst) {
                worst = ratio;
                worst_l = l;
                worst_step = step;
                worst_s = grads[g];
            }
        }
    }
    if (!have) {
        int logged = 0;
        for (int g = 0; g < 3; g++) logged |= d->series_present[grads[g]];
        if (logged)
            finding_set(f, RULE_NO_DATA, -1, 0,
                        "only %d probed step%s before the end: too short a history to compare a peak with an early "
                        "median",
                        w->end, w->end == 1 ? "" : "s");
        else
            finding_set(f, RULE_NO_DATA, -1, 0, "no gradient norms were logged");
        return;
    }
    rule_level level = worst >= 1e4 ? RULE_FAIL : worst >= 100.0 ? RULE_WARN : RULE_PASS;
    finding_set(f, level, worst_l, worst_step,
                "largest growth: %s of %s peaked %.3g x above its early median (step %d); %d layer series grew "
                ">= 100x",
                series_defs[worst_s].label, layer_name(d, worst_l), worst, worst_step, affected);
}

static void rule_vanishing(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    if (!d->series[SERIES_GRAD_NORM]) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no output-gradient norms were logged");
        return;
    }
    double worst = INFINITY;
    int worst_l = -1, affected = 0;
    for (int l = 0; l < d->layer_count; l++) {
        long long count = d->series_elements[SERIES_GRAD_NORM] ? d->series_elements[SERIES_GRAD_NORM][l] : 0;
        if (count <= 0) continue;
        double norm = window_median(d, SERIES_GRAD_NORM, l, w->recent_begin, w->end, scratch);
        if (!isfinite(norm)) continue;
        double rms = norm / sqrt((double)count);
        if (rms < 1e-7) affected++;
        if (rms < worst) {
            worst = rms;
            worst_l = l;
        }
    }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no output-gradient norms with element counts were logged");
        return;
    }
    rule_level level = worst < 1e-10 ? RULE_FAIL : worst < 1e-7 ? RULE_WARN : RULE_PASS;
    finding_set(f, level, worst_l, 0, "smallest recent gradient RMS: %.3g at %s; %d layers below 1e-7", worst,
                layer_name(d, worst_l), affected);
}

static void rule_poor_init(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    if (!d->series[SERIES_GRAD_NORM]) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no output-gradient norms were logged");
        return;
    }
    double lo = INFINITY, hi = 0;
    int lo_l = -1, hi_l = -1;
    for (int l = 0; l < d->layer_count; l++) {
        double v = window_median(d, SERIES_GRAD_NORM, l, 0, w->early_end, scratch);
        if (!(v > 0) || !isfinite(v)) continue;
        if (v < lo) lo = v, lo_l = l;
        if (v > hi) hi = v, hi_l = l;
    }
    if (lo_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no early gradient norms");
        return;
    }
    double spread = hi / lo;
    finding_set(f, spread >= 1e4 ? RULE_WARN : RULE_PASS, spread >= 1e4 ? lo_l : -1, 0,
                "early gradient norms span %.3g x, from %.3g (%s) to %.3g (%s)", spread, lo, layer_name(d, lo_l), hi,
                layer_name(d, hi_l));
}

static void rule_dead_relu(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    double worst = -1;
    int worst_l = -1, affected = 0, relus = 0;
    for (int l = 0; l < d->layer_count; l++) {
        if (!kind_is(d, l, LAYER_RELU)) continue;
        double zero = window_median(d, SERIES_ACT_ZERO_FRACTION, l, w->recent_begin, w->end, scratch);
        if (!isfinite(zero)) continue;
        relus++;
        if (zero >= 0.9) affected++;
        if (zero > worst) worst = zero, worst_l = l;
    }
    if (!relus) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no zero fractions of Activation outputs were logged");
        return;
    }
    rule_level level = worst >= 0.99 ? RULE_FAIL : worst >= 0.9 ? RULE_WARN : RULE_PASS;
    finding_set(f, level, worst_l, 0, "%d of %d ReLU layers output >= 90 %% zeros; the most: %s with %.1f %%",
                affected, relus, layer_name(d, worst_l), 100.0 * worst);
}

static void rule_softmax(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    double worst = -1;
    int worst_l = -1;
    for (int l = 0; l < d->layer_count; l++) {
        double p = window_median(d, SERIES_MAX_PROBABILITY, l, w->recent_begin, w->end, scratch);
        if (isfinite(p) && p > worst) worst = p, worst_l = l;
    }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "loss.max_probability was not logged");
        return;
    }
    finding_set(f, worst >= 1.0 - 1e-6 ? RULE_WARN : RULE_PASS, worst_l, 0,
                "recent median largest softmax probability: %.9g (%s)", worst, layer_name(d, worst_l));
}

/* ---- weight_norm_collapse (issue 23): data taps against their first
 * probed norm, padding-only taps reported apart. */

/* The padding-only taps: how many kernels' padding taps fell to <= 1/2,
 * the smallest ratio, and their share of the L2 penalty now and at first. */
static void padding_collapse_text(const rundata *d, const window *w, double *scratch, char *text, size_t size)
{
    text[0] = '\0';
    if (!d->series[SERIES_PADDING_NORM]) return;
    int kernels = 0, collapsed = 0, step = 0;
    double smallest = INFINITY, pad_now = 0, all_now = 0, pad_first = 0, all_first = 0;
    for (int l = 0; l < d->layer_count; l++) {
        double first = rundata_first_value(d, SERIES_PADDING_NORM, l, w->end, &step);
        double recent = window_median(d, SERIES_PADDING_NORM, l, w->recent_begin, w->end, scratch);
        if (!(first > 0) || !isfinite(recent)) continue;
        kernels++;
        collapsed += recent / first <= 0.5;
        smallest = fmin(smallest, recent / first);
    }
    for (int l = 0; l < d->layer_count && d->series[SERIES_DATA_L2_PENALTY]; l++) {
        double pf = rundata_first_value(d, SERIES_PADDING_L2_PENALTY, l, w->end, &step);
        double df = rundata_first_value(d, SERIES_DATA_L2_PENALTY, l, w->end, &step);
        double pr = window_median(d, SERIES_PADDING_L2_PENALTY, l, w->recent_begin, w->end, scratch);
        double dr = window_median(d, SERIES_DATA_L2_PENALTY, l, w->recent_begin, w->end, scratch);
        if (isfinite(df) && isfinite(dr)) all_first += df, all_now += dr;
        if (isfinite(pf) && isfinite(pr)) pad_first += pf, pad_now += pr, all_first += pf, all_now += pr;
    }
    if (kernels == 0) return;
    snprintf(text, size,
             ". Padding-only taps (they only ever meet 'same' padding: no data gradient, no effect on the forward "
             "pass): %d of %d kernels that have them shrank to <= 1/2 (down to x%.3g); harmless, they hold %.0f %% "
             "of the L2 penalty now (%.0f %% at the first probe)",
             collapsed, kernels, smallest, all_now > 0 ? 100.0 * pad_now / all_now : 0.0,
             all_first > 0 ? 100.0 * pad_first / all_first : 0.0);
}

static void rule_norm_collapse(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    /* Without the tap split (databases written before it), the whole kernel. */
    const int split = d->series[SERIES_DATA_NORM] != NULL;
    const series_id norm = split ? SERIES_DATA_NORM : SERIES_KERNEL_NORM;
    const series_id ratio_series = split ? SERIES_DATA_UPDATE_RATIO : SERIES_UPDATE_RATIO;
    if (!d->series[norm]) {
        finding_set(f, RULE_NO_DATA, -1, 0, "kernel norms were not logged");
        return;
    }
    double worst = INFINITY, worst_first = NAN, worst_recent = NAN;
    int worst_l = -1, shrunk = 0, bn_fed_shrunk = 0, kernels = 0, first_step = 0;
    for (int l = 0; l < d->layer_count; l++) {
        int step = 0;
        double first = rundata_first_value(d, norm, l, w->end, &step);
        double recent = window_median(d, norm, l, w->recent_begin, w->end, scratch);
        if (!(first > 0) || !isfinite(recent)) continue;
        kernels++;
        double ratio = recent / first;
        if (ratio <= 0.5) {
            shrunk++;
            bn_fed_shrunk += feeds_batchnorm(d, l);
        }
        if (ratio < worst) worst = ratio, worst_l = l, worst_first = first, worst_recent = recent, first_step = step;
    }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "kernel norms were not logged");
        return;
    }
    rule_level level = worst <= 0.25 ? RULE_FAIL : worst <= 0.5 ? RULE_WARN : RULE_PASS;
    char ratio_text[160] = "", padding_text[512] = "";
    int step = 0;
    double u0 = d->series[ratio_series] ? rundata_first_value(d, ratio_series, worst_l, w->end, &step) : NAN;
    double u1 = d->series[ratio_series] ? window_median(d, ratio_series, worst_l, w->recent_begin, w->end, scratch)
                                        : NAN;
    if (isfinite(u0) && isfinite(u1))
        snprintf(ratio_text, sizeof ratio_text, "; its update/weight ratio went from %.3g to %.3g", u0, u1);
    padding_collapse_text(d, w, scratch, padding_text, sizeof padding_text);
    /* Adam moves each coordinate by about lr whatever its size, so a
     * kernel r times smaller takes a relative step about 1/r larger (SGD's
     * would grow 1/r^2: the gradient of a scale-invariant kernel is 1/r). */
    finding_set(f, level, worst_l, 0,
                "%s: %d of %d kernels shrank to <= 1/2 of their first probed norm (%d of them feed BatchNorm, L2 = "
                "%g); the most: %s from %.3g (step %d) to %.3g (x%.3g): under Adam its relative step grows about "
                "1/r = x%.3g if it feeds BatchNorm%s%s",
                split ? "data taps" : "whole kernels", shrunk, kernels, bn_fed_shrunk, d->run.l2,
                layer_name(d, worst_l), worst_first, first_step, worst_recent, worst, 1.0 / worst, ratio_text,
                padding_text);
}
/* ---- end of weight_norm_collapse */

static void rule_l2_dominates(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    double worst = -1;
    int worst_l = -1, affected = 0;
    for (int l = 0; l < d->layer_count; l++) {
        double r = window_median(d, SERIES_L2_GRAD_RATIO, l, w->recent_begin, w->end, scratch);
        if (!isfinite(r)) continue;
        if (r > 1.0) affected++;
        if (r > worst) worst = r, worst_l = l;
    }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "kernel.l2_grad_ratio was not logged");
        return;
    }
    finding_set(f, worst > 1.0 ? RULE_WARN : RULE_PASS, worst_l, 0,
                "%d kernels have an L2 gradient larger than their data gradient; the largest ratio: %.3g (%s)",
                affected, worst, layer_name(d, worst_l));
}

static void rule_bn_count(const rundata *d, const window *w, rule_finding *f)
{
    double smallest = INFINITY;
    int worst_l = -1, step = 0;
    for (int l = 0; l < d->layer_count; l++) {
        int s = 0;
        double n = window_extreme(d, SERIES_BN_COUNT, l, 0, w->end, -1, &s);
        if (isfinite(n) && n < smallest) smallest = n, worst_l = l, step = s;
    }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "bn.count was not logged");
        return;
    }
    rule_level level = smallest <= 1 ? RULE_FAIL : smallest < 16 ? RULE_WARN : RULE_PASS;
    finding_set(f, level, worst_l, step, "fewest values per channel: n = %.0f at %s", smallest,
                layer_name(d, worst_l));
}

static void rule_bn_variance(const rundata *d, const window *w, rule_finding *f)
{
    double min_var = INFINITY, max_gain = 0;
    int var_l = -1, gain_l = -1, var_step = 0, gain_step = 0;
    for (int l = 0; l < d->layer_count; l++) {
        int s = 0;
        double v = window_extreme(d, SERIES_BN_MIN_VARIANCE, l, w->recent_begin, w->end, -1, &s);
        if (isfinite(v) && v < min_var) min_var = v, var_l = l, var_step = s;
        double g = window_extreme(d, SERIES_BN_MAX_GAMMA_OVER_STD, l, w->recent_begin, w->end, 1, &s);
        if (isfinite(g) && g > max_gain) max_gain = g, gain_l = l, gain_step = s;
    }
    if (var_l < 0 && gain_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "bn.min_variance and bn.max_gamma_over_std were not logged");
        return;
    }
    int bad_var = var_l >= 0 && min_var < 1e-5, bad_gain = gain_l >= 0 && max_gain > 1000;
    finding_set(f, bad_var || bad_gain ? RULE_WARN : RULE_PASS, bad_var ? var_l : bad_gain ? gain_l : -1,
                bad_var ? var_step : bad_gain ? gain_step : 0,
                "smallest recent channel variance %.3g (%s, step %d); largest gamma/std %.3g (%s, step %d)", min_var,
                layer_name(d, var_l), var_step, max_gain, layer_name(d, gain_l), gain_step);
}

static void rule_bn_cancellation(const rundata *d, const window *w, rule_finding *f)
{
    double worst = -1;
    int worst_l = -1, step = 0;
    for (int l = 0; l < d->layer_count; l++) {
        int s = 0;
        double r = window_extreme(d, SERIES_BN_MAX_MEAN2_OVER_VAR, l, 0, w->end, 1, &s);
        if (isfinite(r) && r > worst) worst = r, worst_l = l, step = s;
    }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "bn.max_mean2_over_var was not logged");
        return;
    }
    rule_level level = worst >= 1e7 ? RULE_FAIL : worst >= 1e5 ? RULE_WARN : RULE_PASS;
    /* The rounding error of a one-pass E[x^2] - E[x]^2 is ~eps*mean^2,
     * i.e. eps*ratio of the variance: a share, so at most all of it. */
    double share = FLT_EPSILON * worst;
    if (share < 1.0)
        finding_set(f, level, worst_l, step,
                    "largest mean^2/variance: %.3g at %s (step %d): a one-pass float32 variance would lose ~%.2g %% "
                    "of it",
                    worst, layer_name(d, worst_l), step, 100.0 * share);
    else
        finding_set(f, level, worst_l, step,
                    "largest mean^2/variance: %.3g at %s (step %d): a one-pass float32 variance would lose all of it "
                    "(its rounding error is %.2g times the variance itself)",
                    worst, layer_name(d, worst_l), step, share);
}

static void rule_update_ratio(const rundata *d, const window *w, double *scratch, rule_finding *f)
{
    double hi = -1, lo = INFINITY;
    int hi_l = -1, lo_l = -1, too_big = 0, too_small = 0;
    for (int l = 0; l < d->layer_count; l++) {
        double r = window_median(d, SERIES_UPDATE_RATIO, l, w->recent_begin, w->end, scratch);
        if (!isfinite(r)) continue;
        if (r > 1e-2) too_big++;
        if (r < 1e-7) too_small++;
        if (r > hi) hi = r, hi_l = l;
        if (r < lo) lo = r, lo_l = l;
    }
    if (hi_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "kernel.update_ratio was not logged");
        return;
    }
    rule_level level = hi > 1e-1 ? RULE_FAIL : (hi > 1e-2 || lo < 1e-7) ? RULE_WARN : RULE_PASS;
    int layer = hi > 1e-2 ? hi_l : lo < 1e-7 ? lo_l : -1;
    finding_set(f, level, layer, 0,
                "recent median ratios from %.3g (%s) to %.3g (%s); %d kernels above 1e-2, %d below 1e-7", lo,
                layer_name(d, lo_l), hi, layer_name(d, hi_l), too_big, too_small);
}

static void rule_overflow(const rundata *d, rule_finding *f)
{
    if (!d->extremes) {
        finding_set(f, RULE_NO_DATA, -1, 0, "tensor extremes were not scanned");
        return;
    }
    double worst = -1;
    int worst_l = -1, worst_t = -1, step = 0;
    for (int l = 0; l < d->layer_count; l++)
        for (int t = 0; t < d->tensor_count; t++) {
            const tensor_extreme *x = &d->extremes[(size_t)l * (size_t)d->tensor_count + (size_t)t];
            if (x->absmax_step && x->absmax > worst) worst = x->absmax, worst_l = l, worst_t = t, step = x->absmax_step;
        }
    if (worst_l < 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no tensor statistics were logged");
        return;
    }
    rule_level level = worst >= 1.8446744e19 ? RULE_FAIL : worst >= 1e15 ? RULE_WARN : RULE_PASS;
    finding_set(f, level, worst_l, step, "largest finite |x|: %.3g in %s of %s at step %d, %.1f decades below FLT_MAX",
                worst, d->tensor_names[worst_t], layer_name(d, worst_l), step,
                worst > 0 ? log10(FLT_MAX / worst) : 38.5);
}

static void rule_loss(const rundata *d, int end_step, rule_finding *f)
{
    int n = 0;
    for (int i = 0; i < d->step_count && d->steps[i].step < end_step; i++)
        if (isfinite(d->steps[i].loss)) n++;
    if (n < 50) {
        finding_set(f, RULE_NO_DATA, -1, 0, "only %d finite losses before the end (needs 50)", n);
        return;
    }
    int tenth = n / 10, seen = 0;
    double first = 0, last = 0;
    for (int i = 0; i < d->step_count && d->steps[i].step < end_step; i++) {
        double v = d->steps[i].loss;
        if (!isfinite(v)) continue;
        if (seen < tenth) first += v;
        if (seen >= n - tenth) last += v;
        seen++;
    }
    first /= tenth;
    last /= tenth;
    double ratio = last / first;
    rule_level level = ratio >= 1.5 ? RULE_FAIL : ratio >= 0.99 ? RULE_WARN : RULE_PASS;
    finding_set(f, level, -1, 0, "mean loss %.4g over the first 10 %% of steps, %.4g over the last 10 %% (x%.3g)",
                first, last, ratio);
}

static void rule_accuracy(const rundata *d, int end_step, rule_finding *f)
{
    int n = 0;
    for (int i = 0; i < d->step_count && d->steps[i].step < end_step; i++)
        if (isfinite(d->steps[i].accuracy)) n++;
    if (n < 100 || d->run.classes < 2) {
        finding_set(f, RULE_NO_DATA, -1, 0, "fewer than 100 steps with an accuracy, or a single class");
        return;
    }
    int tenth = n / 10, seen = 0;
    double last = 0;
    for (int i = 0; i < d->step_count && d->steps[i].step < end_step; i++) {
        double v = d->steps[i].accuracy;
        if (!isfinite(v)) continue;
        if (seen >= n - tenth) last += v;
        seen++;
    }
    last /= tenth;
    double chance = 1.0 / d->run.classes;
    finding_set(f, last <= chance + 0.05 ? RULE_WARN : RULE_PASS, -1, 0,
                "mean training accuracy over the last 10 %% of steps: %.3f (chance %.3f)", last, chance);
}

static void rule_validation_nan(const rundata *d, int end_step, rule_finding *f)
{
    if (d->epoch_count == 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "no epochs were completed");
        return;
    }
    /* Epochs reaching the training NaN are explained by it; a NaN first
     * seen in validation comes after its epoch's last step. */
    const event_info *nan = rundata_first_nan(d);
    if (nan && nan->pass == PASS_VALIDATION && end_step <= nan->step) end_step = nan->step + 1;
    for (int i = 0; i < d->epoch_count && d->epochs[i].last_step < end_step; i++) {
        const epoch_info *e = &d->epochs[i];
        if (!isfinite(e->val_loss) && isfinite(e->loss)) {
            finding_set(f, RULE_FAIL, -1, e->last_step,
                        "epoch %d: val_loss is NaN/missing while the training loss is %.4g", e->epoch, e->loss);
            return;
        }
    }
    finding_set(f, RULE_PASS, -1, 0, "every epoch with a finite training loss has a finite val_loss");
}

static void rule_input(const rundata *d, rule_finding *f)
{
    const input_summary *in = &d->input;
    if (in->clips == 0) {
        finding_set(f, RULE_NO_DATA, -1, 0, "input_samples is empty");
        return;
    }
    if (in->nonfinite_clips > 0) {
        finding_set(f, RULE_FAIL, -1, in->first_nonfinite_step,
                    "%lld clips held NaN/Inf; the first at step %d (sample id %lld)", in->nonfinite_clips,
                    in->first_nonfinite_step, in->first_nonfinite_sample_id);
        return;
    }
    char problems[512] = "";
    size_t used = 0;
    int step = 0;
    if (isfinite(in->min_std) && in->min_std < 1e-6) {
        used += (size_t)snprintf(problems + used, sizeof problems - used,
                                 "a constant clip (std %.3g, step %d, sample id %lld); ", in->min_std, in->min_std_step,
                                 in->min_std_sample_id);
        step = in->min_std_step;
    }
    if (used < sizeof problems && isfinite(in->mean_mean) && fabs(in->mean_mean) > 0.2)
        used += (size_t)snprintf(problems + used, sizeof problems - used, "mean of clip means %.3g; ", in->mean_mean);
    if (used < sizeof problems && isfinite(in->mean_std) && (in->mean_std < 0.2 || in->mean_std > 5))
        used += (size_t)snprintf(problems + used, sizeof problems - used, "mean clip std %.3g; ", in->mean_std);
    if (used < sizeof problems && isfinite(in->max_absmax) && in->max_absmax > 1000)
        used += (size_t)snprintf(problems + used, sizeof problems - used,
                                 "|x| up to %.3g (step %d, sample id %lld); ", in->max_absmax, in->max_absmax_step,
                                 in->max_absmax_sample_id);
    if (used) {
        finding_set(f, RULE_WARN, -1, step, "%lld clips checked: %s", in->clips, problems);
        return;
    }
    finding_set(f, RULE_PASS, -1, 0, "%lld clips, all finite; mean of means %.3g, mean std %.3g, max |x| %.3g",
                in->clips, in->mean_mean, in->mean_std, in->max_absmax);
}

void rules_evaluate(const rundata *d, int end_step, rule_finding findings[RULE_COUNT])
{
    for (int r = 0; r < RULE_COUNT; r++) {
        memset(&findings[r], 0, sizeof findings[r]);
        findings[r].id = (rule_id)r;
        findings[r].key = rule_catalog[r].key;
        findings[r].title = rule_catalog[r].title;
        findings[r].threshold = rule_catalog[r].threshold;
        findings[r].hint = rule_catalog[r].hint;
        findings[r].layer = -1;
        findings[r].level = RULE_NO_DATA;
    }
    window w = window_make(d, end_step);
    double *scratch = malloc(sizeof *scratch * (size_t)(d->probe_count + 1));
    if (!scratch || w.end == 0) {
        for (int r = 0; r < RULE_COUNT; r++)
            snprintf(findings[r].detail, sizeof findings[r].detail, "%s",
                     scratch ? "no probed steps before the end" : "out of memory");
    }
    rule_nonfinite(d, &findings[RULE_NONFINITE]);
    if (scratch && w.end > 0) {
        rule_exploding(d, &w, scratch, &findings[RULE_EXPLODING_GRADIENT]);
        rule_vanishing(d, &w, scratch, &findings[RULE_VANISHING_GRADIENT]);
        rule_poor_init(d, &w, scratch, &findings[RULE_POOR_INITIALIZATION]);
        rule_dead_relu(d, &w, scratch, &findings[RULE_DEAD_RELU]);
        rule_softmax(d, &w, scratch, &findings[RULE_SATURATED_SOFTMAX]);
        rule_norm_collapse(d, &w, scratch, &findings[RULE_WEIGHT_NORM_COLLAPSE]);
        rule_l2_dominates(d, &w, scratch, &findings[RULE_L2_DOMINATES]);
        rule_bn_count(d, &w, &findings[RULE_BN_SMALL_COUNT]);
        rule_bn_variance(d, &w, &findings[RULE_BN_VARIANCE_COLLAPSE]);
        rule_bn_cancellation(d, &w, &findings[RULE_BN_CANCELLATION]);
        rule_update_ratio(d, &w, scratch, &findings[RULE_UPDATE_RATIO]);
    }
    rule_overflow(d, &findings[RULE_OVERFLOW_RISK]);
    rule_loss(d, end_step, &findings[RULE_LOSS_NOT_DECREASING]);
    rule_accuracy(d, end_step, &findings[RULE_ACCURACY_AT_CHANCE]);
    rule_validation_nan(d, end_step, &findings[RULE_VALIDATION_ONLY_NAN]);
    rule_input(d, &findings[RULE_INPUT_DATA]);
    free(scratch);
}
