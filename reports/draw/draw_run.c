/* draw_run.c: draw stage, the figures of a single-run report computed into
 * figure structs (see draw_run.h; write_figure.c writes them).  Database
 * strings reach the scripts only through gnuplot_quote() and the data files
 * only through gnuplot_data_label(). */
#include "draw_run.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "strbuf.h"

/* ------------------------------------------------------------- helpers */

typedef struct binning {
    int bins;
    double first, width; /* bin k covers steps [first + k width, first + (k+1) width) */
} binning;

static binning binning_make(const rundata *d, int max_bins)
{
    binning b;
    b.first = d->probe_steps[0];
    double span = (double)d->probe_steps[d->probe_count - 1] - b.first + 1.0;
    b.bins = d->probe_count < max_bins ? d->probe_count : max_bins;
    if (b.bins < 1) b.bins = 1;
    b.width = span / b.bins;
    return b;
}

static int bin_of(const binning *b, int step)
{
    int k = (int)floor(((double)step - b->first) / b->width);
    return k < 0 ? 0 : k >= b->bins ? b->bins - 1 : k;
}

static double bin_center(const binning *b, int k)
{
    return b->first + (k + 0.5) * b->width - 0.5;
}

static const event_info *nan_event(const rundata *d)
{
    return rundata_first_nan(d);
}

/* The vertical "first NaN" marker, when the run has one. */
static void marker_nan(const rundata *d, strbuf *body)
{
    const event_info *e = nan_event(d);
    if (!e || e->step < 0) return;
    strbuf_printf(body,
                  "set arrow 1 from %d, graph 0 to %d, graph 1 nohead lc rgb '#d62728' dt 2 lw 2 front\n"
                  "set label 1 'first NaN: step %d' at %d, graph 0.97 right offset -0.8,0 tc rgb '#d62728' front "
                  "boxed\n",
                  e->step, e->step, e->step, e->step);
}

/* The loss figure marks the first validation NaN and the first training
 * NaN apart (issue 22: validation can fail first, training later); a run
 * without a validation NaN gets the usual marker. */
static void marker_loss_nans(const rundata *d, strbuf *body)
{
    const event_info *val = NULL, *train = NULL;
    for (int i = 0; i < d->event_count; i++) {
        const event_info *e = &d->events[i];
        if (e->kind != EVENT_NAN || e->step < 0) continue;
        if (e->pass == PASS_VALIDATION) val = val ? val : e;
        else train = train ? train : e;
    }
    if (!val) {
        marker_nan(d, body);
        return;
    }
    strbuf_printf(body,
                  "set arrow 1 from %d, graph 0 to %d, graph 1 nohead lc rgb '#ff7f0e' dt 2 lw 2 front\n"
                  "set label 1 'first validation NaN: after step %d (epoch %d)' at %d, graph 0.97 right offset "
                  "-0.8,0 tc rgb '#ff7f0e' front boxed\n",
                  val->step, val->step, val->step, val->epoch, val->step);
    if (train)
        strbuf_printf(body,
                      "set arrow 2 from %d, graph 0 to %d, graph 1 nohead lc rgb '#d62728' dt 2 lw 2 front\n"
                      "set label 2 'first training NaN: step %d' at %d, graph 0.88 right offset -0.8,0 tc rgb "
                      "'#d62728' front boxed\n",
                      train->step, train->step, train->step, train->step);
}

static void quoted_title(const char *what, const rundata *d, char *out, size_t size)
{
    char text[512];
    snprintf(text, sizeof text, "%s - run %s", what, d->run.name);
    gnuplot_quote(text, out, size);
}

/* Layers (indices) that have any value of series s. */
static int layers_with(const rundata *d, series_id s, int *out)
{
    int n = 0;
    if (!d->series[s]) return 0;
    for (int l = 0; l < d->layer_count; l++)
        if (rundata_layer_has(d, s, l)) out[n++] = l;
    return n;
}

/* ---------------------------------------------------------------- loss */

/* The y range the loss curves need (positive finite values). */
typedef struct loss_range {
    double lo, hi;
    int finite_losses, val_points;
} loss_range;

static void range_add(loss_range *r, double v)
{
    if (v > 0 && v < r->lo) r->lo = v;
    if (v > r->hi) r->hi = v;
}

static void loss_steps_table(const rundata *d, loss_range *r, strbuf *t)
{
    strbuf_append(t, "# step loss data_loss lr accuracy loss_finite\n");
    for (int i = 0; i < d->step_count; i++) {
        const step_info *s = &d->steps[i];
        r->finite_losses += isfinite(s->loss);
        strbuf_printf(t, "%d ", s->step);
        figure_number(t, s->loss);
        strbuf_append(t, " ");
        figure_number(t, s->data_loss);
        strbuf_append(t, " ");
        figure_number(t, s->lr);
        strbuf_append(t, " ");
        figure_number(t, s->accuracy);
        strbuf_printf(t, " %d\n", s->loss_finite);
        if (isfinite(s->loss) && s->loss > 0) range_add(r, s->loss);
    }
}

static void loss_epochs_table(const rundata *d, loss_range *r, strbuf *t)
{
    strbuf_append(t, "# last_step epoch loss val_loss accuracy val_accuracy lr\n");
    for (int i = 0; i < d->epoch_count; i++) {
        const epoch_info *e = &d->epochs[i];
        strbuf_printf(t, "%d %d ", e->last_step, e->epoch);
        figure_number(t, e->loss);
        strbuf_append(t, " ");
        figure_number(t, e->val_loss);
        strbuf_append(t, " ");
        figure_number(t, e->accuracy);
        strbuf_append(t, " ");
        figure_number(t, e->val_accuracy);
        strbuf_append(t, " ");
        figure_number(t, e->lr);
        strbuf_append(t, "\n");
        if (isfinite(e->val_loss)) {
            r->val_points++;
            range_add(r, e->val_loss);
        }
    }
}

static void loss_body(const rundata *d, const loss_range *r, strbuf *body)
{
    char title[600];
    quoted_title("Loss, val_loss and learning rate", d, title, sizeof title);
    strbuf_printf(body,
                  "set title %s\n"
                  "set xlabel 'step'\nset ylabel 'loss'\nset y2label 'learning rate'\n"
                  "set logscale y2\nset y2tics\nset format y2 '%%.0e'\nset key bottom left\n",
                  title);
    if (isfinite(r->lo) && r->hi / r->lo > 30.0) strbuf_append(body, "set logscale y\n");
    marker_loss_nans(d, body);
    /* gnuplot stops on a plot whose every element is empty, so the loss
     * curves are left out when the run has no finite loss at all. */
    const char *sep = "plot ";
    if (r->finite_losses) {
        strbuf_append(body, "plot 'loss_steps.dat' using 1:2 with lines ls 1 lw 1 title 'loss (per step)'");
        sep = ", ";
    }
    if (r->val_points) {
        strbuf_printf(body, "%s'loss_epochs.dat' using 1:4 with linespoints ls 2 pt 7 ps 1.2 title 'val_loss (per "
                             "epoch, at its last step)'",
                      sep);
        sep = ", ";
    }
    int any = r->finite_losses || r->val_points;
    strbuf_printf(body, "%s'loss_steps.dat' using 1:4 axes x1%s with steps ls 3 title 'learning rate%s'\n", sep,
                  any ? "y2" : "y1", any ? " (right axis)" : "");
}

static void draw_loss(const rundata *d, figure_set *set)
{
    figure *fig = figure_add(set, "loss", 1200, 650,
                             "Training loss per step (objective including the L2 penalty), val_loss per epoch, and "
                             "the learning rate (right axis, log scale); the dashed red line marks the first NaN (orange: the "
                             "first NaN met in validation, red: the first in training).");
    if (!fig) return;
    loss_range r = {INFINITY, -INFINITY, 0, 0};
    strbuf table = {0};
    loss_steps_table(d, &r, &table);
    figure_add_data(fig, "loss_steps.dat", &table);
    if (d->epoch_count > 0) {
        loss_epochs_table(d, &r, &table);
        figure_add_data(fig, "loss_epochs.dat", &table);
    }
    loss_body(d, &r, &fig->body);
}

/* A series label for a gnuplot title or axis: gnuplot_quote keeps no '^',
 * so "mean^2" is spelled "squared mean" instead of reading "mean_2". */
static void plot_label(const char *label, char *out, size_t size)
{
    const char *hat = strstr(label, "mean^2");
    if (hat)
        snprintf(out, size, "%.*ssquared mean%s", (int)(hat - label), label, hat + 6);
    else
        snprintf(out, size, "%s", label);
}

/* ------------------------------------------------------------- culprit */

/* The series and layer to show: the top precursor when it is one, else the
 * NaN event's layer with the statistic of its pass. */
static int choose_culprit(const rundata *d, const precursor_ranking *r, series_id *series, int *layer,
                          const precursor **p)
{
    *p = NULL;
    if (r->candidates > 0 && fabs(r->items[0].departure) >= PRECURSOR_MIN_DECADES) {
        *p = &r->items[0];
        *series = r->items[0].series;
        *layer = r->items[0].layer;
        return 1;
    }
    const event_info *e = nan_event(d);
    if (!e) return 0;
    int l = rundata_layer_index(d, e->layer_id);
    if (l < 0) return 0;
    series_id order[4] = {SERIES_ACT_ABSMAX, SERIES_GRAD_ABSMAX, SERIES_KERNEL_NORM, SERIES_BN_MIN_VARIANCE};
    if (e->pass == PASS_BACKWARD) order[0] = SERIES_GRAD_ABSMAX, order[1] = SERIES_ACT_ABSMAX;
    else if (e->pass == PASS_UPDATE || e->pass == PASS_OPTIMIZER_STATE)
        order[0] = SERIES_KERNEL_NORM, order[2] = SERIES_ACT_ABSMAX;
    else if (e->pass == PASS_MOVING_STATISTICS) order[0] = SERIES_BN_MIN_VARIANCE, order[3] = SERIES_ACT_ABSMAX;
    for (int k = 0; k < 4; k++)
        if (rundata_layer_has(d, order[k], l)) {
            *series = order[k];
            *layer = l;
            return 1;
        }
    return 0;
}

/* The culprit and up to two layers on each side that have series s. */
static int culprit_neighbours(const rundata *d, series_id s, int culprit, int shown[5])
{
    int n = 0;
    shown[n++] = culprit;
    for (int side = -1; side <= 1; side += 2) {
        int found = 0;
        for (int l = culprit + side; l >= 0 && l < d->layer_count && found < 2; l += side)
            if (rundata_layer_has(d, s, l)) shown[n++] = l, found++;
    }
    return n;
}

/* culprit.dat: every probe up to step `end`, at most DRAW_RUN_CULPRIT_POINTS
 * rows; beyond, the largest value of each step bin (a spike must survive
 * the thinning). */
static void culprit_table(const rundata *d, series_id s, const int *shown, int n, int end, strbuf *t)
{
    strbuf_append(t, "step");
    for (int i = 0; i < n; i++) {
        char label[80];
        gnuplot_data_label(d->layers[shown[i]].name, label, sizeof label);
        strbuf_printf(t, " %s", label);
    }
    strbuf_append(t, "\n");
    int last = 0;
    while (last < d->probe_count && d->probe_steps[last] <= end) last++;
    int per_bin = (last + DRAW_RUN_CULPRIT_POINTS - 1) / DRAW_RUN_CULPRIT_POINTS;
    if (per_bin < 1) per_bin = 1;
    for (int q0 = 0; q0 < last; q0 += per_bin) {
        int q1 = q0 + per_bin < last ? q0 + per_bin : last;
        strbuf_printf(t, "%d", d->probe_steps[q1 - 1]);
        for (int i = 0; i < n; i++) {
            double best = NAN;
            for (int q = q0; q < q1; q++) {
                double v = rundata_value(d, s, q, shown[i]);
                if (v > 0 && (isnan(best) || v > best)) best = v;
            }
            strbuf_append(t, " ");
            figure_number(t, best);
        }
        strbuf_append(t, "\n");
    }
}

/* The precursor's baseline band and its onset, as reference lines. */
static void culprit_band(const precursor *p, strbuf *body)
{
    double lo = p->baseline * pow(10.0, -p->band), hi = p->baseline * pow(10.0, p->band);
    strbuf_printf(body,
                  "set arrow 2 from graph 0, first %.6g to graph 1, first %.6g nohead dt 3 lw 1.5 lc rgb '#555555'\n"
                  "set arrow 3 from graph 0, first %.6g to graph 1, first %.6g nohead dt 3 lw 1.5 lc rgb '#555555'\n"
                  "set label 5 'baseline band of the culprit' at graph 0.01, first %.6g left offset 0,0.6 tc rgb "
                  "'#555555'\n",
                  lo, lo, hi, hi, hi);
    if (p->onset_step > 0)
        strbuf_printf(body,
                      "set arrow 4 from %d, graph 0 to %d, graph 1 nohead dt 3 lw 1.5 lc rgb '#555555'\n"
                      "set label 4 'left its band: step %d' at %d, graph 0.05 left offset 0.5,0 tc rgb '#555555'\n",
                      p->onset_step, p->onset_step, p->onset_step, p->onset_step);
}

static void culprit_body(const rundata *d, series_id s, int culprit, int n, const precursor *p, strbuf *body)
{
    char what[400], title[600], ylabel[200], label[200];
    plot_label(series_defs[s].label, label, sizeof label);
    snprintf(what, sizeof what, "%s of %s and its neighbours", label, d->layers[culprit].name);
    quoted_title(what, d, title, sizeof title);
    gnuplot_quote(label, ylabel, sizeof ylabel);
    strbuf_printf(body, "set title %s\nset xlabel 'step'\nset ylabel %s\nset logscale y\n"
                         "set format y '%%.0e'\nset key outside right top\n", /* off the band label */
                  title, ylabel);
    marker_nan(d, body);
    if (p) culprit_band(p, body);
    strbuf_append(body, "plot 'culprit.dat' using 1:2 with lines lw 3 lc rgb '#d62728' title columnheader(2)");
    if (n > 1)
        strbuf_printf(body, ", for [i=3:%d] 'culprit.dat' using 1:i with lines lw 1.5 title columnheader(i)", n + 1);
    strbuf_append(body, "\n");
}

/* The culprit's series with its neighbours', up to the first NaN. */
static void draw_culprit(const rundata *d, const precursor_ranking *r, figure_set *set)
{
    series_id s;
    int culprit, shown[5];
    const precursor *p;
    if (!choose_culprit(d, r, &s, &culprit, &p)) return;
    int n = culprit_neighbours(d, s, culprit, shown);
    const event_info *e = nan_event(d);
    int end = e ? e->step : d->probe_steps[d->probe_count - 1];
    int positive = 0;
    for (int q = 0; q < d->probe_count && d->probe_steps[q] <= end && !positive; q++)
        positive = rundata_value(d, s, q, culprit) > 0;
    if (!positive) return; /* nothing a log scale could show */
    char caption[1024];
    snprintf(caption, sizeof caption,
             "%s of the culprit layer %s (%s, thick red) and its neighbours in execution order, log scale%s.",
             series_defs[s].label, d->layers[culprit].name, d->layers[culprit].path,
             p ? "; dotted lines: its baseline band, the vertical dotted line: where it left the band for good" : "");
    figure *fig = figure_add(set, "culprit", 1200, 650, caption);
    if (!fig) return;
    strbuf table = {0};
    culprit_table(d, s, shown, n, end, &table);
    figure_add_data(fig, "culprit.dat", &table);
    culprit_body(d, s, culprit, n, p, &fig->body);
}

/* ------------------------------------------------------------ heat maps */

/* The cells of a heat map: log10 of the largest value per (step bin,
 * layer), NaN where nothing positive was logged. */
typedef struct heat_cells {
    int *layers, k;
    binning b;
    float *cells; /* cells[bin * k + j] */
    int finite;   /* how many cells hold a value */
} heat_cells;

static void heat_cells_free(heat_cells *h)
{
    free(h->layers);
    free(h->cells);
}

/* Computes the cells; h->k == 0 when no layer has series s. */
static int compute_heat_cells(const rundata *d, series_id s, heat_cells *h, error *err)
{
    memset(h, 0, sizeof *h);
    h->layers = malloc(sizeof *h->layers * (size_t)d->layer_count);
    if (!h->layers) return error_set(err, "out of memory");
    h->k = layers_with(d, s, h->layers);
    if (h->k == 0) return 0;
    const int k = h->k;
    h->b = binning_make(d, DRAW_RUN_HEAT_BINS);
    const size_t total = (size_t)h->b.bins * (size_t)k;
    h->cells = malloc(sizeof *h->cells * total);
    if (!h->cells) return error_set(err, "out of memory");
    for (size_t i = 0; i < total; i++) h->cells[i] = NAN;
    for (int q = 0; q < d->probe_count; q++) {
        int bin = bin_of(&h->b, d->probe_steps[q]);
        for (int j = 0; j < k; j++) {
            double v = rundata_value(d, s, q, h->layers[j]);
            if (!(v > 0) || !isfinite(v)) continue;
            float lv = (float)log10(v);
            float *cell = &h->cells[(size_t)bin * (size_t)k + (size_t)j];
            if (isnan(*cell) || lv > *cell) *cell = lv;
        }
    }
    for (size_t i = 0; i < total; i++) h->finite += !isnan(h->cells[i]);
    return 0;
}

/* BASE.dat: the cells. */
static void heat_cells_table(series_id s, const heat_cells *h, strbuf *t)
{
    strbuf_printf(t, "# step(bin centre) layer_position log10(%s, max over the bin)\n", series_defs[s].label);
    for (int bin = 0; bin < h->b.bins; bin++) {
        for (int j = 0; j < h->k; j++) {
            strbuf_printf(t, "%.6g %d ", bin_center(&h->b, bin), j);
            figure_number(t, h->cells[(size_t)bin * (size_t)h->k + (size_t)j]);
            strbuf_append(t, "\n");
        }
        strbuf_append(t, "\n");
    }
}

/* BASE_layers.dat: the row labels. */
static void heat_rows_table(const rundata *d, const heat_cells *h, strbuf *t)
{
    strbuf_append(t, "# layer_position keras_name\n");
    for (int j = 0; j < h->k; j++) {
        char label[80];
        gnuplot_data_label(d->layers[h->layers[j]].name, label, sizeof label);
        strbuf_printf(t, "%d %s\n", j, label);
    }
}

static void heat_body(const rundata *d, const heat_cells *h, const char *what, const char *cblabel,
                      const char *data, const char *labels, strbuf *body)
{
    char title[600], cb[200];
    quoted_title(what, d, title, sizeof title);
    gnuplot_quote(cblabel, cb, sizeof cb);
    double x0 = h->b.first - 0.5, x1 = h->b.first - 0.5 + h->b.bins * h->b.width;
    strbuf_printf(body,
                  "set title %s\nset xlabel 'step'\nset xrange [%.6g:%.6g]\nset yrange [%d.5:-0.5]\n"
                  "set cblabel %s\nset ytics scale 0 font ',%d'\nset grid noxtics noytics\nunset key\n",
                  title, x0, x1, h->k - 1, cb, h->k > 60 ? 7 : 9);
    marker_nan(d, body);
    strbuf_printf(body, "plot '%s' using 1:2:3 with image notitle, '%s' using (NaN):1:ytic(2) notitle\n", data,
                  labels);
}

/* A layer x step heat map of series s: compute the cells, then draw them. */
static int draw_heatmap(const rundata *d, series_id s, const char *base, const char *what, const char *cblabel,
                        figure_set *set, error *err)
{
    heat_cells h;
    int rc = compute_heat_cells(d, s, &h, err);
    /* An image of nothing stops gnuplot. */
    if (rc || h.k == 0 || h.finite == 0) {
        heat_cells_free(&h);
        return rc;
    }
    char data[96], labels[96];
    snprintf(data, sizeof data, "%s.dat", base);
    snprintf(labels, sizeof labels, "%s_layers.dat", base);
    int height = 180 + 11 * h.k;
    if (height < 500) height = 500;
    if (height > 1800) height = 1800;
    char caption[600];
    snprintf(caption, sizeof caption,
             "%s per layer (rows, in execution order, input at the top) and step (columns: %d bins of %.3g steps, "
             "the maximum of each bin), log10 colour scale; white: not logged or zero.",
             what, h.b.bins, h.b.width);
    figure *fig = figure_add(set, base, 1300, height, caption);
    if (fig) {
        strbuf table = {0};
        heat_cells_table(s, &h, &table);
        figure_add_data(fig, data, &table);
        heat_rows_table(d, &h, &table);
        figure_add_data(fig, labels, &table);
        heat_body(d, &h, what, cblabel, data, labels, &fig->body);
    }
    heat_cells_free(&h);
    return 0;
}

/* ------------------------------------------------------- per-layer lines */

/* One panel: series s of every layer that has it, geometric mean per step
 * bin, optionally divided by the layer's first logged value. */
typedef struct panel {
    series_id series;
    int relative;        /* divide by the first value */
    const char *title;   /* fixed text */
    const char *ylabel;  /* fixed text */
    double thresholds[2];/* horizontal reference lines (0 = none) */
    const char *threshold_labels[2];
    int highlight_max;   /* highlight the layer with the largest (1) or smallest (0) last value */
} panel;

/* The binned lines of a per-layer figure: lines[(j * 2 + panel) * bins +
 * bin] for the j-th of k layers, and per panel the layer to highlight. */
typedef struct layer_lines {
    int *layers, k;
    binning b;
    double *lines;
    int top[2], has[2];
} layer_lines;

static void layer_lines_free(layer_lines *ll)
{
    free(ll->layers);
    free(ll->lines);
}

static double *line_at(const layer_lines *ll, int j, int c)
{
    return &ll->lines[((size_t)j * 2 + (size_t)c) * (size_t)ll->b.bins];
}

/* The reference of a relative panel: the median of the first 9 values,
 * steadier than the first value alone. */
static double line_reference(const rundata *d, series_id s, int layer)
{
    double head[9];
    int heads = 0;
    for (int q = 0; q < d->probe_count && heads < 9; q++) {
        double v = rundata_value(d, s, q, layer);
        if (v > 0 && isfinite(v)) head[heads++] = v;
    }
    for (int a = 1; a < heads; a++)
        for (int b2 = a; b2 > 0 && head[b2 - 1] > head[b2]; b2--) {
            double t = head[b2];
            head[b2] = head[b2 - 1];
            head[b2 - 1] = t;
        }
    return heads ? head[heads / 2] : NAN;
}

/* One layer's line of one panel: the geometric mean of each step bin. */
static void bin_line(const rundata *d, const panel *pn, int layer, const binning *b, double *sum, int *count,
                     double *out)
{
    memset(sum, 0, sizeof *sum * (size_t)b->bins);
    memset(count, 0, sizeof *count * (size_t)b->bins);
    double first = line_reference(d, pn->series, layer);
    for (int q = 0; q < d->probe_count; q++) {
        double v = rundata_value(d, pn->series, q, layer);
        if (!(v > 0) || !isfinite(v)) continue;
        if (pn->relative) v /= first;
        int bin = bin_of(b, d->probe_steps[q]);
        sum[bin] += log10(v);
        count[bin]++;
    }
    for (int bin = 0; bin < b->bins; bin++) out[bin] = count[bin] ? pow(10.0, sum[bin] / count[bin]) : NAN;
}

/* The layer to highlight in each panel: by its last binned value; a panel
 * without any value is marked empty (gnuplot stops on an empty plot). */
static void choose_highlights(layer_lines *ll, const panel panels[2])
{
    const int bins = ll->b.bins;
    ll->top[0] = ll->top[1] = -1;
    ll->has[0] = ll->has[1] = 0;
    for (size_t i = 0; i < (size_t)bins * 2 * (size_t)ll->k; i++)
        if (!isnan(ll->lines[i])) ll->has[(i / (size_t)bins) % 2] = 1;
    for (int c = 0; c < 2; c++) {
        double best = NAN;
        for (int j = 0; j < ll->k; j++) {
            double last = NAN;
            for (int bin = bins - 1; bin >= 0 && isnan(last); bin--) last = line_at(ll, j, c)[bin];
            if (isnan(last)) continue;
            if (isnan(best) || (panels[c].highlight_max ? last > best : last < best)) best = last, ll->top[c] = j;
        }
    }
}

/* Computes the lines; ll->k == 0 when no layer has the first panel's series. */
static int compute_layer_lines(const rundata *d, const panel panels[2], layer_lines *ll, error *err)
{
    memset(ll, 0, sizeof *ll);
    ll->layers = malloc(sizeof *ll->layers * (size_t)d->layer_count);
    if (!ll->layers) return error_set(err, "out of memory");
    ll->k = layers_with(d, panels[0].series, ll->layers);
    if (ll->k == 0) return 0;
    ll->b = binning_make(d, DRAW_RUN_LINE_BINS);
    double *sum = malloc(sizeof *sum * (size_t)ll->b.bins * 2);
    int *count = malloc(sizeof *count * (size_t)ll->b.bins * 2);
    ll->lines = malloc(sizeof *ll->lines * (size_t)ll->b.bins * 2 * (size_t)ll->k);
    if (!sum || !count || !ll->lines) {
        free(sum), free(count);
        return error_set(err, "out of memory");
    }
    for (int j = 0; j < ll->k; j++)
        for (int c = 0; c < 2; c++) bin_line(d, &panels[c], ll->layers[j], &ll->b, sum, count, line_at(ll, j, c));
    free(sum), free(count);
    choose_highlights(ll, panels);
    return 0;
}

/* BASE.dat: one block per layer, both panels' columns. */
static void layer_lines_table(const rundata *d, const panel panels[2], const layer_lines *ll, strbuf *t)
{
    strbuf_printf(t, "# one block per layer (gnuplot index = block number): step(bin centre) %s%s %s%s "
               "layer_position\n",
            series_defs[panels[0].series].key, panels[0].relative ? "/first" : "",
            series_defs[panels[1].series].key, panels[1].relative ? "/first" : "");
    for (int j = 0; j < ll->k; j++) {
        char label[80];
        gnuplot_data_label(d->layers[ll->layers[j]].name, label, sizeof label);
        strbuf_printf(t, "# block %d: %s\n", j, label);
        for (int bin = 0; bin < ll->b.bins; bin++) {
            double a = line_at(ll, j, 0)[bin], c = line_at(ll, j, 1)[bin];
            if (isnan(a) && isnan(c)) continue;
            strbuf_printf(t, "%.6g ", bin_center(&ll->b, bin));
            figure_number(t, a);
            strbuf_append(t, " ");
            figure_number(t, c);
            strbuf_printf(t, " %d\n", ll->layers[j]);
        }
        strbuf_append(t, "\n\n");
    }
}

/* BASE_topC.dat: the highlighted layer of panel c. */
static void highlight_table(const rundata *d, const layer_lines *ll, int c, strbuf *t)
{
    char label[80];
    gnuplot_data_label(d->layers[ll->layers[ll->top[c]]].name, label, sizeof label);
    strbuf_printf(t, "step %s\n", label);
    for (int bin = 0; bin < ll->b.bins; bin++) {
        double v = line_at(ll, ll->top[c], c)[bin];
        if (isnan(v)) continue;
        strbuf_printf(t, "%.6g ", bin_center(&ll->b, bin));
        figure_number(t, v);
        strbuf_append(t, "\n");
    }
}

/* The smallest and largest value panel c plots (0, 0 when it has none). */
static void panel_range(const layer_lines *ll, int c, double *lo, double *hi)
{
    *lo = *hi = 0;
    for (int j = 0; j < ll->k; j++)
        for (int bin = 0; bin < ll->b.bins; bin++) {
            double v = line_at(ll, j, c)[bin];
            if (!(v > 0) || !isfinite(v)) continue;
            if (*lo == 0 || v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
}

/* The reference lines of a panel, labelled so that no label overlaps
 * another, a curve or the other panel: a threshold is drawn only when it
 * lies within a decade of the panel's data (gnuplot does not clip labels,
 * so one outside the range would be drawn over the neighbouring panel or
 * the axis), the y range is widened to hold the lines and their labels,
 * the upper label sits above its line and the lower one below its own, on
 * an opaque box, left of the first-NaN label in the top right corner. */
static void panel_thresholds(const panel *pn, int c, const layer_lines *ll, strbuf *body)
{
    double lo, hi;
    panel_range(ll, c, &lo, &hi);
    if (!(lo > 0)) return;
    int shown[2], n = 0;
    double bottom = lo, top = hi;
    for (int t = 0; t < 2; t++) {
        double v = pn->thresholds[t];
        shown[t] = v > 0 && v >= lo / 10 && v <= hi * 10;
        if (!shown[t]) continue;
        n++;
        if (v < bottom) bottom = v;
        if (v > top) top = v;
    }
    if (n == 0) return;
    /* a quarter of the span (at least a decade) of room above and below, for the labels */
    double pad = fmax(1.0, 0.25 * log10(top / bottom));
    strbuf_printf(body, "set yrange [%.6g:%.6g]\n", bottom / pow(10, pad), top * pow(10, pad));
    for (int t = 0; t < 2; t++) {
        double v = pn->thresholds[t], other = shown[1 - t] ? pn->thresholds[1 - t] : 0;
        if (!shown[t]) continue;
        int upper = !(other > v); /* the larger of the two (or the only one) goes above its line */
        strbuf_printf(body,
                      "set arrow %d from graph 0, first %.6g to graph 1, first %.6g nohead dt 2 lw 1.5 lc rgb "
                      "'#555555' front\nset label %d '%s' at graph 0.84, first %.6g right offset 0,%s tc rgb "
                      "'#444444' front boxed\n",
                      10 + t, v, v, 10 + t, pn->threshold_labels[t], v, upper ? "0.75" : "-0.75");
    }
}

static void layer_lines_panel_script(const rundata *d, const panel *pn, int c, const layer_lines *ll,
                                     const char *data, const char *top_data, strbuf *body)
{
    strbuf_printf(body, "unset arrow\nunset label\nset autoscale y\nset title '(%c) %s'\nset ylabel '%s'\n",
                  'a' + c, pn->title, pn->ylabel);
    marker_nan(d, body);
    panel_thresholds(pn, c, ll, body);
    if (!ll->has[c]) {
        strbuf_append(body, "set multiplot next\n");
        return;
    }
    int column = c == 0 ? 2 : 3;
    strbuf_printf(body, "plot for [i=0:%d] '%s' index i using 1:%d:4 with lines lc palette lw 1.2 notitle", ll->k - 1,
                  data, column);
    if (ll->top[c] >= 0)
        strbuf_printf(body, ", '%s' using 1:2 with lines lw 3.5 lc rgb 'black' title columnheader(2)", top_data);
    strbuf_append(body, "\n");
}

static void layer_lines_body(const rundata *d, const char *what, const panel panels[2], const layer_lines *ll,
                             const char *data, char top_data[2][96], strbuf *body)
{
    char title[600];
    quoted_title(what, d, title, sizeof title);
    strbuf_printf(body,
                  "set multiplot layout 2,1 title %s font ',13'\n"
                  "set xlabel 'step'\nset logscale y\nset format y '%%.0e'\n"
                  "set cbrange [0:%d]\nset cblabel 'layer position (execution order)'\nset key top left\n",
                  title, d->layer_count > 1 ? d->layer_count - 1 : 1);
    for (int c = 0; c < 2; c++) layer_lines_panel_script(d, &panels[c], c, ll, data, top_data[c], body);
    strbuf_append(body, "unset multiplot\n");
}

/* Two panels of per-layer lines: compute the lines, then draw them. */
static int draw_layer_lines(const rundata *d, const char *base, const char *what, const panel panels[2],
                            const char *caption, figure_set *set, error *err)
{
    layer_lines ll;
    int rc = compute_layer_lines(d, panels, &ll, err);
    if (rc || ll.k == 0) {
        layer_lines_free(&ll);
        return rc;
    }
    char data[96], top_data[2][96];
    snprintf(data, sizeof data, "%s.dat", base);
    for (int c = 0; c < 2; c++) snprintf(top_data[c], sizeof top_data[c], "%s_top%d.dat", base, c + 1);
    figure *fig = figure_add(set, base, 1200, 1000, caption);
    if (fig) {
        strbuf table = {0};
        layer_lines_table(d, panels, &ll, &table);
        figure_add_data(fig, data, &table);
        for (int c = 0; c < 2; c++)
            if (ll.top[c] >= 0) {
                highlight_table(d, &ll, c, &table);
                figure_add_data(fig, top_data[c], &table);
            }
        layer_lines_body(d, what, panels, &ll, data, top_data, &fig->body);
    }
    layer_lines_free(&ll);
    return 0;
}

static int draw_weights(const rundata *d, figure_set *set, error *err)
{
    if (!d->series[SERIES_KERNEL_NORM]) return 0;
    panel panels[2] = {
        {SERIES_KERNEL_NORM, 1, "kernel L2 norm relative to its start", "||w|| / ||w(start)||",
         {0, 0}, {"", ""}, 0},
        {SERIES_UPDATE_RATIO, 0, "update/weight ratio", "||update|| / ||w||", {1e-2, 1e-7},
         {"1e-2: large", "1e-7: unchanged"}, 1},
    };
    char caption[600];
    snprintf(caption, sizeof caption,
             "(a) Kernel L2 norm of every Conv3D/Dense layer relative to its start (median of its first 9 logged "
             "values; L2 = %g): kernels "
             "that feed BatchNorm are scale-invariant, so L2 shrinks them and raises their effective learning rate "
             "(~1/||w||^2). (b) Update/weight ratio per layer. Colour: layer position; thick black: the most-shrunk "
             "kernel in (a), the largest ratio in (b). Geometric mean per bin of %d.",
             d->run.l2, DRAW_RUN_LINE_BINS);
    return draw_layer_lines(d, "weights", "Kernel norms and update/weight ratios", panels, caption, set, err);
}

static int draw_batchnorm(const rundata *d, figure_set *set, error *err)
{
    if (!d->series[SERIES_BN_MIN_VARIANCE]) return 0;
    panel panels[2] = {
        {SERIES_BN_MIN_VARIANCE, 0, "smallest channel batch variance", "min over channels of the batch variance",
         {1e-3, 1e-5}, {"epsilon 1e-3", "1e-5: collapse"}, 0},
        /* gnuplot_quote keeps no '^' (it would read "mean_2"): spelled out */
        {SERIES_BN_MAX_MEAN2_OVER_VAR, 0, "largest channel squared mean / variance (one-pass cancellation factor)",
         "max over channels of squared mean / variance", {1e5, 1e7}, {"1e5: 1% one-pass error", "1e7: variance can go negative"},
         1},
    };
    return draw_layer_lines(
        d, "batchnorm", "BatchNorm batch statistics", panels,
        "(a) Smallest per-channel batch variance of every BatchNormalization layer; (b) largest mean^2/variance, the "
        "cancellation factor of a one-pass float32 variance. Colour: layer position; thick black: the smallest "
        "variance in (a), the largest ratio in (b).",
        set, err);
}

/* ------------------------------------------------------------- headroom */

static int tensor_category(const char *name)
{
    if (strcmp(name, "output") == 0) return 0;
    size_t n = strlen(name);
    if (strcmp(name, "output_grad") == 0 || (n > 5 && strcmp(name + n - 5, ".grad") == 0) ||
        (n > 8 && strcmp(name + n - 8, ".l2_grad") == 0))
        return 1;
    return 2;
}

/* headroom.dat: per layer, the largest |x| of each category; has[c] says
 * whether category c has any value. */
static void headroom_table(const rundata *d, int has[3], strbuf *t)
{
    strbuf_append(t, "# layer_position max|activation| max|gradient| max|parameter,optimizer,BN state| keras_name\n");
    has[0] = has[1] = has[2] = 0;
    for (int l = 0; l < d->layer_count; l++) {
        double best[3] = {NAN, NAN, NAN};
        for (int k = 0; k < d->tensor_count; k++) {
            const tensor_extreme *x = &d->extremes[(size_t)l * (size_t)d->tensor_count + (size_t)k];
            if (!x->absmax_step || !(x->absmax > 0)) continue;
            int c = tensor_category(d->tensor_names[k]);
            if (isnan(best[c]) || x->absmax > best[c]) best[c] = x->absmax;
        }
        char label[80];
        gnuplot_data_label(d->layers[l].name, label, sizeof label);
        strbuf_printf(t, "%d ", l);
        for (int c = 0; c < 3; c++) {
            has[c] |= !isnan(best[c]);
            figure_number(t, best[c]);
            strbuf_append(t, " ");
        }
        strbuf_printf(t, "%s\n", label);
    }
}

static void headroom_body(const rundata *d, const int has[3], strbuf *body)
{
    char title[600];
    quoted_title("Overflow headroom per layer", d, title, sizeof title);
    strbuf_printf(body,
                  "set title %s\nset ylabel 'largest |x| over the run'\nset logscale y\nset format y '%%.0e'\n"
                  "set yrange [*:1e40]\nset xrange [-1:%d]\nset xtics rotate by 90 right font ',%d' scale 0\n"
                  "set key at graph 0.99, graph 0.88 right top\n"
                  "set arrow 1 from graph 0, first %.6g to graph 1, first %.6g nohead lw 2 lc rgb '#d62728' front\n"
                  "set label 1 'FLT_MAX' at graph 0.99, first %.6g right offset 0,0.7 tc rgb '#d62728' front\n"
                  "set arrow 2 from graph 0, first %.6g to graph 1, first %.6g nohead dt 2 lw 1.5 lc rgb '#d62728' "
                  "front\n"
                  "set label 2 'sqrt(FLT_MAX): squares overflow' at graph 0.99, first %.6g right offset 0,0.7 tc rgb "
                  "'#d62728' front\n",
                  title, d->layer_count, d->layer_count > 60 ? 7 : 9, (double)FLT_MAX, (double)FLT_MAX,
                  (double)FLT_MAX, sqrt((double)FLT_MAX), sqrt((double)FLT_MAX), sqrt((double)FLT_MAX));
    static const char *const elements[3] = {"using 1:2:xtic(5) with points pt 7 ps 1 title 'activations'",
                                            "using 1:3:xtic(5) with points pt 5 ps 0.9 title 'gradients'",
                                            "using 1:4:xtic(5) with points pt 9 ps 1.1 title 'parameters and state'"};
    const char *sep = "plot ";
    for (int c = 0; c < 3; c++)
        if (has[c]) {
            strbuf_printf(body, "%s'headroom.dat' %s", sep, elements[c]);
            sep = ", ";
        }
    strbuf_append(body, "\n");
}

static void draw_headroom(const rundata *d, figure_set *set)
{
    if (!d->extremes || d->tensor_count == 0) return;
    int has[3];
    strbuf table = {0};
    headroom_table(d, has, &table);
    int width = 300 + 11 * d->layer_count;
    if (width < 1200) width = 1200;
    if (width > 2400) width = 2400;
    figure *fig = has[0] || has[1] || has[2]
                      ? figure_add(set, "headroom", width, 700,
                                   "Largest finite |x| each layer reached over the run, for activations, gradients "
                                   "(output_grad and parameter gradients) and parameters with their optimizer and BN "
                                   "state, against float32's largest value FLT_MAX and its square root (where "
                                   "squaring overflows).")
                      : NULL;
    if (!fig) {
        strbuf_free(&table);
        return;
    }
    figure_add_data(fig, "headroom.dat", &table);
    headroom_body(d, has, &fig->body);
}

/* ------------------------------------------------------------------ all */

int draw_run(const rundata *d, const precursor_ranking *ranking, figure_set *set, error *err)
{
    draw_loss(d, set);
    if (d->probe_count == 0) return 0;
    draw_culprit(d, ranking, set);
    if (draw_heatmap(d, SERIES_ACT_ABSMAX, "heat_activation", "Activation absmax",
                     "log10 activation absmax (max per bin)", set, err))
        return -1;
    if (draw_heatmap(d, SERIES_GRAD_NORM, "heat_gradient", "Output-gradient norm",
                     "log10 gradient L2 norm (max per bin)", set, err))
        return -1;
    if (draw_weights(d, set, err)) return -1;
    if (draw_batchnorm(d, set, err)) return -1;
    draw_headroom(d, set);
    return 0;
}
