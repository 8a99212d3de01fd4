/* causeplot.h: the culprit figure drawn along the causal chain: each link's
 * statistic over the window on one log axis, root first, with the step
 * where the link left its band marked on its curve; a curve identical to
 * another (an Add whose output is one of its inputs, say) is drawn once
 * with both names in its legend. */
#ifndef NANPROBE_CAUSEPLOT_H
#define NANPROBE_CAUSEPLOT_H

#include "cause.h"
#include "figure.h"

/* Writes culprit.dat and culprit.gp for the chain of t and registers the
 * figure "culprit" in set (replacing an entry of that name).  Does nothing
 * for a trace without a chain. */
int causeplot_write(const char *dir, const rundata *d, const cause_trace *t, figure_set *set, error *err);

#endif
