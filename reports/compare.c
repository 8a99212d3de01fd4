/* compare.c: compare_write, several runs (the arms of an ablation) side by
 * side: val_loss and val_accuracy per epoch with one curve per arm labelled
 * by its settings, the first NaN of each arm, and the trajectories of the
 * statistics that separate the arms (kernel norm and gradient norm of the
 * culprit layers).  Each database is opened and loaded on its own.
 * Stages: load_arms (load), choose_culprits (analyse), say_verdict (say),
 * draw_* (draw), write_* and write_figures (write). */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "html.h"
#include "outdir.h"
#include "precursor.h"
#include "read_run.h"
#include "separation.h"
#include "strbuf.h"
#include "verdict.h"
#include "write_figure.h"

#define COMPARE_MAX_ARMS 16
#define COMPARE_MAX_CULPRITS 3
#define COMPARE_BINS 800

typedef struct arm {
    const char *path;
    rundata d;
    precursor_ranking ranking;
    char label[256]; /* "init=he_normal l2=0.0001 lr=0.001" */
} arm;

typedef struct culprit {
    const char *name;        /* the layer (Keras name) followed in every arm (owned by an arm's rundata) */
    const char *weight_name; /* the layer whose kernel norm is shown (itself, or the conv feeding it) */
    char why[256];
} culprit;

/* --------------------------------------------------------------- labels */

static void arm_labels(arm *arms, int count)
{
    /* Settings that differ between arms are added to init/l2/lr. */
    int differ_depth = 0, differ_batch = 0, differ_seed = 0, differ_norm = 0, distinct = 1;
    for (int i = 1; i < count; i++) {
        const run_info *a = &arms[0].d.run, *b = &arms[i].d.run;
        differ_depth |= a->depth != b->depth;
        differ_batch |= a->batch != b->batch;
        differ_seed |= a->seed != b->seed;
        differ_norm |= strcmp(a->normalize, b->normalize) != 0;
    }
    for (int i = 0; i < count; i++) {
        const run_info *r = &arms[i].d.run;
        int n = snprintf(arms[i].label, sizeof arms[i].label, "init=%s l2=%g lr=%g", r->init, r->l2, r->lr);
        if (differ_depth && n < (int)sizeof arms[i].label)
            n += snprintf(arms[i].label + n, sizeof arms[i].label - (size_t)n, " depth=%d", r->depth);
        if (differ_batch && n < (int)sizeof arms[i].label)
            n += snprintf(arms[i].label + n, sizeof arms[i].label - (size_t)n, " batch=%d", r->batch);
        if (differ_seed && n < (int)sizeof arms[i].label)
            n += snprintf(arms[i].label + n, sizeof arms[i].label - (size_t)n, " seed=%lld", r->seed);
        if (differ_norm && n < (int)sizeof arms[i].label)
            n += snprintf(arms[i].label + n, sizeof arms[i].label - (size_t)n, " normalize=%s", r->normalize);
    }
    for (int i = 0; i < count && distinct; i++)
        for (int j = i + 1; j < count; j++)
            if (strcmp(arms[i].label, arms[j].label) == 0) distinct = 0;
    if (!distinct) /* identical settings: the run names tell them apart */
        for (int i = 0; i < count; i++) {
            size_t n = strlen(arms[i].label);
            snprintf(arms[i].label + n, sizeof arms[i].label - n, " (%s)", arms[i].d.run.name);
        }
}

/* ------------------------------------------------------------- culprits */

static int layer_by_name(const rundata *d, const char *name)
{
    for (int l = 0; l < d->layer_count; l++)
        if (strcmp(d->layers[l].name, name) == 0) return l;
    return -1;
}

static int culprit_add(culprit *list, int *n, const rundata *d, int layer, const char *why)
{
    if (layer < 0 || *n >= COMPARE_MAX_CULPRITS) return 0;
    for (int i = 0; i < *n; i++)
        if (strcmp(list[i].name, d->layers[layer].name) == 0) return 0;
    culprit *c = &list[(*n)++];
    c->name = d->layers[layer].name;
    snprintf(c->why, sizeof c->why, "%s", why);
    /* The kernel shown: the layer's own, else the nearest earlier layer with one. */
    int w = layer;
    while (w >= 0 && !rundata_layer_has(d, SERIES_KERNEL_NORM, w)) w--;
    c->weight_name = w >= 0 ? d->layers[w].name : d->layers[layer].name;
    return 1;
}

static int choose_culprits(const arm *arms, int count, culprit *list)
{
    int n = 0;
    for (int i = 0; i < count; i++) {
        const event_info *e = rundata_first_nan(&arms[i].d);
        if (!e) continue;
        char why[256];
        snprintf(why, sizeof why, "first NaN of arm %d", i + 1);
        culprit_add(list, &n, &arms[i].d, rundata_layer_index(&arms[i].d, e->layer_id), why);
        const precursor_ranking *r = &arms[i].ranking;
        if (r->candidates > 0 && fabs(r->items[0].departure) >= PRECURSOR_MIN_DECADES) {
            snprintf(why, sizeof why, "top precursor of arm %d", i + 1);
            culprit_add(list, &n, &arms[i].d, r->items[0].layer, why);
        }
    }
    if (n > 0) return n;
    /* No NaN anywhere: the kernels whose norm trajectories differ most
     * between the arms (spread of log(last/first) across arms). */
    const rundata *d0 = &arms[0].d;
    double best[COMPARE_MAX_CULPRITS] = {0};
    int pick[COMPARE_MAX_CULPRITS] = {-1, -1, -1};
    for (int l = 0; l < d0->layer_count; l++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int a = 0; a < count; a++) {
            const rundata *d = &arms[a].d;
            int la = layer_by_name(d, d0->layers[l].name);
            if (la < 0 || !d->series[SERIES_KERNEL_NORM]) continue;
            double first = NAN, last = NAN;
            for (int p = 0; p < d->probe_count; p++) {
                double v = rundata_value(d, SERIES_KERNEL_NORM, p, la);
                if (!(v > 0)) continue;
                if (isnan(first)) first = v;
                last = v;
            }
            if (isnan(first)) continue;
            double x = log10(last / first);
            if (x < lo) lo = x;
            if (x > hi) hi = x;
        }
        double spread = hi - lo;
        if (!(spread > 0)) continue;
        for (int k = 0; k < 2; k++)
            if (pick[k] < 0 || spread > best[k]) {
                if (k == 0) best[1] = best[0], pick[1] = pick[0];
                best[k] = spread;
                pick[k] = l;
                break;
            }
    }
    for (int k = 0; k < 2; k++)
        if (pick[k] >= 0) {
            char why[256];
            snprintf(why, sizeof why, "kernel norm trajectories differ most between the arms (10^%.2g spread)",
                     best[k]);
            culprit_add(list, &n, d0, pick[k], why);
        }
    return n;
}

/* -------------------------------------------------------------- figures */

static double epoch_value(const epoch_info *e, int accuracy)
{
    return accuracy ? e->val_accuracy : e->val_loss;
}

/* The last epoch of any arm, and the range of positive finite values. */
static int epoch_extent(const arm *arms, int count, int accuracy, double *lo, double *hi)
{
    int max_epoch = 0, values = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int a = 0; a < count; a++)
        for (int e = 0; e < arms[a].d.epoch_count; e++) {
            const epoch_info *ep = &arms[a].d.epochs[e];
            if (ep->epoch > max_epoch) max_epoch = ep->epoch;
            double v = epoch_value(ep, accuracy);
            values += isfinite(v);
            if (isfinite(v) && v > 0) {
                if (v < *lo) *lo = v;
                if (v > *hi) *hi = v;
            }
        }
    /* Runs without validation clips have epochs but no value to draw (a
     * plot of nothing is a gnuplot error, not an empty figure). */
    return values ? max_epoch : 0;
}

/* One row per epoch, one column per arm. */
static void epoch_table(const arm *arms, int count, int accuracy, int max_epoch, strbuf *t)
{
    strbuf_append(t, "epoch");
    for (int a = 0; a < count; a++) {
        char label[300];
        gnuplot_data_text(arms[a].label, label, sizeof label);
        strbuf_printf(t, " %s", label);
    }
    strbuf_append(t, "\n");
    for (int epoch = 1; epoch <= max_epoch; epoch++) {
        strbuf_printf(t, "%d", epoch);
        for (int a = 0; a < count; a++) {
            double v = NAN;
            for (int e = 0; e < arms[a].d.epoch_count; e++)
                if (arms[a].d.epochs[e].epoch == epoch) v = epoch_value(&arms[a].d.epochs[e], accuracy);
            strbuf_append(t, " ");
            figure_number(t, v);
        }
        strbuf_append(t, "\n");
    }
}

/* The first NaN of each arm, marked at its epoch on the arm's last finite
 * value.  Returns how many marks. */
static int nan_marks_table(const arm *arms, int count, int accuracy, strbuf *t)
{
    int nan_marks = 0;
    strbuf_append(t, "# epoch_of_first_nan last_finite_value arm\n");
    for (int a = 0; a < count; a++) {
        const event_info *e = rundata_first_nan(&arms[a].d);
        if (!e) continue;
        double last = NAN;
        for (int i = 0; i < arms[a].d.epoch_count; i++) {
            double v = epoch_value(&arms[a].d.epochs[i], accuracy);
            if (isfinite(v)) last = v;
        }
        if (!isfinite(last)) continue;
        strbuf_printf(t, "%d ", e->epoch > 0 ? e->epoch : 1);
        figure_number(t, last);
        strbuf_printf(t, " %d\n", a + 1);
        nan_marks++;
    }
    return nan_marks;
}

static void epoch_body(int count, int accuracy, int max_epoch, int log_scale, const char *data, const char *marks,
                       int nan_marks, strbuf *body)
{
    strbuf_printf(body, "set title '%s per epoch'\nset xlabel 'epoch'\nset ylabel '%s'\nset key outside right top "
                         "vertical\nset xrange [0.5:%d.5]\nset xtics 1\n",
                  accuracy ? "Validation accuracy" : "Validation loss", accuracy ? "val_accuracy" : "val_loss",
                  max_epoch);
    if (max_epoch > 30) strbuf_append(body, "set xtics autofreq\n");
    if (log_scale) strbuf_append(body, "set logscale y\n");
    strbuf_printf(body, "plot for [i=2:%d] '%s' using 1:i with linespoints lw 2 pt (i-1) ps 1.3 title columnheader(i)",
                  count + 1, data);
    if (nan_marks)
        strbuf_printf(body, ", '%s' using 1:2 with points pt 2 ps 3.5 lw 3 lc rgb '#d62728' title 'first NaN (at the "
                             "last finite value of the arm)'",
                      marks);
    strbuf_append(body, "\n");
}

/* val_loss (or val_accuracy) per epoch, one curve per arm. */
static void draw_epoch_figure(const arm *arms, int count, int accuracy, figure_set *set)
{
    const char *base = accuracy ? "compare_val_accuracy" : "compare_val_loss";
    char data[96], marks[96];
    snprintf(data, sizeof data, "%s.dat", base);
    snprintf(marks, sizeof marks, "%s_nan.dat", base);
    double lo, hi;
    int max_epoch = epoch_extent(arms, count, accuracy, &lo, &hi);
    if (max_epoch == 0) return;
    figure *fig = figure_add(set, base, 1300, 650,
                             accuracy ? "Validation accuracy per epoch, one curve per arm (labelled by its settings); "
                                        "a red cross marks the epoch of an arm's first NaN."
                                      : "Validation loss per epoch (including the L2 penalty, as Keras reports it), "
                                        "one curve per arm; a red cross marks the epoch of an arm's first NaN, at its "
                                        "last finite value.");
    if (!fig) return;
    strbuf table = {0};
    epoch_table(arms, count, accuracy, max_epoch, &table);
    figure_add_data(fig, data, &table);
    int nan_marks = nan_marks_table(arms, count, accuracy, &table);
    if (nan_marks) figure_add_data(fig, marks, &table);
    else strbuf_free(&table);
    int log_scale = !accuracy && isfinite(lo) && hi / lo > 30.0;
    epoch_body(count, accuracy, max_epoch, log_scale, data, marks, nan_marks, &fig->body);
}

/* Geometric mean per bin of one arm's series for one layer name. */
static void arm_binned(const rundata *d, series_id s, const char *layer_name, double first, double width, int bins,
                       double *out)
{
    for (int b = 0; b < bins; b++) out[b] = NAN;
    int l = layer_by_name(d, layer_name);
    if (l < 0 || !d->series[s]) return;
    double *sum = calloc((size_t)bins, sizeof *sum);
    int *n = calloc((size_t)bins, sizeof *n);
    if (!sum || !n) {
        free(sum), free(n);
        return;
    }
    for (int p = 0; p < d->probe_count; p++) {
        double v = rundata_value(d, s, p, l);
        if (!(v > 0) || !isfinite(v)) continue;
        int b = (int)floor((d->probe_steps[p] - first) / width);
        if (b < 0) b = 0;
        if (b >= bins) b = bins - 1;
        sum[b] += log10(v);
        n[b]++;
    }
    for (int b = 0; b < bins; b++)
        if (n[b]) out[b] = pow(10.0, sum[b] / n[b]);
    free(sum), free(n);
}

/* The probed steps of all arms, cut into at most COMPARE_BINS bins. */
typedef struct step_bins {
    int first, bins;
    double width;
} step_bins;

static int trajectory_bins(const arm *arms, int count, step_bins *sb)
{
    int first = 0, last = 0, any = 0;
    for (int a = 0; a < count; a++) {
        const rundata *d = &arms[a].d;
        if (d->probe_count == 0) continue;
        if (!any || d->probe_steps[0] < first) first = d->probe_steps[0];
        if (!any || d->probe_steps[d->probe_count - 1] > last) last = d->probe_steps[d->probe_count - 1];
        any = 1;
    }
    if (!any) return 0;
    sb->first = first;
    sb->bins = last - first + 1 < COMPARE_BINS ? last - first + 1 : COMPARE_BINS;
    sb->width = (double)(last - first + 1) / sb->bins;
    return 1;
}

/* values[(a * 2 + k) * bins + b]: arm a's kernel norm (k = 0) and
 * gradient norm (k = 1) of culprit c, binned. */
static double *trajectory_value(double *values, const step_bins *sb, int a, int k)
{
    return values + (size_t)(a * 2 + k) * (size_t)sb->bins;
}

static void compute_trajectories(const arm *arms, int count, const culprit *c, const step_bins *sb, double *values)
{
    for (int a = 0; a < count; a++) {
        arm_binned(&arms[a].d, SERIES_KERNEL_NORM, c->weight_name, sb->first, sb->width, sb->bins,
                   trajectory_value(values, sb, a, 0));
        arm_binned(&arms[a].d, SERIES_GRAD_NORM, c->name, sb->first, sb->width, sb->bins,
                   trajectory_value(values, sb, a, 1));
    }
}

static void trajectory_table(const arm *arms, int count, const step_bins *sb, double *values, strbuf *t)
{
    strbuf_append(t, "step");
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < count; a++) {
            char label[300];
            gnuplot_data_text(arms[a].label, label, sizeof label);
            strbuf_printf(t, " %s", label);
        }
    strbuf_append(t, "\n");
    for (int b = 0; b < sb->bins; b++) {
        strbuf_printf(t, "%.6g", sb->first + (b + 0.5) * sb->width - 0.5);
        for (int k = 0; k < 2; k++)
            for (int a = 0; a < count; a++) {
                strbuf_append(t, " ");
                figure_number(t, trajectory_value(values, sb, a, k)[b]);
            }
        strbuf_append(t, "\n");
    }
}

/* One row of the figure: culprit c's two panels.  A panel without one
 * finite value would stop gnuplot ("all points undefined"): it is skipped
 * instead. */
static void trajectory_row_script(const culprit *c, int count, const step_bins *sb, double *values,
                                  const char *data, strbuf *body)
{
    int has[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < count && !has[k]; a++)
            for (int b = 0; b < sb->bins && !has[k]; b++)
                if (isfinite(trajectory_value(values, sb, a, k)[b])) has[k] = 1;
    char t1[300], t2[300], text[300];
    snprintf(text, sizeof text, "kernel norm of %.120s%s", c->weight_name, has[0] ? "" : " (not logged)");
    gnuplot_quote(text, t1, sizeof t1);
    snprintf(text, sizeof text, "gradient norm of %.120s", c->name);
    gnuplot_quote(text, t2, sizeof t2);
    strbuf_printf(body, "set title %s\nset ylabel '||w||'\n", t1);
    if (has[0])
        strbuf_printf(body, "plot for [i=2:%d] '%s' using 1:i with lines lw 2 title columnheader(i)\n", count + 1,
                      data);
    else strbuf_append(body, "set multiplot next\n");
    strbuf_printf(body, "set title %s\nset ylabel '||dL/dy||'\n", t2);
    if (has[1])
        strbuf_printf(body, "plot for [i=%d:%d] '%s' using 1:i with lines lw 2 title columnheader(i)\n", count + 2,
                      2 * count + 1, data);
    else strbuf_append(body, "set multiplot next\n");
}

/* Kernel and gradient norms of each culprit layer over steps, per arm. */
static int draw_trajectories(const arm *arms, int count, const culprit *culprits, int n, figure_set *set,
                             error *err)
{
    step_bins sb;
    if (n == 0 || !trajectory_bins(arms, count, &sb)) return 0;
    double *values = malloc(sizeof *values * (size_t)sb.bins * (size_t)count * 2);
    if (!values) return error_set(err, "out of memory");
    figure *fig = figure_add(set, "compare_trajectories", 1300, 330 * n + 120, "");
    if (!fig) {
        free(values);
        return 0;
    }
    strbuf caption = {0}, *body = &fig->body;
    strbuf_append(&caption, "Kernel L2 norm (left) and output-gradient L2 norm (right) over steps, one curve per "
                            "arm (geometric mean per bin), log scale. Rows: ");
    strbuf_printf(body, "set multiplot layout %d,2 title 'Statistics that separate the arms' font ',13'\n"
                         "set logscale y\nset format y '%%.0e'\nset xlabel 'step'\nset key top left font ',9'\n",
                  n);
    for (int c = 0; c < n; c++) {
        char data[64];
        snprintf(data, sizeof data, "compare_layer%d.dat", c + 1);
        compute_trajectories(arms, count, &culprits[c], &sb, values);
        strbuf table = {0};
        trajectory_table(arms, count, &sb, values, &table);
        figure_add_data(fig, data, &table);
        strbuf_printf(&caption, "%s%s (%s; kernel of %s)", c ? "; " : "", culprits[c].name, culprits[c].why,
                      culprits[c].weight_name);
        trajectory_row_script(&culprits[c], count, &sb, values, data, body);
    }
    strbuf_append(&caption, ".");
    strbuf_append(body, "unset multiplot\n");
    free(values);
    snprintf(fig->caption, sizeof fig->caption, "%s", strbuf_text(&caption));
    int rc = caption.failed ? error_set(err, "out of memory") : 0;
    strbuf_free(&caption);
    return rc;
}

/* ---------------------------------------------------------------- page */

static void write_arms_table(FILE *f, const arm *arms, int count)
{
    fputs("<table>\n<tr><th>arm</th><th>settings</th><th>run name</th><th>status</th><th>steps</th><th>epochs</th>"
          "<th>first NaN</th><th>final val_loss</th><th>best val_loss (epoch)</th><th>final val_accuracy</th>"
          "<th>precursor</th><th>database</th></tr>\n",
          f);
    for (int a = 0; a < count; a++) {
        const rundata *d = &arms[a].d;
        const event_info *e = rundata_first_nan(d);
        fprintf(f, "<tr%s><td>%d</td><td>", e ? " class=\"bad\"" : "", a + 1);
        html_escape(f, arms[a].label);
        fputs("</td><td>", f);
        html_escape(f, d->run.name);
        fputs("</td><td>", f);
        html_escape(f, d->run.status);
        fprintf(f, "</td><td class=\"num\">%d</td><td class=\"num\">%d</td><td>", d->step_count, d->epoch_count);
        if (e) {
            fprintf(f, "step %d (epoch %d): ", e->step, e->epoch);
            html_escape(f, e->tensor);
            fputs(" of ", f);
            html_escape(f, e->layer_name);
            fputs(", ", f);
            html_escape(f, read_enum_name(STORED_PASS, e->pass));
        } else {
            fputs("none", f);
        }
        fputs("</td>", f);
        double final_loss = NAN, final_acc = NAN, best = NAN;
        int best_epoch = 0;
        for (int i = 0; i < d->epoch_count; i++) {
            const epoch_info *ep = &d->epochs[i];
            final_loss = ep->val_loss;
            final_acc = ep->val_accuracy;
            if (isfinite(ep->val_loss) && (isnan(best) || ep->val_loss < best)) best = ep->val_loss, best_epoch = ep->epoch;
        }
        if (isfinite(final_loss)) fprintf(f, "<td class=\"num\">%.4g</td>", final_loss);
        else fputs("<td class=\"num\">NaN</td>", f);
        if (isfinite(best)) fprintf(f, "<td class=\"num\">%.4g (%d)</td>", best, best_epoch);
        else fputs("<td class=\"num\">&mdash;</td>", f);
        if (isfinite(final_acc)) fprintf(f, "<td class=\"num\">%.4g</td>", final_acc);
        else fputs("<td class=\"num\">&mdash;</td>", f);
        fputs("<td>", f);
        const precursor_ranking *r = &arms[a].ranking;
        if (r->candidates > 0 && fabs(r->items[0].departure) >= PRECURSOR_MIN_DECADES) {
            const precursor *p = &r->items[0];
            char factor[32];
            verdict_format_factor(p->departure, factor, sizeof factor);
            html_escape(f, series_defs[p->series].label);
            fputs(" of ", f);
            html_escape(f, d->layers[p->layer].name);
            fprintf(f, " %s %s from step %d", p->departure >= 0 ? "grew" : "shrank", factor, p->onset_step);
        } else {
            fputs("none", f);
        }
        fputs("</td><td><code>", f);
        html_escape(f, arms[a].path);
        fputs("</code></td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The comparison verdict (separation.h), for verdict.txt and the page. */
static int say_verdict(const arm *arms, int count, strbuf *text, error *err)
{
    const rundata *runs[COMPARE_MAX_ARMS];
    const char *labels[COMPARE_MAX_ARMS];
    for (int a = 0; a < count; a++) runs[a] = &arms[a].d, labels[a] = arms[a].label;
    return separation_verdict(runs, labels, count, text, err);
}

static int write_verdict(const char *dir, const strbuf *text, error *err)
{
    FILE *f = figure_data_open(dir, "verdict.txt", err);
    if (!f) return -1;
    fputs(strbuf_text(text), f);
    return figure_data_close(f, dir, "verdict.txt", err);
}

static int write_compare_index(const char *dir, const arm *arms, int count, const char *verdict,
                               const figure_set *figs, const char *gnuplot_error, error *err)
{
    FILE *f = figure_data_open(dir, "index.html", err);
    if (!f) return -1;
    html_begin(f, "nanprobe comparison");
    fprintf(f, "<h1>nanprobe comparison of %d runs</h1>\n<h2>Verdict</h2>\n<pre class=\"verdict\">", count);
    html_escape(f, verdict);
    fputs("</pre>\n<h2>Arms</h2>\n", f);
    write_arms_table(f, arms, count);
    html_figure_section(f, dir, figs, gnuplot_error, NULL);
    html_end(f);
    return figure_data_close(f, dir, "index.html", err);
}

/* Loads every arm and ranks its precursors; returns how many arms are loaded
 * (count when all are), with err set when fewer. */
static int load_arms(arm *arms, const char *const *db_paths, int count, error *err)
{
    unsigned mask = PRECURSOR_SERIES | SERIES_BIT(SERIES_KERNEL_NORM) | SERIES_BIT(SERIES_GRAD_NORM) | SEPARATION_SERIES;
    for (int loaded = 0; loaded < count; loaded++) {
        arm *a = &arms[loaded];
        a->path = db_paths[loaded];
        if (rundata_load(&a->d, a->path, mask, 0, err)) return loaded;
        const event_info *e = rundata_first_nan(&a->d);
        int end = e ? e->step : a->d.steps[a->d.step_count - 1].step + 1;
        if (precursor_rank(&a->d, end, &a->ranking, err)) {
            rundata_free(&a->d);
            return loaded;
        }
    }
    return count;
}

/* The same pipeline as report_write: load (rundata_load of every arm),
 * analyse (precursor ranking, labels, culprits), say (separation_verdict),
 * draw (the figures above, in memory), write (verdict.txt, the figures'
 * files, gnuplot, index.html). */
int compare_write(const char *const *db_paths, int count, const char *out_dir, error *err)
{
    if (!out_dir || !*out_dir) return error_set(err, "compare needs an output directory (-o DIR)");
    if (count < 1) return error_set(err, "compare needs at least one run database");
    if (count > COMPARE_MAX_ARMS) return error_set(err, "compare takes at most %d runs, got %d", COMPARE_MAX_ARMS, count);
    arm *arms = calloc((size_t)count, sizeof *arms);
    if (!arms) return error_set(err, "out of memory");
    int rc = -1;
    strbuf verdict = {0};
    figure_set figs;
    memset(&figs, 0, sizeof figs);
    int loaded = load_arms(arms, db_paths, count, err);
    if (loaded < count) goto done;
    arm_labels(arms, count);
    culprit culprits[COMPARE_MAX_CULPRITS];
    int n_culprits = choose_culprits(arms, count, culprits);
    if (say_verdict(arms, count, &verdict, err)) goto done;
    draw_epoch_figure(arms, count, 0, &figs);
    draw_epoch_figure(arms, count, 1, &figs);
    if (draw_trajectories(arms, count, culprits, n_culprits, &figs, err)) goto done;
    if (outdir_create(out_dir, err) || write_verdict(out_dir, &verdict, err) || write_figures(out_dir, &figs, err))
        goto done;
    error gnuplot_err;
    gnuplot_err.message[0] = '\0';
    int gnuplot_rc = figs.count ? render_figures(out_dir, &figs, &gnuplot_err) : 0;
    if (write_compare_index(out_dir, arms, count, strbuf_text(&verdict), &figs, gnuplot_rc ? gnuplot_err.message : NULL,
                            err))
        goto done;
    if (gnuplot_rc) {
        if (err) *err = gnuplot_err;
        goto done;
    }
    rc = 0;
done:
    figure_set_free(&figs);
    strbuf_free(&verdict);
    for (int i = 0; i < loaded; i++) {
        precursor_free(&arms[i].ranking);
        rundata_free(&arms[i].d);
    }
    free(arms);
    return rc;
}
