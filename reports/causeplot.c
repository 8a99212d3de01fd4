/* causeplot.c: the culprit figure along the causal chain (see causeplot.h). */
#include "causeplot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gnuplot.h"
#include "strbuf.h"

#define PLOT_POINTS 256

typedef struct curve {
    int link;      /* index in the chain */
    int n;
    int steps[PLOT_POINTS];
    double values[PLOT_POINTS];
    char label[200];
} curve;

/* Equal to float32 precision at every step: the same curve. */
static int curves_equal(const curve *a, const curve *b)
{
    if (a->n != b->n || a->n == 0) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->steps[i] != b->steps[i] || fabs(a->values[i] - b->values[i]) > 1e-6 * fabs(a->values[i])) return 0;
    return 1;
}

/* Loads each link's curve, merging identical ones; returns the count. */
static int load_curves(const rundata *d, const cause_trace *t, curve *curves, error *err)
{
    int count = 0;
    for (int i = t->chain.count - 1; i >= 0; i--) {
        const cause_link *k = &t->chain.links[i];
        curve *c = &curves[count];
        c->link = i;
        c->n = cause_link_series(d, t, k, c->steps, c->values, PLOT_POINTS, err);
        if (c->n < 0) return -1;
        char name[128], tensor[64];
        gnuplot_data_label(d->layers[k->layer].name, name, sizeof name);
        gnuplot_data_label(k->tensor, tensor, sizeof tensor);
        snprintf(c->label, sizeof c->label, "%s.%s", name, tensor);
        int merged = 0;
        for (int j = 0; j < count && !merged; j++)
            if (curves_equal(&curves[j], c)) {
                char both[sizeof c->label];
                snprintf(both, sizeof both, "%.99s=%.99s", curves[j].label, c->label);
                memcpy(curves[j].label, both, sizeof both);
                merged = 1;
            }
        if (!merged && c->n > 0) count++;
    }
    return count;
}

static int write_data(const char *dir, const curve *curves, int count, error *err)
{
    FILE *f = figure_data_open(dir, "culprit.dat", err);
    if (!f) return -1;
    /* one block per curve (gnuplot index i), a title line first */
    for (int c = 0; c < count; c++) {
        fprintf(f, "%s%s\n", c ? "\n\n" : "", curves[c].label);
        for (int i = 0; i < curves[c].n; i++) {
            fprintf(f, "%d ", curves[c].steps[i]);
            figure_number(f, curves[c].values[i] > 0 ? curves[c].values[i] : NAN);
            fputc('\n', f);
        }
    }
    return figure_data_close(f, dir, "culprit.dat", err);
}

/* The onset marks: a point on each curve where its link left its band. */
static void append_marks(const cause_trace *t, const curve *curves, int count, strbuf *body)
{
    for (int c = 0; c < count; c++) {
        const cause_link *k = &t->chain.links[curves[c].link];
        int mark = k->role == CAUSE_ROLE_ROOT && strcmp(k->tensor, "kernel.update") == 0 ? k->step : k->onset_step;
        for (int i = 0; i < curves[c].n; i++)
            if (curves[c].steps[i] == mark && curves[c].values[i] > 0)
                strbuf_printf(body,
                              "set object %d circle at %d, %.6g size screen 0.008 fc rgb '#000000' fs solid front\n",
                              10 + c, mark, curves[c].values[i]);
    }
}

int causeplot_write(const char *dir, const rundata *d, const cause_trace *t, figure_set *set, error *err)
{
    if (t->klass == MECHANISM_NONE || t->chain.count == 0) return 0;
    curve curves[CAUSE_MAX_LINKS];
    int count = load_curves(d, t, curves, err);
    if (count < 0) return -1;
    if (count == 0) return 0;
    if (write_data(dir, curves, count, err)) return -1;
    char caption[1024];
    snprintf(caption, sizeof caption,
             "The causal chain, root first (%s): each link's statistic over the last steps before the NaN, log "
             "scale; a dot marks where the link left its band (for an update, the step of the jump); identical "
             "curves are drawn once, their names joined by '='; the dashed red line is the first NaN.",
             mechanism_defs[t->klass].title);
    figure *fig = NULL;
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->items[i].base, "culprit") == 0) {
            fig = &set->items[i];
            memset(fig, 0, sizeof *fig);
            snprintf(fig->base, sizeof fig->base, "culprit");
            snprintf(fig->caption, sizeof fig->caption, "%s", caption);
            fig->width = 1200, fig->height = 650;
        }
    if (!fig) fig = figure_add(set, "culprit", 1200, 650, caption);
    if (!fig) return 0;
    figure_add_data(fig, "culprit.dat");
    strbuf body = {0};
    char title[300];
    gnuplot_quote("Causal chain: the statistic of each link, root first", title, sizeof title);
    /* the key goes outside the plot, so it covers no curve or label */
    strbuf_printf(&body,
                  "set title %s\nset xlabel 'step'\nset ylabel 'statistic of the link (absmax, or L2 norm for "
                  "kernels)'\nset logscale y\nset format y '%%.0e'\nset key outside right top\n"
                  "set arrow 1 from %d, graph 0 to %d, graph 1 nohead lc rgb '#d62728' dt 2 lw 2 front\n",
                  title, t->nan_step, t->nan_step);
    append_marks(t, curves, count, &body);
    strbuf_printf(&body,
                  "plot for [i=0:%d] 'culprit.dat' index i using 1:2 with linespoints pt 7 ps 0.5 lw 2 "
                  "title columnheader(1)\n",
                  count - 1);
    int rc = body.failed ? error_set(err, "out of memory") : figure_write_script(dir, fig, strbuf_text(&body), err);
    strbuf_free(&body);
    return rc;
}
