/* cause.c: the causal trace from the first NaN to its root (see cause.h).
 * Looks up the series it follows in the window loaded up front
 * (cause_load, read_cause.h); the rest (layers, steps, events) comes from
 * rundata. */
#include "cause.h"
#include "cause_precision.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_origin.h"
#include "inference_trace.h"
#include "run_names.h"

/* The walk looks back this many steps from the NaN (the ring holds 32 by
 * default; probed history before it gives the baseline). */
#define WINDOW_STEPS 256
#define MAX_CANDIDATES 16
/* Out of band: more than half a decade from the baseline. */
#define BAND_DECADES 0.5
/* Clips beyond uint8's range are badly scaled for a network that expects
 * values near [0, 1] or [0, 255]. */
#define DATA_SCALE_LIMIT 255.0
#define CAUSE_ONSET_LEAD 2

char *cause_printable(const char *text, char *out, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p && n + 1 < size; p++)
        out[n++] = *p < 32 || *p == 127 ? '?' : (char)*p;
    if (size) out[n] = '\0';
    return out;
}

/* ------------------------------------------------------------- series */

typedef struct series {
    int n;
    int step[WINDOW_STEPS + 1];
    double v[WINDOW_STEPS + 1];
} series;

typedef struct walk {
    const rundata *d;
    const cause_window *win;
    int nan_step, first_step;
    int backward_origin; /* 1: backward/optimizer tensors at the NaN step are valid */
} walk;

/* stats column of a link: "absmax" or "l2norm"; the finite values of
 * steps whose tensor held no non-finite value. */
static int stats_series(walk *w, int layer, const char *tensor, const char *column, int last_step, series *s)
{
    stats_point rows[WINDOW_STEPS + 1];
    int count = cause_window_stats(w->win, w->d->layers[layer].layer_id, tensor, w->first_step, last_step, rows,
                                   WINDOW_STEPS + 1);
    int use_norm = strcmp(column, "l2norm") == 0;
    s->n = 0;
    for (int i = 0; i < count && s->n < WINDOW_STEPS; i++) {
        double v = use_norm ? rows[i].l2norm : rows[i].absmax;
        if (rows[i].nonfinite != 0 || !isfinite(v)) continue;
        s->step[s->n] = rows[i].step;
        s->v[s->n++] = v;
    }
    return s->n;
}

static double metric_at(walk *w, int layer, const char *metric, int step)
{
    return cause_window_metric(w->win, w->d->layers[layer].layer_id, metric, step);
}

static double decades_of(double v)
{
    return log10(fmax(fabs(v), 1e-30));
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Rise of a series in decades: baseline = median of the first quarter
 * (at least one point), to the last point; onset = first step out of band. */
static double series_rise(const series *s, double *base, int *onset)
{
    *onset = 0;
    *base = NAN;
    if (s->n == 0) return -INFINITY;
    int q = (s->n + 3) / 4;
    double first[WINDOW_STEPS + 1];
    for (int i = 0; i < q; i++) first[i] = decades_of(s->v[i]);
    qsort(first, (size_t)q, sizeof first[0], compare_double);
    double b = q % 2 ? first[q / 2] : 0.5 * (first[q / 2 - 1] + first[q / 2]);
    *base = pow(10.0, b);
    for (int i = 0; i < s->n; i++)
        if (decades_of(s->v[i]) - b > BAND_DECADES) {
            *onset = s->step[i];
            break;
        }
    return decades_of(s->v[s->n - 1]) - b;
}

/* ------------------------------------------------------------- links */

typedef enum node_kind { NODE_FORWARD, NODE_BACKWARD, NODE_PARAM_GRAD, NODE_KERNEL, NODE_INPUT } node_kind;

typedef struct node {
    int layer;
    char tensor[32];
    const char *column;
    node_kind kind;
    int power; /* the link squares its input: 2 (variances, Adam's v) */
} node;

static node node_make(int layer, const char *tensor, const char *column, node_kind kind, int power)
{
    node n = {.layer = layer, .column = column, .kind = kind, .power = power};
    snprintf(n.tensor, sizeof n.tensor, "%s", tensor);
    return n;
}

static int layer_is(const rundata *d, int l, layer_kind kind)
{
    return d->layers[l].kind == kind;
}

static int layer_has_kernel(const rundata *d, int l)
{
    return layer_is(d, l, LAYER_CONV3D) || layer_is(d, l, LAYER_DENSE);
}

static int layer_by_name(const rundata *d, const char *name, size_t length)
{
    for (int l = 0; l < d->layer_count; l++)
        if (strlen(d->layers[l].name) == length && strncmp(d->layers[l].name, name, length) == 0) return l;
    return -1;
}

/* Does layer c take layer l as an input? */
static int layer_consumes(const rundata *d, int c, int l)
{
    const char *p = d->layers[c].inputs;
    while (*p) {
        size_t length = strcspn(p, ",");
        if (layer_by_name(d, p, length) == l) return 1;
        p += length + (p[length] == ',');
    }
    return 0;
}

/* The upstream neighbours of a node in the dataflow (see cause.h). */
static int node_predecessors(const rundata *d, const node *n, node *out)
{
    int k = 0, l = n->layer;
    if (n->kind == NODE_INPUT || n->kind == NODE_KERNEL) return 0;
    if (n->kind == NODE_FORWARD) {
        if (strncmp(n->tensor, "moving_", 7) == 0) {
            out[k++] = node_make(l, strcmp(n->tensor, PROBE_ROLE_MOVING_VARIANCE) == 0 ? PROBE_NAME_BATCH_VARIANCE : PROBE_NAME_BATCH_MEAN,
                                 "absmax", NODE_FORWARD, 1);
            return k;
        }
        int square = strcmp(n->tensor, PROBE_NAME_BATCH_VARIANCE) == 0 ? 2 : 1;
        const char *p = d->layers[l].inputs;
        while (*p && k < MAX_CANDIDATES - 2) {
            size_t length = strcspn(p, ",");
            int in = layer_by_name(d, p, length);
            if (in >= 0) out[k++] = node_make(in, PROBE_NAME_OUTPUT, "absmax", in == 0 ? NODE_INPUT : NODE_FORWARD, square);
            p += length + (p[length] == ',');
        }
        if (layer_has_kernel(d, l)) out[k++] = node_make(l, PROBE_ROLE_KERNEL, "l2norm", NODE_KERNEL, 1);
        if (layer_is(d, l, LAYER_BATCHNORM) && strcmp(n->tensor, PROBE_NAME_OUTPUT) == 0)
            out[k++] = node_make(l, PROBE_ROLE_GAMMA, "absmax", NODE_KERNEL, 1);
        return k;
    }
    if (n->kind == NODE_PARAM_GRAD) {
        int square = strstr(n->tensor, "adam_v") ? 2 : 1;
        out[k++] = node_make(l, PROBE_NAME_OUTPUT_GRAD, "absmax", NODE_BACKWARD, square);
        return k;
    }
    /* NODE_BACKWARD: the gradient reaching l comes through its consumers. */
    for (int c = l + 1; c < d->layer_count && k < MAX_CANDIDATES - 1; c++) {
        if (!layer_consumes(d, c, l)) continue;
        out[k++] = node_make(c, PROBE_NAME_OUTPUT_GRAD, "absmax", NODE_BACKWARD, 1);
        if (layer_has_kernel(d, c) && k < MAX_CANDIDATES) out[k++] = node_make(c, PROBE_ROLE_KERNEL, "l2norm", NODE_KERNEL, 1);
    }
    return k;
}

/* The kernel's norm before the first update in the window, from the L2
 * gradient ||2 lambda w|| (w before the update); NaN without L2. */
static double kernel_norm_before(walk *w, int layer, int step)
{
    double l2 = w->d->run.l2;
    double g = metric_at(w, layer, PROBE_NAME_L2_GRAD_NORM, step);
    return l2 > 0 && isfinite(g) ? g / (2.0 * l2) : NAN;
}

/* A node's series over the window, with the steps that are valid for it. */
static int node_series(walk *w, const node *n, series *s)
{
    int last = w->nan_step;
    if (n->kind == NODE_KERNEL) last = w->nan_step - 1; /* the weights the NaN step used */
    if ((n->kind == NODE_BACKWARD || n->kind == NODE_PARAM_GRAD) && !w->backward_origin) last = w->nan_step - 1;
    stats_series(w, n->layer, n->tensor, n->column, last, s);
    if (n->kind == NODE_KERNEL && strcmp(n->tensor, PROBE_ROLE_KERNEL) == 0 && s->n > 0 && s->n < WINDOW_STEPS) {
        double before = kernel_norm_before(w, n->layer, s->step[0]);
        if (isfinite(before) && before > 0) {
            memmove(s->step + 1, s->step, (size_t)s->n * sizeof s->step[0]);
            memmove(s->v + 1, s->v, (size_t)s->n * sizeof s->v[0]);
            s->step[0] = s->step[1] - 1;
            s->v[0] = before;
            s->n++;
        }
    }
    return s->n;
}

static void link_fill(cause_link *k, const node *n, const series *s, double rise, double base, int onset,
                      cause_role role)
{
    memset(k, 0, sizeof *k);
    k->layer = n->layer;
    snprintf(k->tensor, sizeof k->tensor, "%s", n->tensor);
    snprintf(k->statistic, sizeof k->statistic, "%s", n->column);
    k->step_before = s->n ? s->step[0] : 0;
    k->before = base;
    k->step = s->n ? s->step[s->n - 1] : 0;
    k->after = s->n ? s->v[s->n - 1] : NAN;
    k->decades = rise;
    k->last_finite = k->after;
    k->last_finite_step = k->step;
    k->sample_id = -1;
    k->onset_step = onset;
    k->role = role;
}

/* Scores every predecessor of n; best and second best by rise (an earlier
 * onset wins a near tie of 0.1 decade). */
static int choose_predecessor(walk *w, const node *n, node *best, cause_link *best_link, cause_link *second)
{
    node cand[MAX_CANDIDATES];
    int count = node_predecessors(w->d, n, cand);
    double top = -INFINITY, next = -INFINITY;
    int top_onset = 0, found = 0;
    second->role = CAUSE_ROLE_COUNT;
    for (int i = 0; i < count; i++) {
        series s;
        if (!node_series(w, &cand[i], &s)) continue;
        double base;
        int onset;
        double rise = series_rise(&s, &base, &onset) / cand[i].power;
        /* no history (a NaN at the first step kept): how far the value is
         * from unit scale, toward overflow, is all there is to compare */
        if (s.n == 1) rise = decades_of(s.v[0]) / cand[i].power, base = 1.0;
        if (cand[i].kind == NODE_INPUT) rise = fmax(rise, decades_of(s.v[s.n - 1] / DATA_SCALE_LIMIT));
        int earlier = onset > 0 && (top_onset == 0 || onset < top_onset);
        if (rise > top + 0.1 || (rise > top - 0.1 && earlier)) {
            if (found) *second = *best_link, next = top;
            top = rise, top_onset = onset, *best = cand[i], found = 1;
            link_fill(best_link, &cand[i], &s, rise, base, onset, CAUSE_ROLE_LINK);
        } else if (rise > next) {
            next = rise;
            link_fill(second, &cand[i], &s, rise, base, onset, CAUSE_ROLE_LINK);
        }
    }
    return found;
}

/* ------------------------------------------------------------- roots */

/* The update/weight ratio from which an update counts as a jump when the
 * norm before it is unknown: the update was as large as the new weight. */
#define CAUSE_JUMP_RATIO 0.5

/* The largest one-update jump of a kernel's norm in the window, in decades.
 * Without L2 the norm before the window's first update is not recorded; an
 * update/weight ratio >= CAUSE_JUMP_RATIO there counts as a jump of at
 * least CAUSE_JUMP_DECADES, with *before NaN. */
static double kernel_jump(walk *w, int layer, int *jump_step, double *before, double *after)
{
    node n = node_make(layer, PROBE_ROLE_KERNEL, "l2norm", NODE_KERNEL, 1);
    series s;
    node_series(w, &n, &s);
    double best = -INFINITY;
    *jump_step = 0;
    *before = *after = NAN;
    for (int i = 1; i < s.n; i++) {
        double jump = decades_of(s.v[i]) - decades_of(s.v[i - 1]);
        if (jump > best) best = jump, *jump_step = s.step[i], *before = s.v[i - 1], *after = s.v[i];
    }
    if (s.n > 0 && !(kernel_norm_before(w, layer, s.step[0]) > 0) && best < CAUSE_JUMP_DECADES &&
        metric_at(w, layer, PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE_RATIO, s.step[0]) >= CAUSE_JUMP_RATIO) {
        best = CAUSE_JUMP_DECADES, *jump_step = s.step[0], *before = NAN, *after = s.v[0];
    }
    return best;
}

static const event_info *injection_on(const rundata *d, int layer, int nan_step)
{
    for (int i = 0; i < d->event_count; i++) {
        const event_info *e = &d->events[i];
        if (e->kind == EVENT_INJECTION && e->step <= nan_step &&
            (layer < 0 || rundata_layer_index(d, e->layer_id) == layer ||
             layer_by_name(d, e->layer_name, strlen(e->layer_name)) == layer))
            return e;
    }
    return NULL;
}

static const char *name_of(const rundata *d, int l, char *buf, size_t size)
{
    return cause_printable(l >= 0 && l < d->layer_count ? d->layers[l].name : "?", buf, size);
}

/* The root is a kernel: an update that jumped, or steady growth. */
static void root_kernel(walk *w, cause_trace *t, cause_link *root)
{
    char name[128];
    int step;
    double before, after;
    double jump = kernel_jump(w, root->layer, &step, &before, &after);
    const step_info *si = rundata_step(w->d, step);
    snprintf(root->tensor, sizeof root->tensor, PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE);
    snprintf(root->statistic, sizeof root->statistic, "l2norm");
    root->step_before = step - 1, root->step = step, root->before = before, root->after = after;
    root->decades = jump;
    const event_info *inj = injection_on(w->d, root->layer, w->nan_step);
    if (inj) t->klass = MECHANISM_INJECTED;
    else t->klass = w->nan_step - step <= CAUSE_BLOWUP_LEAD && jump >= CAUSE_JUMP_DECADES ? MECHANISM_UPDATE_BLOWUP
                                                                                           : MECHANISM_GRADUAL_GROWTH;
    double ratio = metric_at(w, root->layer, PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE_RATIO, step);
    double alpha = metric_at(w, root->layer, PROBE_ROLE_KERNEL PROBE_SUFFIX_STEP_SIZE, step);
    name_of(w->d, root->layer, name, sizeof name);
    if (isnan(before))
        snprintf(t->root_detail, sizeof t->root_detail,
                 "the update of step %d was %.3g times the new kernel norm of %s (%.3g; without L2 the norm before "
                 "it is not recorded), lr %.3g, Adam step size %.3g",
                 step, ratio, name, after, si ? si->lr : NAN, alpha);
    else
        snprintf(t->root_detail, sizeof t->root_detail,
                 "the kernel norm of %s went from %.3g to %.3g in the update of step %d (update/weight ratio %.3g, "
                 "lr %.3g, Adam step size %.3g)",
                 name, before, after, step, ratio, si ? si->lr : NAN, alpha);
}

/* The root is the data: the clips of the NaN step that were non-finite or
 * out of scale, by sample id and batch position. */
static void root_data(walk *w, cause_trace *t, cause_link *root)
{
    t->klass = MECHANISM_DATA;
    snprintf(root->tensor, sizeof root->tensor, PROBE_NAME_OUTPUT);
    if (!w->win->has_worst_sample) return;
    const input_sample_info clip = w->win->worst_sample;
    const char *normalize = w->d->run.normalize ? w->d->run.normalize : "";
    int position = clip.position;
    long long id = clip.sample_id, bad = clip.nonfinite;
    double absmax = clip.absmax;
    root->step_before = root->step = w->nan_step;
    root->sample_id = id;
    if (bad > 0) {
        snprintf(root->statistic, sizeof root->statistic, "nan_count");
        root->before = 0, root->after = (double)bad;
        if (strcmp(normalize, "standardize") == 0)
            snprintf(t->root_detail, sizeof t->root_detail,
                     "clip %lld (batch position %d) held %lld non-finite values after --normalize standardize: "
                     "(x - mean)/std over the clip gave NaN, which is 0/0 when the clip is constant (std 0) "
                     "or a NaN already in the data",
                     id, position, bad);
        else
            snprintf(t->root_detail, sizeof t->root_detail,
                     "clip %lld (batch position %d) held %lld non-finite values in the data (--normalize %s "
                     "passes them through)",
                     id, position, bad, normalize);
    } else {
        snprintf(root->statistic, sizeof root->statistic, "absmax");
        root->before = DATA_SCALE_LIMIT, root->after = absmax;
        snprintf(t->root_detail, sizeof t->root_detail,
                 "clip %lld (batch position %d) is badly scaled: |x| up to %.3g, beyond the %g of uint8 video "
                 "(--normalize %s)",
                 id, position, absmax, DATA_SCALE_LIMIT, normalize);
    }
    /* A video clip is named by its file and frames, which is what the
     * user can open and look at. */
    char origin[1024], shown[300];
    size_t used = strlen(t->root_detail);
    if (w->win->has_worst_origin) {
        clip_origin_text(&w->win->worst_origin, origin, sizeof origin);
        snprintf(t->root_detail + used, sizeof t->root_detail - used, "; clip %lld is %s", id,
                 cause_printable(origin, shown, sizeof shown));
    }
}

/* The root is a statistic that was not explained by its inputs: steady
 * growth, or an arithmetic hazard at that link (BatchNorm, the loss). */
static void root_statistic(walk *w, cause_trace *t, cause_link *root, probe_pass origin_pass)
{
    char name[128];
    const rundata *d = w->d;
    int l = root->layer;
    name_of(d, l, name, sizeof name);
    double count = metric_at(w, l, PROBE_NAME_BN_COUNT, w->nan_step);
    double mean2 = metric_at(w, l, PROBE_NAME_BN_MAX_MEAN2_OVER_VAR, w->nan_step - 1);
    double min_var = metric_at(w, l, PROBE_NAME_BN_MIN_VARIANCE, w->nan_step - 1);
    int is_bn = layer_is(d, l, LAYER_BATCHNORM);
    if (origin_pass == PASS_LOSS) {
        t->klass = MECHANISM_LOSS_SATURATION;
        snprintf(t->root_detail, sizeof t->root_detail,
                 "the logits of %s reached |z| = %.3g (step %d), so the cross-entropy overflowed float32", name,
                 root->last_finite, root->last_finite_step);
        return;
    }
    if (is_bn && (count <= 1 || mean2 >= 1e7 || (isfinite(min_var) && min_var < 1e-5))) {
        t->klass = MECHANISM_BATCHNORM;
        const char *hazard = count <= 1 ? "BatchNorm over n = 1 value per channel"
                             : mean2 >= 1e7 ? "cancellation: the channel mean dwarfs its spread"
                                            : "a collapsed channel variance";
        snprintf(t->root_detail, sizeof t->root_detail,
                 "%s in %s: %.0f values per channel, minimum variance %.3g, max mean^2/variance %.3g (step %d)",
                 hazard, name, count, min_var, mean2, w->nan_step - 1);
        return;
    }
    int span = root->step - (root->onset_step > 0 ? root->onset_step : root->step_before);
    double per_step = span > 0 ? root->decades / span : root->decades;
    t->klass = MECHANISM_GRADUAL_GROWTH;
    if (root->role == CAUSE_ROLE_ORIGIN && t->origin_rise >= CAUSE_FOLLOW_DECADES && root->onset_step > 0 &&
        root->last_finite_step - root->onset_step >= 2) {
        /* nothing upstream moved, but the origin's own statistic grew */
        /* growth per step from where it left its band, not over the flat baseline */
        span = root->last_finite_step - root->onset_step;
        per_step = t->origin_rise / span;
        snprintf(t->root_detail, sizeof t->root_detail,
                 "%s %s of %s grew from %.3g (baseline) to %.3g at step %d, out of its band from step %d: 10^%.2f x "
                 "per step since (doubling every %.2g steps), with no upstream statistic moving 10 x",
                 root->tensor, root->statistic, name, root->before, root->last_finite, root->last_finite_step,
                 root->onset_step, per_step, per_step > 0 ? log10(2.0) / per_step : INFINITY);
    } else if (root->role == CAUSE_ROLE_ORIGIN)
        snprintf(t->root_detail, sizeof t->root_detail,
                 "%s %s of %s was %.3g at step %d and nothing upstream moved 10 x before the NaN: the overflow "
                 "happened in this link's own arithmetic (a square or a variance past FLT_MAX)",
                 root->tensor, root->statistic, name, root->last_finite, root->last_finite_step);
    else if (root->decades >= CAUSE_FOLLOW_DECADES && span >= 2)
        snprintf(t->root_detail, sizeof t->root_detail,
                 "%s %s of %s grew from %.3g to %.3g over %d steps: 10^%.2f x per step (doubling every %.2g steps), "
                 "out of its band from step %d",
                 root->tensor, root->statistic, name, root->before, root->after, span, per_step,
                 per_step > 0 ? log10(2.0) / per_step : INFINITY, root->onset_step);
    else
        snprintf(t->root_detail, sizeof t->root_detail,
                 "%s %s of %s was %.3g and nothing upstream moved 10 x before the NaN: the overflow happened "
                 "in this link's own arithmetic (a square or a variance past FLT_MAX)",
                 root->tensor, root->statistic, name, root->after);
}

static node origin_node(const rundata *d, const event_info *e, int *backward)
{
    int l = rundata_layer_index(d, e->layer_id);
    if (l < 0) l = 0;
    *backward = e->pass == PASS_BACKWARD || e->pass == PASS_OPTIMIZER_STATE || e->pass == PASS_UPDATE;
    if (e->pass == PASS_INPUT || l == 0) return node_make(0, PROBE_NAME_OUTPUT, "absmax", NODE_INPUT, 1);
    if (e->pass == PASS_LOSS) return node_make(l, PROBE_NAME_OUTPUT, "absmax", NODE_FORWARD, 1);
    if (e->pass == PASS_BACKWARD) return node_make(l, PROBE_NAME_OUTPUT_GRAD, "absmax", NODE_BACKWARD, 1);
    if (*backward) return node_make(l, e->tensor, "absmax", NODE_PARAM_GRAD, 1);
    return node_make(l, e->tensor[0] ? e->tensor : PROBE_NAME_OUTPUT, "absmax", NODE_FORWARD, 1);
}

/* Follows the best predecessor from `from` (already in chain) until a root. */
static void walk_chain(walk *w, node from, cause_chain *chain, cause_link *runner_first)
{
    if (runner_first) runner_first->role = CAUSE_ROLE_COUNT;
    while (chain->count < CAUSE_MAX_LINKS && from.kind != NODE_KERNEL && from.kind != NODE_INPUT) {
        node next;
        cause_link link, second;
        if (!choose_predecessor(w, &from, &next, &link, &second)) break;
        const cause_link *cur = &chain->links[chain->count - 1];
        int first = chain->count == 1;
        if (link.decades < CAUSE_FOLLOW_DECADES || (!first && link.decades < 0.5 * cur->decades)) break;
        if (first && runner_first) *runner_first = second;
        if (first) chain->score = link.decades;
        chain->links[chain->count++] = link;
        from = next;
    }
}

/* The walk over the window of the first NaN at nan_step. */
static void walk_start(walk *w, const rundata *d, const cause_window *window, int nan_step)
{
    memset(w, 0, sizeof *w);
    w->d = d;
    w->win = window;
    w->nan_step = nan_step;
    w->first_step = window->first_step;
}

/* The origin link: the tensor's finite history and its non-finite count. */
static void origin_link(walk *w, const node *n, cause_trace *t)
{
    series s;
    int saved = w->nan_step;
    w->nan_step = saved - 1; /* history only: the NaN step is the "after" */
    node_series(w, n, &s);
    w->nan_step = saved;
    double base;
    int onset;
    double rise = series_rise(&s, &base, &onset);
    cause_link *k = &t->chain.links[0];
    link_fill(k, n, &s, isfinite(rise) ? rise : 0, base, onset, CAUSE_ROLE_ORIGIN);
    t->origin_rise = isfinite(rise) ? rise : 0;
    k->step = w->nan_step;
    k->after = INFINITY;
    k->decades = INFINITY; /* the first link needs only CAUSE_FOLLOW_DECADES */
    if (s.n == 0) k->step_before = w->nan_step;
    t->chain.count = 1;
    cause_window_count(w->win, w->nan_step, w->d->layers[n->layer].layer_id, n->tensor, &t->nonfinite, &t->elements);
}

/* An injection that the walk did not reach becomes the root itself; a
 * scaled kernel is shown with its norm before and after the factor. */
static void root_injection(walk *w, cause_trace *t, const event_info *inj)
{
    cause_chain *c = &t->chain;
    int l = rundata_layer_index(w->d, inj->layer_id);
    if (l < 0) l = layer_by_name(w->d, inj->layer_name, strlen(inj->layer_name));
    int on_kernel = inj->inject_kind == INJECT_SCALE_WEIGHTS;
    cause_link *root = &c->links[c->count - 1];
    int reached = root->layer == l && (!on_kernel || strncmp(root->tensor, PROBE_ROLE_KERNEL, 6) == 0);
    if (l >= 0 && !reached && c->count < CAUSE_MAX_LINKS) {
        if (root->role == CAUSE_ROLE_ROOT) root->role = CAUSE_ROLE_LINK;
        root = &c->links[c->count++];
        memset(root, 0, sizeof *root);
        root->sample_id = -1;
        root->layer = l;
        root->step_before = inj->step > 1 ? inj->step - 1 : inj->step;
        root->step = inj->step;
        root->before = NAN;
        if (on_kernel) {
            snprintf(root->tensor, sizeof root->tensor, PROBE_ROLE_KERNEL);
            snprintf(root->statistic, sizeof root->statistic, "l2norm");
            series s;
            node n = node_make(l, PROBE_ROLE_KERNEL, "l2norm", NODE_KERNEL, 1);
            int saved = w->nan_step;
            w->nan_step = inj->step;
            node_series(w, &n, &s);
            w->nan_step = saved;
            if (s.n) root->before = s.v[s.n - 1], root->step_before = s.step[s.n - 1];
            root->after = root->before * inj->old_value;
        } else {
            snprintf(root->tensor, sizeof root->tensor, "%s",
                     inj->inject_kind == INJECT_INF_BACKWARD ? PROBE_NAME_OUTPUT_GRAD : PROBE_NAME_OUTPUT);
            snprintf(root->statistic, sizeof root->statistic, "injected");
            root->after = INFINITY;
        }
    }
    root->role = c->count > 1 ? CAUSE_ROLE_ROOT : CAUSE_ROLE_ORIGIN;
    t->klass = MECHANISM_INJECTED;
    char message[300];
    if (on_kernel && l >= 0 && isfinite(root->before))
        snprintf(t->root_detail, sizeof t->root_detail, "the kernel norm of %s went from %.3g to %.3g at step %d; %s",
                 cause_printable(w->d->layers[l].name, message, sizeof message), root->before, root->after,
                 inj->step, cause_printable(inj->message, message + 150, 150));
    else
        snprintf(t->root_detail, sizeof t->root_detail, "%s", cause_printable(inj->message, message, sizeof message));
}

static node node_of_link(const cause_link *k)
{
    node_kind kind = NODE_FORWARD;
    if (strcmp(k->tensor, PROBE_ROLE_KERNEL) == 0 || strcmp(k->tensor, PROBE_ROLE_GAMMA) == 0) kind = NODE_KERNEL;
    else if (k->layer == 0) kind = NODE_INPUT;
    else if (strcmp(k->tensor, PROBE_NAME_OUTPUT_GRAD) == 0) kind = NODE_BACKWARD;
    else if (strchr(k->tensor, '.')) kind = NODE_PARAM_GRAD;
    return node_make(k->layer, k->tensor, strcmp(k->statistic, "l2norm") == 0 ? "l2norm" : "absmax", kind, 1);
}

/* Decides the root of a finished chain and the mechanism. */
static void chain_root(walk *w, cause_trace *t, cause_chain *c, probe_pass pass)
{
    cause_link *root = &c->links[c->count - 1];
    node n = node_of_link(root);
    if (root->role != CAUSE_ROLE_ORIGIN) root->role = CAUSE_ROLE_ROOT;
    t->root_detail[0] = '\0';
    if (n.kind == NODE_INPUT) root_data(w, t, root);
    else if (n.kind == NODE_KERNEL && strcmp(n.tensor, PROBE_ROLE_KERNEL) == 0) root_kernel(w, t, root);
    else root_statistic(w, t, root, pass);
}

/* A chain that ended on a statistic: an update blow-up when a kernel of one
 * of its layers jumped within CAUSE_BLOWUP_LEAD steps of the NaN (the most
 * upstream such layer is the root); otherwise the root of a gradual growth
 * is the link that left its band first (nearest the origin on a tie): links
 * upstream of it moved later, so they did not lead the growth. */
static void chain_refine(walk *w, cause_trace *t, cause_chain *c, probe_pass pass)
{
    if (t->klass != MECHANISM_GRADUAL_GROWTH || pass == PASS_LOSS) return;
    for (int i = c->count - 1; i >= 1; i--) {
        int l = c->links[i].layer;
        if (!layer_has_kernel(w->d, l)) continue;
        int step;
        double before, after;
        double jump = kernel_jump(w, l, &step, &before, &after);
        if (step == 0 || w->nan_step - step > CAUSE_BLOWUP_LEAD || jump < CAUSE_JUMP_DECADES) continue;
        /* the kernel link goes after the layer's output link (over it
         * when the chain is full) */
        c->links[i].role = CAUSE_ROLE_LINK;
        c->count = i + 1 < CAUSE_MAX_LINKS ? i + 2 : i + 1;
        cause_link *root = &c->links[c->count - 1];
        *root = c->links[i];
        root->role = CAUSE_ROLE_ROOT;
        root_kernel(w, t, root);
        return;
    }
    /* Onsets are read against a half-decade band, so a link one step
     * earlier is noise: an upstream link takes the root only when it left
     * its band CAUSE_ONSET_LEAD steps before the current root. */
    int best = c->count > 1 ? 1 : 0;
    for (int i = best + 1; i < c->count; i++) {
        int onset = c->links[i].onset_step, top = c->links[best].onset_step;
        if (onset > 0 && (top == 0 || onset <= top - CAUSE_ONSET_LEAD)) best = i;
    }
    if (best == 0 || best == c->count - 1) return;
    c->count = best + 1;
    c->links[best].role = CAUSE_ROLE_ROOT;
    root_statistic(w, t, &c->links[best], pass);
}

static void trace_weakness(cause_trace *t, const cause_link *runner_first)
{
    const cause_chain *c = &t->chain;
    const cause_link *root = &c->links[c->count - 1];
    if (t->klass == MECHANISM_DATA || t->klass == MECHANISM_INJECTED || t->klass == MECHANISM_BATCHNORM) return;
    if (c->count == 1 && t->klass != MECHANISM_LOSS_SATURATION && t->origin_rise < CAUSE_FOLLOW_DECADES) {
        t->weak = 1;
        snprintf(t->weak_reason, sizeof t->weak_reason,
                 "no statistic upstream of the origin moved by 10 x before step %d (a NaN right after a healthy "
                 "history, or too short a history)",
                 t->nan_step);
    } else if (runner_first && runner_first->role == CAUSE_ROLE_LINK && runner_first->layer != root->layer &&
               runner_first->decades >= c->score - 0.5 && runner_first->decades >= CAUSE_FOLLOW_DECADES) {
        t->weak = 1;
        snprintf(t->weak_reason, sizeof t->weak_reason,
                 "two chains score alike (%.1f and %.1f decades at the first link)", c->score, runner_first->decades);
    }
}

/* Every name the walk (and the culprit figure, and the inference trace's
 * links) looks up: node_predecessors, root_kernel, root_statistic,
 * kernel_norm_before, inference_trace.c.  The last tensor is the origin's
 * (cause_load).  A name missing here reads as "no rows". */
enum { WALK_TENSORS = 9 };
static const char *const walk_metrics[] = {
    PROBE_NAME_L2_GRAD_NORM, PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE_RATIO, PROBE_ROLE_KERNEL PROBE_SUFFIX_STEP_SIZE,
    PROBE_NAME_BN_COUNT,     PROBE_NAME_BN_MAX_MEAN2_OVER_VAR,            PROBE_NAME_BN_MIN_VARIANCE,
};

int cause_load(run_reader *r, const rundata *d, cause_window *out, error *err)
{
    memset(out, 0, sizeof *out);
    out->validation.val_batch = -1;
    const event_info *e = rundata_first_nan(d);
    if (!e) return 0;
    const char *const tensors[WALK_TENSORS] = {
        PROBE_NAME_OUTPUT,     PROBE_NAME_OUTPUT_GRAD,    PROBE_ROLE_KERNEL,
        PROBE_ROLE_GAMMA,      PROBE_NAME_BATCH_MEAN,     PROBE_NAME_BATCH_VARIANCE,
        PROBE_ROLE_MOVING_MEAN, PROBE_ROLE_MOVING_VARIANCE, e->tensor,
    };
    cause_window_request q = {.nan_step = e->step,
                              .first_step = e->step > WINDOW_STEPS ? e->step - WINDOW_STEPS + 1 : 1,
                              .tensors = tensors,
                              .tensor_count = WALK_TENSORS,
                              .metrics = walk_metrics,
                              .metric_count = (int)(sizeof walk_metrics / sizeof walk_metrics[0]),
                              .validation = inference_event(e),
                              .event_id = e->event_id,
                              .epoch = e->epoch,
                              .val_sample_id = e->sample_id};
    return cause_window_load(r, &q, out, err);
}

int cause_trace_build(const rundata *d, const cause_window *window, cause_trace *t, error *err)
{
    memset(t, 0, sizeof *t);
    const event_info *e = rundata_first_nan(d);
    if (!e) return 0;
    if (!window || window->nan_step != e->step)
        return error_set(err, "%s: the causal walk's rows were not loaded for the NaN of step %d", d->path, e->step);
    t->val_batch = -1;
    t->window = window;
    if (inference_event(e)) { /* first seen in validation: the inference-mode trace (issue 22) */
        t->nan_step = e->step;
        return inference_trace_build(d, e, window, t, err);
    }
    walk w;
    walk_start(&w, d, window, e->step);
    t->nan_step = e->step;
    node origin = origin_node(d, e, &w.backward_origin);
    origin_link(&w, &origin, t);
    cause_link runner_first;
    walk_chain(&w, origin, &t->chain, &runner_first);
    chain_root(&w, t, &t->chain, e->pass);
    chain_refine(&w, t, &t->chain, e->pass);
    const event_info *inj = injection_on(d, -1, e->step);
    if (inj) root_injection(&w, t, inj);
    trace_weakness(t, &runner_first);
    if (runner_first.role == CAUSE_ROLE_LINK && runner_first.decades >= CAUSE_FOLLOW_DECADES) {
        /* the runner-up chain: the origin, then the second-best first link */
        cause_chain *r = &t->runner_up;
        r->links[0] = t->chain.links[0];
        r->links[1] = runner_first;
        r->count = 2;
        r->score = runner_first.decades;
        walk_chain(&w, node_of_link(&runner_first), r, NULL);
        r->links[r->count - 1].role = CAUSE_ROLE_ROOT;
    }
    cause_precision_refine(d, t);
    return 0;
}

int cause_link_series(const rundata *d, const cause_trace *t, const cause_link *k, int *steps, double *values,
                      int max, error *err)
{
    if (!t->window) return error_set(err, "%s: the cause chain has no loaded window to draw from", d->path);
    walk w;
    walk_start(&w, d, t->window, t->nan_step);
    w.backward_origin = 1;
    const char *tensor = strcmp(k->tensor, PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE) == 0 ? PROBE_ROLE_KERNEL : k->tensor;
    const char *column = strcmp(k->statistic, "l2norm") == 0 || strcmp(tensor, PROBE_ROLE_KERNEL) == 0 ? "l2norm" : "absmax";
    series s;
    stats_series(&w, k->layer, tensor, column, t->nan_step, &s);
    int n = s.n < max ? s.n : max, skip = s.n - n; /* the last max points */
    for (int i = 0; i < n; i++) steps[i] = s.step[skip + i], values[i] = s.v[skip + i];
    return n;
}
