/* precursor.h: which statistic of which layer departed first and furthest
 * from its own history before a NaN (or, in a healthy run, before the end).
 *
 * Method, per (layer, statistic) series x over the probed steps before the
 * end step, in decades (log10 |x|, values <= 0 floored at 1e-30):
 *   baseline  median of the first quarter of the points (at least 4);
 *   band      max(log10 3, 3 x 1.4826 x MAD of those points) around it;
 *   peak      the point after the baseline window furthest from the
 *             baseline (either direction): departure D in decades;
 *   onset     the first step of the out-of-band excursion (same side as the
 *             peak) that contains the peak, tolerating 2 + n/100 points
 *             back inside the band;
 *   excess    |D| - band (> 0 makes it a candidate);
 *   score     excess x (1 + lead / window), lead = end - onset, window =
 *             end - first step after the baseline window.
 * Magnitude dominates; an early onset can at most double a score.  The
 * update/weight ratio is divided by the step's learning rate first, so a
 * scheduled learning-rate drop is not a departure. */
#ifndef NANPROBE_PRECURSOR_H
#define NANPROBE_PRECURSOR_H

#include "error.h"
#include "read_run.h"

/* Series the ranking looks at (a subset of the rundata catalog). */
#define PRECURSOR_SERIES                                                                                    \
    (SERIES_BIT(SERIES_ACT_ABSMAX) | SERIES_BIT(SERIES_GRAD_ABSMAX) | SERIES_BIT(SERIES_GRAD_NORM) |        \
     SERIES_BIT(SERIES_KERNEL_NORM) | SERIES_BIT(SERIES_KERNEL_GRAD_NORM) | SERIES_BIT(SERIES_UPDATE_RATIO) | \
     SERIES_BIT(SERIES_BN_MIN_VARIANCE) | SERIES_BIT(SERIES_BN_MAX_VARIANCE) |                               \
     SERIES_BIT(SERIES_BN_MAX_MEAN2_OVER_VAR) |                                                             \
     SERIES_BIT(SERIES_BN_MAX_GAMMA_OVER_STD))

/* A departure counts as a precursor in the verdict from 10x (one decade). */
#define PRECURSOR_MIN_DECADES 1.0

typedef struct precursor {
    series_id series;
    int layer;              /* index into rundata.layers */
    int points;             /* finite points analysed */
    double baseline;        /* median of the baseline window, in the series' units */
    double band;            /* decades */
    double departure;       /* signed decades at the peak */
    double peak_value;
    int peak_step;
    int onset_step;         /* 0 when never out of band */
    double last_value;      /* the last point before the end step */
    int last_step;
    double excess;          /* |departure| - band, decades */
    double score;           /* 0 for non-candidates */
} precursor;

typedef struct precursor_ranking {
    precursor *items; /* every analysed series, best score first */
    int count;
    int candidates;   /* items with excess > 0 (they come first) */
    int end_step;     /* analysis covers probed steps < end_step */
} precursor_ranking;

int precursor_rank(const rundata *d, int end_step, precursor_ranking *out, error *err);
void precursor_free(precursor_ranking *r);

/* The largest |departure| among series of layers other than `layer`
 * (NULL when there is none). */
const precursor *precursor_largest_elsewhere(const precursor_ranking *r, int layer);

/* "gradient absmax" etc.; the update ratio reads "update/weight ratio per unit lr". */
const char *precursor_label(series_id s);

#endif
