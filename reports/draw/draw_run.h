/* draw_run.h: draw stage, the figures of a single-run report, computed
 * into a figure_set (write_figure.c writes and renders them):
 *   loss            loss per step, val_loss per epoch, learning rate (right
 *                   axis), first NaN marked
 *   culprit         the precursor statistic of the culprit layer and its
 *                   neighbours, log scale, with its baseline band
 *   heat_activation layers x steps, log10 activation absmax (max per bin)
 *   heat_gradient   layers x steps, log10 output-gradient norm (max per bin)
 *   weights         kernel norm relative to its first value, and the
 *                   update/weight ratio, per layer
 *   batchnorm       BN minimum batch variance and max mean^2/variance per
 *                   BN layer
 *   headroom        per layer, the largest |x| of activations, gradients and
 *                   parameters/optimizer state against FLT_MAX */
#ifndef NANPROBE_DRAW_RUN_H
#define NANPROBE_DRAW_RUN_H

#include "error.h"
#include "figure.h"
#include "precursor.h"
#include "read_run.h"

/* Heat maps and per-layer lines are cut into at most this many step bins. */
#define DRAW_RUN_HEAT_BINS 500
#define DRAW_RUN_LINE_BINS 800
/* The culprit figure shows every probe up to this many, then maxima of bins. */
#define DRAW_RUN_CULPRIT_POINTS 2000

/* Adds the figures the run has data for to set; opens no file.  -1 only
 * when out of memory. */
int draw_run(const rundata *d, const precursor_ranking *ranking, figure_set *set, error *err);

#endif
