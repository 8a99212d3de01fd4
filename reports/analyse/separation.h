/* separation.h: the comparison verdict of ablation arms: which arms failed,
 * when and in which pass, and which statistics separate one setting from
 * the others beyond the spread between seeds of the same setting.
 *
 * Arms that share every setting but the seed are one setting, their
 * seeds; the spread between them (log10 max - min at each probed step, its
 * 90th percentile) is the noise band a gap must clear.  Without two seeds
 * of a setting the band is assumed (a factor of 2) and the verdict says so.
 * A (layer, statistic) separates setting F from setting G when, from its
 * onset step on, at least 80 % of the common probed steps have every seed
 * of F on one side of every seed of G with the gap of the means beyond the
 * band.  A statistic separates F from the others when it separates F from
 * every other setting where it exists; one that separates F from some
 * settings only is reported as the effect of the setting F shares with the
 * rest ("larger in both he_normal arms: an init effect").
 *
 * The analysis computes only; compare.c writes it out. */
#ifndef NANPROBE_SEPARATION_H
#define NANPROBE_SEPARATION_H

#include "error.h"
#include "read_run.h"
#include "strbuf.h"

/* The series the analysis reads (a mask for rundata_load). */
#define SEPARATION_SERIES                                                                                       \
    (SERIES_BIT(SERIES_ACT_ABSMAX) | SERIES_BIT(SERIES_GRAD_NORM) | SERIES_BIT(SERIES_KERNEL_NORM) |             \
     SERIES_BIT(SERIES_UPDATE_RATIO) | SERIES_BIT(SERIES_L2_GRAD_RATIO) | SERIES_BIT(SERIES_BN_MIN_VARIANCE) |   \
     SERIES_BIT(SERIES_BN_MAX_MEAN2_OVER_VAR) | SERIES_BIT(SERIES_DATA_NORM) | SERIES_BIT(SERIES_PADDING_NORM) | \
     SERIES_BIT(SERIES_DATA_UPDATE_RATIO) | SERIES_BIT(SERIES_DATA_ANGLE) |                                      \
     SERIES_BIT(SERIES_DATA_L2_GRAD_RATIO) | SERIES_BIT(SERIES_L2_DOMINANT_FRACTION) |                           \
     SERIES_BIT(SERIES_BN_MAX_VAR_RATIO) | SERIES_BIT(SERIES_BN_MIN_VAR_RATIO) |                                 \
     SERIES_BIT(SERIES_BN_MAX_MEAN_SHIFT))

/* Writes the verdict (plain text, lines ending in '\n') of runs[0..count)
 * labelled labels[i] (compare.c's "init=... l2=... lr=...") into out. */
int separation_verdict(const rundata *const *runs, const char *const *labels, int count, strbuf *out, error *err);

#endif
