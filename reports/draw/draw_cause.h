/* draw_cause.h: draw stage, the culprit figure drawn along the causal chain:
 * each link's statistic over the window on one log axis, root first, with
 * the step where the link left its band marked on its curve; a curve
 * identical to another (an Add whose output is one of its inputs, say) is
 * drawn once with both names in its legend. */
#ifndef NANPROBE_DRAW_CAUSE_H
#define NANPROBE_DRAW_CAUSE_H

#include "cause.h"
#include "figure.h"

#define DRAW_CAUSE_POINTS 256

/* One link's statistic over the last DRAW_CAUSE_POINTS probed steps up to
 * the NaN, as the load stage reads it (cause_link_series). */
typedef struct chain_curve {
    int n;
    int steps[DRAW_CAUSE_POINTS];
    double values[DRAW_CAUSE_POINTS];
} chain_curve;

/* curves[i] belongs to the trace's chain.links[i]. */
typedef struct chain_series {
    chain_curve curves[CAUSE_MAX_LINKS];
} chain_series;

/* Adds the figure "culprit" for the chain of t to set (replacing an entry
 * of that name), from the curves loaded for it.  Does nothing for a trace
 * without a chain; opens no file. */
void draw_cause(const rundata *d, const cause_trace *t, const chain_series *series, figure_set *set);

#endif
