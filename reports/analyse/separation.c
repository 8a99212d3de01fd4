/* separation.c: the comparison verdict (see separation.h). */
#include "separation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mechanism.h"

#define MAX_ARMS 16
#define MAX_SHOWN 4         /* separating statistics shown per setting */
#define MAX_NOT_SHOWN 3     /* statistics that do not separate, shown per setting */
#define PERSISTENCE 0.8     /* share of the steps from the onset on that must stay separated */
#define MIN_TAIL 3          /* probed steps from the onset on, at least */
#define ASSUMED_BAND 0.30103 /* log10(2): the band when no setting has two seeds */
#define FLOOR_BAND 0.041393 /* log10(1.1): no gap below 10 % counts, however alike the seeds */
#define MAX_COMPARED 1000   /* probed steps compared per trajectory, at most about */

/* The statistics compared: a series, as it is or relative to the arm's
 * first probed value (a shrinkage, free of the init's scale), and what a
 * gap in it means for a failure. */
typedef struct stat_def {
    series_id series;
    int relative;
    int harmless;     /* never blamed: padding-only taps */
    const char *link;
} stat_def;

static const stat_def stat_defs[] = {
    {SERIES_DATA_L2_GRAD_RATIO, 0, 0,
     "the L2 gradient against the data gradient on the data taps: where it exceeds 1, Adam shrinks the data taps "
     "and their relative step grows"},
    {SERIES_L2_DOMINANT_FRACTION, 0, 0,
     "the share of data-tap coordinates where 2*lambda*|w| > |g|: Adam drives those linearly toward 0"},
    {SERIES_DATA_NORM, 1, 0,
     "how far the data taps shrank: BatchNorm hides it from the forward pass, but a smaller kernel turns further "
     "with each Adam step"},
    {SERIES_DATA_UPDATE_RATIO, 0, 0, "the relative step of the data taps: their effective learning rate"},
    {SERIES_DATA_ANGLE, 0, 0, "the angular update of the data taps: how fast the direction BatchNorm sees turns"},
    {SERIES_BN_MAX_VAR_RATIO, 0, 0,
     "training batch variance against the moving variance inference uses: a gap means validation normalizes with "
     "stale statistics"},
    {SERIES_BN_MIN_VAR_RATIO, 0, 0,
     "training batch variance against the moving variance inference uses: a gap means validation normalizes with "
     "stale statistics"},
    {SERIES_BN_MAX_MEAN_SHIFT, 0, 0, "the batch mean against the moving mean inference uses"},
    {SERIES_L2_GRAD_RATIO, 0, 0, "the L2 gradient against the data gradient (all taps, padding-only ones included)"},
    {SERIES_KERNEL_NORM, 0, 0, "the kernel's scale"},
    {SERIES_UPDATE_RATIO, 0, 0, "the kernel's relative step"},
    {SERIES_ACT_ABSMAX, 0, 0, "the activations' scale: the headroom before overflow"},
    {SERIES_GRAD_NORM, 0, 0, "the gradient reaching the layer"},
    {SERIES_BN_MIN_VARIANCE, 0, 0, "a BatchNorm channel's smallest variance (near 0 it divides by ~epsilon)"},
    {SERIES_BN_MAX_MEAN2_OVER_VAR, 0, 0, "BatchNorm mean^2/variance (cancellation risk)"},
    {SERIES_PADDING_NORM, 1, 1,
     "padding-only taps: they only meet 'same' padding, get no data gradient and never touch the forward pass"},
};
#define STAT_COUNT ((int)(sizeof stat_defs / sizeof stat_defs[0]))

typedef struct arm_view {
    const rundata *d;
    const char *label;
    int group;
    int end_step;        /* steps compared: < end_step (the first NaN's step, or past the last) */
    double *first;       /* [series * layer_count + layer]: the first probed value (relative statistics) */
    char failure[320];   /* "" when the arm stayed finite */
} arm_view;

typedef struct group {
    int arms[MAX_ARMS];
    int count;
    int failed;
    char label[256];
} group;

typedef struct context {
    arm_view arms[MAX_ARMS];
    int arm_count;
    group groups[MAX_ARMS];
    int group_count;
    int seeds_measured; /* some setting has two seeds or more */
    const rundata *ref; /* layers are named as in the first arm */
} context;

/* One (statistic, layer) of setting f against setting g. */
typedef struct pair_result {
    int comparable, separated, onset_step, last_step;
    double f_value, g_value; /* geometric means over the seeds at last_step */
    double gap;              /* log10 f - log10 g at last_step */
} pair_result;

/* ----------------------------------------------------------- the arms */

static int same_setting(const run_info *a, const run_info *b)
{
    return strcmp(a->init, b->init) == 0 && a->l2 == b->l2 && a->lr == b->lr && a->depth == b->depth &&
           a->width == b->width && a->batch == b->batch && a->classes == b->classes &&
           strcmp(a->clip, b->clip) == 0 && strcmp(a->normalize, b->normalize) == 0 &&
           strcmp(a->data, b->data) == 0;
}

/* The first failure of an arm: its first non-finite event, or an epoch
 * whose val_loss is not finite though no event was recorded. */
static void describe_failure(arm_view *a)
{
    const rundata *d = a->d;
    const event_info *e = rundata_first_nan(d);
    a->end_step = d->step_count ? d->steps[d->step_count - 1].step + 1 : 0;
    a->failure[0] = '\0';
    if (e) {
        int validation = e->pass == PASS_VALIDATION;
        snprintf(a->failure, sizeof a->failure, "%s %s at step %d (epoch %d), %s of %s (%s pass)",
                 validation ? "validation" : "training", read_enum_name(STORED_VALUE_CLASS, e->value_class), e->step,
                 e->epoch, e->tensor, e->layer_name, read_enum_name(STORED_PASS, e->pass));
        a->end_step = e->step;
        return;
    }
    for (int i = 0; i < d->epoch_count; i++)
        if (!isfinite(d->epochs[i].val_loss) && d->step_count > 0) {
            snprintf(a->failure, sizeof a->failure, "validation: val_loss not finite at epoch %d (step %d)",
                     d->epochs[i].epoch, d->epochs[i].last_step);
            a->end_step = d->epochs[i].last_step + 1;
            return;
        }
}

/* The setting's label: the arm's without its " seed=N". */
static void group_label(const char *arm_label, char *out, size_t size)
{
    snprintf(out, size, "%s", arm_label);
    char *seed = strstr(out, " seed=");
    if (!seed) return;
    char *rest = strchr(seed + 1, ' ');
    memmove(seed, rest ? rest : seed + strlen(seed), strlen(rest ? rest : "") + 1);
}

/* Arms of one setting with different seeds are one group. */
static void make_groups(context *c)
{
    for (int i = 0; i < c->arm_count; i++) {
        arm_view *a = &c->arms[i];
        int g = 0;
        for (; g < c->group_count; g++) {
            group *gr = &c->groups[g];
            int fits = same_setting(&c->arms[gr->arms[0]].d->run, &a->d->run);
            for (int k = 0; k < gr->count && fits; k++) fits = c->arms[gr->arms[k]].d->run.seed != a->d->run.seed;
            if (fits) break;
        }
        if (g == c->group_count) {
            memset(&c->groups[g], 0, sizeof c->groups[g]);
            group_label(a->label, c->groups[g].label, sizeof c->groups[g].label);
            c->group_count++;
        }
        group *gr = &c->groups[g];
        gr->arms[gr->count++] = i;
        gr->failed |= a->failure[0] != '\0';
        a->group = g;
        if (gr->count > 1) c->seeds_measured = 1;
    }
}

/* ------------------------------------------------------ the trajectories */

/* The layer called `name` in d; arms of one architecture have it at the
 * reference's index (hint), so that is tried first. */
static int layer_in(const rundata *d, int hint, const char *name)
{
    if (hint >= 0 && hint < d->layer_count && strcmp(d->layers[hint].name, name) == 0) return hint;
    for (int l = 0; l < d->layer_count; l++)
        if (strcmp(d->layers[l].name, name) == 0) return l;
    return -1;
}

static int probe_at(const rundata *d, int step)
{
    int lo = 0, hi = d->probe_count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (d->probe_steps[mid] == step) return mid;
        if (d->probe_steps[mid] < step) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* log10 of the statistic of arm a, layer `name`, at `step` (NaN: absent,
 * not positive, or past the arm's end). */
static double arm_log(const arm_view *a, const stat_def *s, int layer, int step)
{
    const rundata *d = a->d;
    int p = step < a->end_step ? probe_at(d, step) : -1;
    if (p < 0 || layer < 0) return NAN;
    double v = rundata_value(d, s->series, p, layer);
    if (!(v > 0) || !isfinite(v)) return NAN;
    if (s->relative) {
        double first = a->first[(size_t)s->series * (size_t)d->layer_count + (size_t)layer];
        if (!(first > 0)) return NAN;
        v /= first;
    }
    return log10(v);
}

/* The first value of every relative statistic of every layer. */
static int first_values(arm_view *a)
{
    const rundata *d = a->d;
    a->first = malloc(sizeof *a->first * SERIES_COUNT * (size_t)(d->layer_count + 1));
    if (!a->first) return -1;
    for (int i = 0; i < STAT_COUNT; i++) {
        if (!stat_defs[i].relative) continue;
        for (int l = 0; l < d->layer_count; l++) {
            a->first[(size_t)stat_defs[i].series * (size_t)d->layer_count + (size_t)l] =
                rundata_first_value(d, stat_defs[i].series, l, d->probe_count, NULL);
        }
    }
    return 0;
}

/* Mean, min and max of log10 over a group's seeds at one step; 0 when a
 * seed has no value. */
static int group_logs(const context *c, const group *g, const stat_def *s, int layer, int step, double *mean,
                      double *lo, double *hi)
{
    const char *name = c->ref->layers[layer].name;
    double sum = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < g->count; k++) {
        const arm_view *a = &c->arms[g->arms[k]];
        double x = arm_log(a, s, layer_in(a->d, layer, name), step);
        if (isnan(x)) return 0;
        sum += x;
        *lo = fmin(*lo, x), *hi = fmax(*hi, x);
    }
    *mean = sum / g->count;
    return 1;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The noise band: the 90th percentile of the spread between seeds, or the
 * assumed factor of 2 when neither setting has two seeds. */
static double noise_band(double *spreads, int n, int measured)
{
    if (!measured || n == 0) return ASSUMED_BAND;
    qsort(spreads, (size_t)n, sizeof *spreads, compare_double);
    double band = spreads[(int)(0.9 * (n - 1))];
    return band > FLOOR_BAND ? band : FLOOR_BAND;
}

/* Step arrays of one comparison, sized by the reference arm's probes. */
typedef struct work {
    int *steps;
    char *separated;
    double *gap, *f_mean, *g_mean, *spreads;
} work;

/* Statistic s of layer `layer` (of the reference arm): setting f against setting g. */
static void compare_pair(const context *c, const work *w, int f, int g, const stat_def *s, int layer, pair_result *r)
{
    const group *gf = &c->groups[f], *gg = &c->groups[g];
    const rundata *ref = c->arms[gf->arms[0]].d;
    int n = 0, spread_n = 0;
    memset(r, 0, sizeof *r);
    /* At most about MAX_COMPARED steps: the onset is then found to within the stride. */
    const int stride = ref->probe_count / MAX_COMPARED + 1;
    for (int p = 0; p < ref->probe_count; p += stride) {
        int step = ref->probe_steps[p];
        double fm, flo, fhi, gm, glo, ghi;
        if (!group_logs(c, gf, s, layer, step, &fm, &flo, &fhi) || !group_logs(c, gg, s, layer, step, &gm, &glo, &ghi))
            continue;
        if (gf->count > 1) w->spreads[spread_n++] = fhi - flo;
        if (gg->count > 1) w->spreads[spread_n++] = ghi - glo;
        w->steps[n] = step, w->f_mean[n] = fm, w->g_mean[n] = gm, w->gap[n] = fm - gm;
        w->separated[n] = flo > ghi || glo > fhi;
        n++;
    }
    if (n < MIN_TAIL) return;
    r->comparable = 1;
    double band = noise_band(w->spreads, spread_n, gf->count > 1 || gg->count > 1);
    /* From the end backwards: the earliest step from which >= 80 % stay separated. */
    int kept = 0;
    for (int i = n - 1; i >= 0; i--) {
        int sep = w->separated[i] && fabs(w->gap[i]) > band && (w->gap[i] > 0) == (w->gap[n - 1] > 0);
        kept += sep;
        if (sep && n - i >= MIN_TAIL && kept >= PERSISTENCE * (n - i)) r->separated = 1, r->onset_step = w->steps[i];
    }
    r->separated &= w->separated[n - 1] && fabs(w->gap[n - 1]) > band;
    r->last_step = w->steps[n - 1];
    r->gap = w->gap[n - 1];
    r->f_value = pow(10.0, w->f_mean[n - 1]);
    r->g_value = pow(10.0, w->g_mean[n - 1]);
}

/* ------------------------------------------------- one setting vs the rest */

/* One (statistic, layer) of setting f against every other setting. */
typedef struct finding {
    int stat, layer; /* stat_defs index; layer in c->ref */
    int separated_all, onset_step, separated_count, comparable_count;
    unsigned separated_from; /* bit g: separated from setting g */
    unsigned comparable_with; /* bit g: the statistic exists in f and g */
    pair_result nearest;     /* against the setting with the smallest gap */
    int nearest_group;
    int layers_separated;    /* of this statistic, how many layers separate (filled per statistic) */
} finding;

static void find_against_all(const context *c, const work *w, int f, unsigned against, int stat, int layer,
                             finding *out)
{
    memset(out, 0, sizeof *out);
    out->stat = stat, out->layer = layer, out->nearest_group = -1;
    int above = 0, below = 0;
    for (int g = 0; g < c->group_count; g++) {
        if (g == f || !(against & (1u << g))) continue;
        pair_result r;
        compare_pair(c, w, f, g, &stat_defs[stat], layer, &r);
        if (!r.comparable) continue;
        out->comparable_count++;
        out->comparable_with |= 1u << g;
        if (r.separated) {
            out->separated_count++;
            out->separated_from |= 1u << g;
            above += r.gap > 0, below += r.gap < 0;
            if (r.onset_step > out->onset_step) out->onset_step = r.onset_step;
        }
        if (out->nearest_group < 0 || fabs(r.gap) < fabs(out->nearest.gap)) out->nearest = r, out->nearest_group = g;
    }
    /* Every other setting on the same side: the gap to the nearest one keeps its sign. */
    out->separated_all = out->comparable_count > 0 && out->separated_count == out->comparable_count &&
                         (above == 0 || below == 0);
}

/* Whole-kernel statistics that have a data-tap twin: the twin is
 * compared instead (it leaves out the padding-only taps' collapse, and
 * says the same where there are none).  The whole kernel's norm stays for
 * kernels without padding-only taps: its scale is the init's. */
static int mixes_padding(const rundata *ref, int stat, int layer)
{
    series_id s = stat_defs[stat].series;
    if (s == SERIES_KERNEL_NORM) return rundata_layer_has(ref, SERIES_PADDING_NORM, layer);
    return (s == SERIES_UPDATE_RATIO || s == SERIES_L2_GRAD_RATIO) && rundata_layer_has(ref, SERIES_DATA_NORM, layer);
}

/* Of one statistic, the layer that separates earliest (then by the
 * largest gap to the nearest setting), and how many layers separate. */
static int best_layer(const context *c, const work *w, int f, unsigned against, int stat, finding *best,
                      finding *partial)
{
    int layers = 0, have_partial = 0;
    best->stat = -1;
    for (int l = 0; l < c->ref->layer_count; l++) {
        if (mixes_padding(c->ref, stat, l)) continue;
        finding x;
        find_against_all(c, w, f, against, stat, l, &x);
        if (x.separated_all) {
            layers++;
            if (best->stat < 0 || x.onset_step < best->onset_step ||
                (x.onset_step == best->onset_step && fabs(x.nearest.gap) > fabs(best->nearest.gap)))
                *best = x;
        } else if (x.separated_count > 0 && x.separated_count < x.comparable_count &&
                   (!have_partial || x.separated_count > partial->separated_count)) {
            *partial = x;
            have_partial = 1;
        }
    }
    if (best->stat >= 0) best->layers_separated = layers;
    return have_partial;
}

/* ------------------------------------------------------------- the text */

static void stat_name(int stat, char *out, size_t size)
{
    const stat_def *s = &stat_defs[stat];
    snprintf(out, size, "%s%s (%s)", series_defs[s->series].label, s->relative ? " relative to its first value" : "",
             series_defs[s->series].source);
}

/* The settings an effect can be put down to. */
typedef enum setting_key {
    SETTING_INIT, SETTING_L2, SETTING_LR, SETTING_DEPTH, SETTING_WIDTH, SETTING_BATCH, SETTING_NORMALIZE,
    SETTING_COUNT
} setting_key;
static const char *const setting_effects[] = {
    [SETTING_INIT] = "an init effect", [SETTING_L2] = "an l2 effect", [SETTING_LR] = "an lr effect",
    [SETTING_DEPTH] = "a depth effect", [SETTING_WIDTH] = "a width effect", [SETTING_BATCH] = "a batch effect",
    [SETTING_NORMALIZE] = "a normalize effect",
};
static const char *const setting_names[] = {
    [SETTING_INIT] = "init", [SETTING_L2] = "l2", [SETTING_LR] = "lr", [SETTING_DEPTH] = "depth",
    [SETTING_WIDTH] = "width", [SETTING_BATCH] = "batch", [SETTING_NORMALIZE] = "normalize",
};
_Static_assert(sizeof setting_effects / sizeof setting_effects[0] == SETTING_COUNT &&
                   sizeof setting_names / sizeof setting_names[0] == SETTING_COUNT,
               "one effect and one name per setting_key");

/* A setting's value, as text ("he_normal", "0.0001"). */
static void setting_value(const run_info *r, setting_key key, char *out, size_t size)
{
    switch (key) {
    case SETTING_INIT: snprintf(out, size, "%s", r->init); break;
    case SETTING_L2: snprintf(out, size, "%g", r->l2); break;
    case SETTING_LR: snprintf(out, size, "%g", r->lr); break;
    case SETTING_DEPTH: snprintf(out, size, "%d", r->depth); break;
    case SETTING_WIDTH: snprintf(out, size, "%d", r->width); break;
    case SETTING_BATCH: snprintf(out, size, "%d", r->batch); break;
    case SETTING_NORMALIZE: snprintf(out, size, "%s", r->normalize); break;
    case SETTING_COUNT: out[0] = '\0'; break;
    }
}

/* The one setting f shares with every setting it is not separated from
 * and with none it is separated from: "an init effect". */
static void explain(const context *c, int f, unsigned against, const finding *x, char *out, size_t size)
{
    const run_info *rf = &c->arms[c->groups[f].arms[0]].d->run;
    snprintf(out, size, "not explained by one setting");
    char vf[64], vg[64];
    for (setting_key key = 0; key < SETTING_COUNT; key++) {
        setting_value(rf, key, vf, sizeof vf);
        int explains = 1;
        for (int g = 0; g < c->group_count && explains; g++) {
            if (g == f || !(against & x->comparable_with & (1u << g))) continue;
            setting_value(&c->arms[c->groups[g].arms[0]].d->run, key, vg, sizeof vg);
            int same = strcmp(vf, vg) == 0, separated = (x->separated_from >> g) & 1u;
            explains = same != separated;
        }
        if (explains) {
            snprintf(out, size, "it follows %s=%s, shared with the arms it does not separate from: %s",
                     setting_names[key], vf, setting_effects[key]);
            return;
        }
    }
}

static void write_value(strbuf *out, const stat_def *s, double v)
{
    if (s->relative) strbuf_printf(out, "x%.3g of its first value", v);
    else strbuf_printf(out, "%.3g", v);
}

static void write_separating(const context *c, const finding *x, int rank, strbuf *out)
{
    const stat_def *s = &stat_defs[x->stat];
    char name[200];
    stat_name(x->stat, name, sizeof name);
    strbuf_printf(out, "  %d. %s of %s: ", rank, name, c->ref->layers[x->layer].name);
    write_value(out, s, x->nearest.f_value);
    strbuf_append(out, " against ");
    write_value(out, s, x->nearest.g_value);
    strbuf_printf(out, " in %s (x%.3g %s) at step %d; separated from step %d on, in %d layer%s. Link: %s.\n",
                  c->groups[x->nearest_group].label, pow(10.0, fabs(x->nearest.gap)),
                  x->nearest.gap > 0 ? "higher" : "lower", x->nearest.last_step,
                  x->onset_step, x->layers_separated, x->layers_separated == 1 ? "" : "s", s->link);
}

static void write_not_separating(const context *c, int f, unsigned against, const finding *x, strbuf *out)
{
    char name[200], why[200];
    stat_name(x->stat, name, sizeof name);
    strbuf_printf(out, "  - %s of %s", name, c->ref->layers[x->layer].name);
    if (x->separated_all) {
        /* Only harmless statistics get here separating from every setting. */
        strbuf_append(out, " separates it from every other setting, and is harmless: those taps only meet 'same' "
                           "padding and never touch the forward pass.\n");
        return;
    }
    explain(c, f, against, x, why, sizeof why);
    strbuf_append(out, " separates it from");
    for (int g = 0, n = 0; g < c->group_count; g++)
        if ((x->separated_from >> g) & 1u) strbuf_printf(out, "%s %s", n++ ? "," : "", c->groups[g].label);
    strbuf_printf(out, " but not from the others: %s%s.\n", why,
                  stat_defs[x->stat].harmless ? "; harmless (taps that only meet 'same' padding)" : "");
}

/* Earliest onset first; at the same step the upstream layer (the cause
 * comes before what it moves downstream), then the larger gap. */
static int compare_findings(const void *a, const void *b)
{
    const finding *x = a, *y = b;
    if (x->onset_step != y->onset_step) return x->onset_step < y->onset_step ? -1 : 1;
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    return fabs(y->nearest.gap) > fabs(x->nearest.gap) ? 1 : fabs(y->nearest.gap) < fabs(x->nearest.gap) ? -1 : 0;
}

/* The first separating L2/data statistic that is higher here, or NULL. */
static const finding *l2_ratio_higher(const finding *shown, int n)
{
    for (int i = 0; i < n; i++) {
        series_id s = stat_defs[shown[i].stat].series;
        if ((s == SERIES_DATA_L2_GRAD_RATIO || s == SERIES_L2_DOMINANT_FRACTION) && shown[i].nearest.gap > 0)
            return &shown[i];
    }
    return NULL;
}

static int stat_index(series_id series)
{
    for (int i = 0; i < STAT_COUNT; i++)
        if (stat_defs[i].series == series) return i;
    return -1;
}

/* Where the L2/data ratio separates: the shrinkage of that layer's data
 * taps (and of its padding-only taps, never blamed) here and in the
 * nearest setting, separated or not.  Returns 1 when the data taps shrink
 * more here beyond the band: the L2 x Adam mechanism. */
static int write_shrinkage(const context *c, const work *w, int f, const finding *ratio, strbuf *out)
{
    const char *name = c->ref->layers[ratio->layer].name, *other = c->groups[ratio->nearest_group].label;
    pair_result data, padding;
    compare_pair(c, w, f, ratio->nearest_group, &stat_defs[stat_index(SERIES_DATA_NORM)], ratio->layer, &data);
    if (!data.comparable) return 0;
    strbuf_printf(out, "  Data-tap shrinkage of %s: x%.3g of its first norm here against x%.3g in %s at step %d (%s",
                  name, data.f_value, data.g_value, other, data.last_step,
                  data.separated ? "separated from step " : "within the seed band: not separated");
    if (data.separated) strbuf_printf(out, "%d on", data.onset_step);
    strbuf_append(out, ").");
    compare_pair(c, w, f, ratio->nearest_group, &stat_defs[stat_index(SERIES_PADDING_NORM)], ratio->layer, &padding);
    if (padding.comparable)
        strbuf_printf(out, " Its padding-only taps: x%.3g against x%.3g; not counted: they only meet 'same' padding "
                           "and never touch the forward pass.",
                      padding.f_value, padding.g_value);
    strbuf_append(out, "\n");
    return data.separated && data.gap < 0;
}

static void write_mechanism(strbuf *out)
{
    const mechanism_def *m = &mechanism_defs[MECHANISM_L2_ADAM];
    strbuf_printf(out, "Mechanism: %s: %s.\nFix: %s.\n", m->title, m->sentence, m->fix);
}

/* What separates setting f from the settings in `against`, and what
 * separates it from some of them only.  Returns how many statistics
 * separate it. */
static int write_setting(const context *c, const work *w, int f, unsigned against, strbuf *out)
{
    finding shown[STAT_COUNT], partial[STAT_COUNT];
    int n = 0, np = 0;
    for (int stat = 0; stat < STAT_COUNT; stat++) {
        finding best, part;
        int has_partial = best_layer(c, w, f, against, stat, &best, &part);
        if (best.stat >= 0 && !stat_defs[stat].harmless) shown[n++] = best;
        else if (best.stat >= 0) partial[np++] = best;
        else if (has_partial) partial[np++] = part;
    }
    qsort(shown, (size_t)n, sizeof *shown, compare_findings);
    strbuf_printf(out, "What separates %s from", c->groups[f].label);
    for (int g = 0, k = 0; g < c->group_count; g++)
        if (g != f && (against & (1u << g))) strbuf_printf(out, "%s %s", k++ ? "," : "", c->groups[g].label);
    strbuf_printf(out, " (beyond %s):\n", c->seeds_measured ? "the spread between seeds" : "an assumed x2 seed spread");
    if (n == 0) strbuf_append(out, "  nothing beyond seed spread.\n");
    for (int i = 0; i < n && i < MAX_SHOWN; i++) write_separating(c, &shown[i], i + 1, out);
    const finding *ratio = l2_ratio_higher(shown, n);
    if (ratio && write_shrinkage(c, w, f, ratio, out) && c->arms[c->groups[f].arms[0]].d->run.l2 > 0)
        write_mechanism(out);
    if (np > 0) strbuf_append(out, "What does not separate it:\n");
    for (int i = 0; i < np && i < MAX_NOT_SHOWN + 1; i++)
        if (i < MAX_NOT_SHOWN || stat_defs[partial[i].stat].harmless) write_not_separating(c, f, against, &partial[i], out);
    return n;
}

static void write_failures(const context *c, strbuf *out)
{
    int failed = 0;
    for (int i = 0; i < c->arm_count; i++)
        if (c->arms[i].failure[0]) {
            strbuf_printf(out, "Failed: arm %d (%s): %s.\n", i + 1, c->arms[i].label, c->arms[i].failure);
            failed++;
        }
    if (failed == 0) {
        strbuf_printf(out, "No arm failed: all %d arms stayed finite in training and validation.\n", c->arm_count);
        return;
    }
    strbuf_append(out, "Healthy:");
    for (int i = 0, k = 0; i < c->arm_count; i++)
        if (!c->arms[i].failure[0]) strbuf_printf(out, "%s arm %d (%s)", k++ ? "," : "", i + 1, c->arms[i].label);
    strbuf_append(out, failed == c->arm_count ? " none.\n" : ".\n");
}

/* One setting only: its seeds' largest spread. */
static void write_one_setting(const context *c, const work *w, strbuf *out)
{
    double widest = 0;
    int widest_stat = -1, widest_layer = -1;
    for (int stat = 0; stat < STAT_COUNT; stat++)
        for (int l = 0; l < c->ref->layer_count; l++) {
            int n = 0;
            for (int p = 0; p < c->ref->probe_count; p++) {
                double m, lo, hi;
                if (group_logs(c, &c->groups[0], &stat_defs[stat], l, c->ref->probe_steps[p], &m, &lo, &hi))
                    w->spreads[n++] = hi - lo;
            }
            double band = n ? noise_band(w->spreads, n, 1) : 0;
            if (n && band > widest) widest = band, widest_stat = stat, widest_layer = l;
        }
    strbuf_printf(out, "All %d arms share one setting (%s) and differ only by seed: nothing separates them beyond "
                       "seed spread.",
                  c->arm_count, c->groups[0].label);
    if (widest_stat >= 0) {
        char name[200];
        stat_name(widest_stat, name, sizeof name);
        strbuf_printf(out, " The widest spread between seeds: x%.3g in %s of %s (90th percentile over the steps).",
                      pow(10.0, widest), name, c->ref->layers[widest_layer].name);
    }
    strbuf_append(out, "\n");
}

static void write_seeds_and_confidence(const context *c, int any_failed, int separating, strbuf *out)
{
    int seeds_differ = 0;
    for (int i = 1; i < c->arm_count; i++) seeds_differ |= c->arms[i].d->run.seed != c->arms[0].d->run.seed;
    if (c->seeds_measured)
        strbuf_append(out, "Seeds: the spread between seeds of the same setting is measured; a gap counts only beyond "
                           "it.\n");
    else if (seeds_differ)
        strbuf_append(out, "Seeds: the arms differ by seed as well as by setting, so part of any gap may be the seed; "
                           "`nanprobe ablate --seeds N` trains every setting N times and measures the spread.\n");
    else
        strbuf_printf(out, "Seeds: every arm ran seed %lld, so the spread between seeds is not measured (a gap must "
                           "exceed x2); `nanprobe ablate --seeds N` measures it.\n",
                      c->arms[0].d->run.seed);
    const char *level = any_failed && c->seeds_measured && separating ? "high"
                        : (any_failed || c->seeds_measured) && separating ? "medium"
                                                                         : "low";
    strbuf_printf(out, "Confidence: %s (%s; %s; %d statistics separate a setting).\n", level,
                  any_failed ? "an arm failed" : "no arm failed, so this compares trajectories, not failures",
                  c->seeds_measured ? "seed spread measured" : "one seed per setting", separating);
}

static int work_alloc(const context *c, work *w)
{
    int n = 1;
    for (int i = 0; i < c->arm_count; i++)
        if (c->arms[i].d->probe_count > n) n = c->arms[i].d->probe_count;
    w->steps = malloc(sizeof *w->steps * (size_t)n);
    w->separated = malloc((size_t)n);
    w->gap = malloc(sizeof *w->gap * (size_t)n);
    w->f_mean = malloc(sizeof *w->f_mean * (size_t)n);
    w->g_mean = malloc(sizeof *w->g_mean * (size_t)n);
    w->spreads = malloc(sizeof *w->spreads * (size_t)n * 2);
    return w->steps && w->separated && w->gap && w->f_mean && w->g_mean && w->spreads ? 0 : -1;
}

static void work_free(work *w)
{
    free(w->steps), free(w->separated), free(w->gap), free(w->f_mean), free(w->g_mean), free(w->spreads);
}

/* Failing settings against the healthy ones; without a failure, every
 * setting against the others (with two settings, the second against the
 * first: the same facts either way). */
static int write_settings(const context *c, const work *w, strbuf *out)
{
    unsigned all = (1u << c->group_count) - 1u, healthy = 0;
    for (int g = 0; g < c->group_count; g++)
        if (!c->groups[g].failed) healthy |= 1u << g;
    int separating = 0;
    if (healthy != all && healthy != 0) {
        for (int g = 0; g < c->group_count; g++)
            if (c->groups[g].failed) separating += write_setting(c, w, g, healthy, out);
        return separating;
    }
    for (int g = c->group_count == 2 ? 1 : 0; g < c->group_count; g++)
        separating += write_setting(c, w, g, all & ~(1u << g), out);
    return separating;
}

int separation_verdict(const rundata *const *runs, const char *const *labels, int count, strbuf *out, error *err)
{
    if (count < 1 || count > MAX_ARMS) return error_set(err, "the comparison takes 1 to %d runs, got %d", MAX_ARMS, count);
    context *c = calloc(1, sizeof *c);
    if (!c) return error_set(err, "out of memory");
    int rc = 0;
    c->arm_count = count;
    c->ref = runs[0];
    int any_failed = 0;
    for (int i = 0; i < count; i++) {
        c->arms[i].d = runs[i];
        c->arms[i].label = labels[i];
        describe_failure(&c->arms[i]);
        if (first_values(&c->arms[i])) rc = -1;
        any_failed |= c->arms[i].failure[0] != '\0';
    }
    make_groups(c);
    work w;
    if (work_alloc(c, &w)) rc = -1;
    if (rc == 0) {
        write_failures(c, out);
        int separating = 0;
        if (c->group_count == 1) write_one_setting(c, &w, out);
        else separating = write_settings(c, &w, out);
        write_seeds_and_confidence(c, any_failed, separating, out);
        if (out->failed) rc = -1;
    }
    work_free(&w);
    for (int i = 0; i < count; i++) free(c->arms[i].first);
    free(c);
    return rc ? error_set(err, "out of memory composing the comparison verdict") : 0;
}
