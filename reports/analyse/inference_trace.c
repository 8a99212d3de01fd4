/* inference_trace.c: the causal trace of a validation-first NaN (see
 * inference_trace.h).  Looks up validation_stats and validation_batchnorm
 * (probes/probe_validation.c) in the rows loaded up front with the causal
 * walk's window (cause_load; read_validation.h). */
#include "inference_trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_origin.h"

/* A validation batch this much larger (|x|) than any training batch is
 * out of the data's scale: the clips, not the statistics, are the root. */
#define INFERENCE_DATA_SCALE 100.0
#define PATH_MAX_LAYERS 512

typedef struct inference_walk {
    const rundata *d;
    const cause_window *win;
    int epoch, val_batch;
} inference_walk;

int inference_event(const event_info *e)
{
    return e && e->pass == PASS_VALIDATION;
}

/* absmax (finite part) and non-finite count of a layer's output in the
 * failing validation batch (the epoch's summary when the batch has none). */
static int layer_stat(const inference_walk *w, int layer, double *absmax, long long *nonfinite, long long *count)
{
    validation_output o;
    int found = validation_rows_output(&w->win->validation, w->d->layers[layer].layer_id, &o);
    *absmax = o.absmax, *nonfinite = o.nonfinite, *count = o.count;
    return found;
}

static void bn_row_of(const inference_walk *w, int layer, validation_batchnorm *r)
{
    validation_rows_batchnorm(&w->win->validation, w->d->layers[layer].layer_id, r);
}

static int layer_named(const rundata *d, const char *name, size_t length)
{
    for (int l = 0; l < d->layer_count; l++)
        if (strlen(d->layers[l].name) == length && strncmp(d->layers[l].name, name, length) == 0) return l;
    return -1;
}

static int is_batchnorm(const rundata *d, int l)
{
    return d->layers[l].kind == LAYER_BATCHNORM;
}

/* From the origin to the input: at each layer the input whose output held
 * more non-finite values, then the larger |x|.  path[0] is the origin. */
static int walk_path(const inference_walk *w, int origin, int *path)
{
    int n = 0, l = origin;
    while (l > 0 && n < PATH_MAX_LAYERS) {
        path[n++] = l;
        int best = -1;
        double best_abs = -1;
        long long best_bad = -1;
        for (const char *p = w->d->layers[l].inputs; *p;) {
            size_t length = strcspn(p, ",");
            int in = layer_named(w->d, p, length);
            double absmax;
            long long bad, count;
            if (in >= 0 && in < l && layer_stat(w, in, &absmax, &bad, &count) &&
                (bad > best_bad || (bad == best_bad && absmax > best_abs)))
                best = in, best_abs = absmax, best_bad = bad;
            p += length + (p[length] == ',');
        }
        if (best < 0) break;
        l = best;
    }
    if (l == 0 && n < PATH_MAX_LAYERS) path[n++] = 0;
    return n;
}

static cause_link *add_link(cause_trace *t, int layer, const char *tensor, const char *statistic, double before,
                            double after, cause_role role)
{
    cause_chain *c = &t->chain;
    if (c->count >= CAUSE_MAX_LINKS) c->count = CAUSE_MAX_LINKS - 1; /* the root replaces the last link */
    cause_link *k = &c->links[c->count++];
    memset(k, 0, sizeof *k);
    k->layer = layer;
    snprintf(k->tensor, sizeof k->tensor, "%s", tensor);
    snprintf(k->statistic, sizeof k->statistic, "%s", statistic);
    k->step_before = k->step = k->last_finite_step = t->nan_step;
    k->before = before;
    k->after = k->last_finite = after;
    k->decades = isfinite(after) && after > 0 && isfinite(before) && before > 0 ? log10(after / before) : 0;
    k->sample_id = -1;
    k->role = role;
    return k;
}

static const char *name_of(const rundata *d, int l, char *buf, size_t size)
{
    return cause_printable(l >= 0 && l < d->layer_count ? d->layers[l].name : "?", buf, size);
}

/* The data: a non-finite validation clip (the origin is the input), or a
 * validation batch far beyond the training input's scale. */
static void root_data(const inference_walk *w, const event_info *e, cause_trace *t, double val_absmax,
                      double train_absmax)
{
    t->klass = MECHANISM_DATA;
    char origin[1024], shown[400];
    size_t used;
    if (t->chain.links[0].layer == 0) {
        cause_link *root = &t->chain.links[0];
        root->sample_id = e->sample_id;
        snprintf(root->statistic, sizeof root->statistic, "nan_count");
        root->before = 0, root->after = root->last_finite = (double)t->nonfinite;
        snprintf(t->root_detail, sizeof t->root_detail,
                 "validation clip %lld (position %lld of validation batch %d after epoch %d) held %lld non-finite "
                 "values (--normalize %s)",
                 e->sample_id, e->sample, w->val_batch, w->epoch, t->nonfinite,
                 w->d->run.normalize ? w->d->run.normalize : "?");
        used = strlen(t->root_detail);
        if (w->win->validation.has_clip) {
            clip_origin_text(&w->win->validation.clip, origin, sizeof origin);
            snprintf(t->root_detail + used, sizeof t->root_detail - used, "; clip %lld is %s", e->sample_id,
                     cause_printable(origin, shown, sizeof shown));
        }
        return;
    }
    add_link(t, 0, "output", "absmax", train_absmax, val_absmax, CAUSE_ROLE_ROOT);
    snprintf(t->root_detail, sizeof t->root_detail,
             "validation batch %d after epoch %d reached |x| = %.3g at the input, %.3g x the largest training "
             "batch (%.3g): its clips are out of the training data's scale, which inference-mode BatchNorm does "
             "not normalize away",
             w->val_batch, w->epoch, val_absmax, val_absmax / train_absmax, train_absmax);
}

/* The path's BatchNorms, input side first, with their factors: the
 * compounding the inference path shows. */
static void compounding_text(const inference_walk *w, const int *path, int n, cause_trace *t)
{
    strbuf b = {0};
    char name[128];
    double previous = 1.0;
    int shown = 0;
    strbuf_append(&b, "RMS of (x - moving mean)/sqrt(moving variance + eps) at each BatchNorm, input to origin "
                      "(1 when the moving statistics fit): ");
    for (int i = n - 1; i >= 0; i--) {
        if (!is_batchnorm(w->d, path[i])) continue;
        validation_batchnorm r;
        bn_row_of(w, path[i], &r);
        if (!r.found || !isfinite(r.scale)) continue;
        strbuf_printf(&b, "%s%s x%.3g", shown++ ? ", " : "", name_of(w->d, path[i], name, sizeof name), r.scale);
        if (previous > 0 && r.scale / previous >= 2) strbuf_printf(&b, " (own x%.2g)", r.scale / previous);
        previous = r.scale;
    }
    strbuf_printf(&b, "; then %s went non-finite", name_of(w->d, path[0], name, sizeof name));
    snprintf(t->inference_path, sizeof t->inference_path, "%s", shown ? strbuf_text(&b) : "");
    strbuf_free(&b);
}

/* Links for the path's BatchNorms from the origin side up to (and with)
 * the root at path[root_at]. */
static void add_batchnorm_links(const inference_walk *w, const int *path, int root_at, cause_trace *t)
{
    for (int i = 1; i < root_at; i++) {
        if (!is_batchnorm(w->d, path[i])) continue;
        validation_batchnorm r;
        bn_row_of(w, path[i], &r);
        if (r.found && isfinite(r.scale) && t->chain.count < CAUSE_MAX_LINKS - 1)
            add_link(t, path[i], "output", "inference_scale", 1.0, r.scale, CAUSE_ROLE_LINK);
    }
}

static void root_bad_variance(const inference_walk *w, const int *path, int at, const validation_batchnorm *r,
                              cause_trace *t)
{
    char name[128];
    add_batchnorm_links(w, path, at, t);
    add_link(t, path[at], "moving_variance", "moving_variance_min", 1.0, r->moving_variance_min, CAUSE_ROLE_ROOT);
    t->klass = MECHANISM_INFERENCE_STATISTICS;
    snprintf(t->root_detail, sizeof t->root_detail,
             "the moving variance of %s is <= 0 or non-finite in %d of %d channels (the first: channel %d; smallest "
             "finite value %.3g): inference divides by sqrt(moving variance + 0.001), which is NaN below -0.001; "
             "training normalizes with the batch's variance, so only validation fails",
             name_of(w->d, path[at], name, sizeof name), r->bad, r->channels, r->bad_channel, r->moving_variance_min);
}

/* Moving statistics this far from the last training batches' (a mean shift
 * in batch standard deviations, a variance ratio either way) disagree with
 * training itself; below it they fit training but not what the layer gets
 * now, after the last update. */
#define TRAIN_DISAGREEMENT 10.0

static void root_disagreement(const inference_walk *w, const int *path, int at, const validation_batchnorm *r,
                              cause_trace *t)
{
    char name[128];
    add_batchnorm_links(w, path, at, t);
    int by_mean = r->mean_shift >= TRAIN_DISAGREEMENT;
    int by_variance = !by_mean && (r->var_ratio_max >= TRAIN_DISAGREEMENT * TRAIN_DISAGREEMENT ||
                                   r->var_ratio_min <= 1.0 / (TRAIN_DISAGREEMENT * TRAIN_DISAGREEMENT));
    double value = by_mean ? r->mean_shift : by_variance ? r->var_ratio_max : r->scale;
    add_link(t, path[at], by_mean ? "moving_mean" : "moving_variance",
             by_mean ? "mean_shift" : by_variance ? "var_ratio" : "inference_scale", 1.0, value, CAUSE_ROLE_ROOT);
    t->klass = MECHANISM_INFERENCE_STATISTICS;
    snprintf(t->root_detail, sizeof t->root_detail,
             "the moving statistics of %s disagree with what it receives: its normalized input reached RMS %.3g "
             "(channel %d) instead of 1; against the last %d training batches the variance ratio (batch / "
             "moving) ran %.3g..%.3g and the moving mean sat %.3g batch standard deviations off",
             name_of(w->d, path[at], name, sizeof name), r->scale, r->scale_channel, r->train_steps, r->var_ratio_min,
             r->var_ratio_max, r->mean_shift);
    double ratio = cause_window_largest_metric(w->win, "kernel.update_ratio", t->nan_step); /* NaN when not logged */
    size_t used = strlen(t->root_detail);
    if (!by_mean && !by_variance && ratio >= 0.1)
        snprintf(t->root_detail + used, sizeof t->root_detail - used,
                 "; those batches fit them, so the weights moved after: the update of step %d changed kernels by up "
                 "to %.3g x their norm (kernel.update_ratio), and moving statistics follow 1%% of the way per step "
                 "(momentum 0.99)",
                 t->nan_step, ratio);
}

/* No BatchNorm on the path disagrees: the kernel that amplified most. */
static void root_weights(const inference_walk *w, const int *path, int n, cause_trace *t)
{
    char name[128];
    int best = path[0];
    double best_gain = -INFINITY;
    for (int i = 0; i + 1 < n; i++) {
        double out, in;
        long long bad, count;
        layer_kind kind = w->d->layers[path[i]].kind;
        if (kind != LAYER_CONV3D && kind != LAYER_DENSE) continue;
        if (!layer_stat(w, path[i], &out, &bad, &count) || !layer_stat(w, path[i + 1], &in, &bad, &count)) continue;
        if (in > 0 && isfinite(out) && out / in > best_gain) best_gain = out / in, best = path[i];
    }
    add_link(t, best, "kernel", "gain", 1.0, isfinite(best_gain) ? best_gain : NAN, CAUSE_ROLE_ROOT);
    t->klass = MECHANISM_GRADUAL_GROWTH;
    t->weak = 1;
    snprintf(t->weak_reason, sizeof t->weak_reason,
             "no BatchNorm on the inference path disagrees with its moving statistics (RMS < %g) and the clips "
             "are finite and in scale",
             INFERENCE_SCALE_LIMIT);
    snprintf(t->root_detail, sizeof t->root_detail,
             "the weights: %s multiplied |x| by %.3g in the failing validation batch, the most on the path",
             name_of(w->d, best, name, sizeof name), best_gain);
}

/* The validation_only_nan evidence: the epoch trained to a finite loss. */
static void append_support(const rundata *d, int epoch, cause_trace *t)
{
    for (int i = 0; i < d->epoch_count; i++) {
        const epoch_info *e = &d->epochs[i];
        if (e->epoch != epoch || !isfinite(e->loss) || isfinite(e->val_loss)) continue;
        size_t used = strlen(t->root_detail);
        snprintf(t->root_detail + used, sizeof t->root_detail - used,
                 "; supported by validation_only_nan: epoch %d trained to a finite loss of %.4g while its val_loss "
                 "was NaN",
                 epoch, e->loss);
    }
}

int inference_trace_build(const rundata *d, const event_info *e, const cause_window *window, cause_trace *t,
                          error *err)
{
    inference_walk w = {.d = d, .win = window, .epoch = e->epoch};
    w.val_batch = t->val_batch = window->validation.val_batch;
    int origin = rundata_layer_index(d, e->layer_id);
    if (origin < 0) origin = 0;
    double absmax;
    long long bad;
    layer_stat(&w, origin, &absmax, &bad, &t->elements);
    t->nonfinite = bad;
    add_link(t, origin, e->tensor[0] ? e->tensor : "output", "absmax", NAN, INFINITY, CAUSE_ROLE_ORIGIN);
    t->chain.links[0].decades = INFINITY;
    int *path = malloc(sizeof(int) * PATH_MAX_LAYERS);
    if (!path) return error_set(err, "out of memory for the inference trace");
    int n = walk_path(&w, origin, path);
    double val_input = NAN, train_input = window->training_input_absmax;
    long long count;
    layer_stat(&w, 0, &val_input, &bad, &count);
    int bad_at = -1, disagree_at = -1;
    validation_batchnorm rows[2] = {{0}, {0}};
    for (int i = 0; i < n; i++) {
        if (!is_batchnorm(d, path[i])) continue;
        validation_batchnorm r;
        bn_row_of(&w, path[i], &r);
        if (r.bad > 0) bad_at = i, rows[0] = r;
        if (r.scale >= INFERENCE_SCALE_LIMIT) disagree_at = i, rows[1] = r;
    }
    compounding_text(&w, path, n, t);
    if (origin == 0 || val_input > INFERENCE_DATA_SCALE * train_input) root_data(&w, e, t, val_input, train_input);
    else if (bad_at >= 0) root_bad_variance(&w, path, bad_at, &rows[0], t);
    else if (disagree_at >= 0) root_disagreement(&w, path, disagree_at, &rows[1], t);
    else root_weights(&w, path, n, t);
    if (t->klass == MECHANISM_DATA && origin == 0) t->inference_path[0] = '\0';
    append_support(d, w.epoch, t);
    free(path);
    return 0;
}

void inference_text_origin(const rundata *d, const event_info *e, const cause_trace *t, strbuf *out)
{
    if (!inference_event(e)) return;
    (void)d;
    strbuf_printf(out, "Validation: the forward pass in inference mode after epoch %d (after step %d)", e->epoch,
                  e->step);
    if (t && t->val_batch >= 0) strbuf_printf(out, ", validation batch %d", t->val_batch);
    if (e->sample_id >= 0) strbuf_printf(out, ", validation clip %lld (its id in the validation split)", e->sample_id);
    strbuf_append(out, "; training had stayed finite up to here.\n");
}
