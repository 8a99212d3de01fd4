/* draw_cause.c: draw stage, the culprit figure along the causal chain (see
 * draw_cause.h). */
#include "draw_cause.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gnuplot.h"
#include "strbuf.h"

typedef struct curve {
    int link; /* index in the chain */
    const chain_curve *points;
    char label[200];
} curve;

/* Equal to float32 precision at every step: the same curve. */
static int curves_equal(const chain_curve *a, const chain_curve *b)
{
    if (a->n != b->n || a->n == 0) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->steps[i] != b->steps[i] || fabs(a->values[i] - b->values[i]) > 1e-6 * fabs(a->values[i])) return 0;
    return 1;
}

/* Each link's curve, root first, merging identical ones; returns the count. */
static int chain_curves(const rundata *d, const cause_trace *t, const chain_series *series, curve *curves)
{
    int count = 0;
    for (int i = t->chain.count - 1; i >= 0; i--) {
        const cause_link *k = &t->chain.links[i];
        curve *c = &curves[count];
        c->link = i;
        c->points = &series->curves[i];
        char name[128], tensor[64];
        gnuplot_data_label(d->layers[k->layer].name, name, sizeof name);
        gnuplot_data_label(k->tensor, tensor, sizeof tensor);
        snprintf(c->label, sizeof c->label, "%s.%s", name, tensor);
        int merged = 0;
        for (int j = 0; j < count && !merged; j++)
            if (curves_equal(curves[j].points, c->points)) {
                char both[sizeof c->label];
                snprintf(both, sizeof both, "%.99s=%.99s", curves[j].label, c->label);
                memcpy(curves[j].label, both, sizeof both);
                merged = 1;
            }
        if (!merged && c->points->n > 0) count++;
    }
    return count;
}

static void curves_table(const curve *curves, int count, strbuf *t)
{
    /* one block per curve (gnuplot index i), a title line first */
    for (int c = 0; c < count; c++) {
        const chain_curve *p = curves[c].points;
        strbuf_printf(t, "%s%s\n", c ? "\n\n" : "", curves[c].label);
        for (int i = 0; i < p->n; i++) {
            strbuf_printf(t, "%d ", p->steps[i]);
            figure_number(t, p->values[i] > 0 ? p->values[i] : NAN);
            strbuf_append(t, "\n");
        }
    }
}

/* The onset marks: a point on each curve where its link left its band. */
static void append_marks(const cause_trace *t, const curve *curves, int count, strbuf *body)
{
    for (int c = 0; c < count; c++) {
        const cause_link *k = &t->chain.links[curves[c].link];
        int mark = k->role == CAUSE_ROLE_ROOT && strcmp(k->tensor, "kernel.update") == 0 ? k->step : k->onset_step;
        const chain_curve *p = curves[c].points;
        for (int i = 0; i < p->n; i++)
            if (p->steps[i] == mark && p->values[i] > 0)
                strbuf_printf(body,
                              "set object %d circle at %d, %.6g size screen 0.008 fc rgb '#000000' fs solid front\n",
                              10 + c, mark, p->values[i]);
    }
}

static void chain_body(const cause_trace *t, const curve *curves, int count, strbuf *body)
{
    char title[300];
    gnuplot_quote("Causal chain: the statistic of each link, root first", title, sizeof title);
    /* the key goes outside the plot, so it covers no curve or label */
    strbuf_printf(body,
                  "set title %s\nset xlabel 'step'\nset ylabel 'statistic of the link (absmax, or L2 norm for "
                  "kernels)'\nset logscale y\nset format y '%%.0e'\nset key outside right top\n"
                  "set arrow 1 from %d, graph 0 to %d, graph 1 nohead lc rgb '#d62728' dt 2 lw 2 front\n",
                  title, t->nan_step, t->nan_step);
    append_marks(t, curves, count, body);
    strbuf_printf(body,
                  "plot for [i=0:%d] 'culprit.dat' index i using 1:2 with linespoints pt 7 ps 0.5 lw 2 "
                  "title columnheader(1)\n",
                  count - 1);
}

void draw_cause(const rundata *d, const cause_trace *t, const chain_series *series, figure_set *set)
{
    if (t->klass == MECHANISM_NONE || t->chain.count == 0) return;
    curve curves[CAUSE_MAX_LINKS];
    int count = chain_curves(d, t, series, curves);
    if (count == 0) return;
    char caption[1024];
    snprintf(caption, sizeof caption,
             "The causal chain, root first (%s): each link's statistic over the last steps before the NaN, log "
             "scale; a dot marks where the link left its band (for an update, the step of the jump); identical "
             "curves are drawn once, their names joined by '='; the dashed red line is the first NaN.",
             mechanism_defs[t->klass].title);
    figure *fig = figure_add(set, "culprit", 1200, 650, caption);
    if (!fig) return;
    strbuf table = {0};
    curves_table(curves, count, &table);
    figure_add_data(fig, "culprit.dat", &table);
    chain_body(t, curves, count, &fig->body);
}
