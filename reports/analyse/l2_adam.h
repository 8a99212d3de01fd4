/* l2_adam.h: the L2 x Adam evidence in one run's verdict (issue 23).
 *
 * A kernel shows the mechanism MECHANISM_L2_ADAM when, over the last
 * probes before the end, its data taps have shrunk to <= 1/2 of their first
 * probed norm while |2 lambda w_i| > |g_i| holds on at least half of their
 * coordinates (Adam acts per coordinate).  Taps that only meet 'same'
 * padding are left out: their collapse is harmless. */
#ifndef NANPROBE_L2_ADAM_H
#define NANPROBE_L2_ADAM_H

#include "read_run.h"
#include "strbuf.h"

/* Appends one "L2 x Adam: ..." line naming the kernel that shows the
 * mechanism most, over the probes before end_step; nothing when none does
 * (or the run has no tap metrics).  Needs SERIES_DATA_NORM,
 * SERIES_L2_DOMINANT_FRACTION and SERIES_DATA_UPDATE_RATIO loaded. */
void l2_adam_evidence(const rundata *d, int end_step, strbuf *out);

#endif
