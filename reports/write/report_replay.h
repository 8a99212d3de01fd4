/* report_replay.h: the report's "Replay" section (the replays of
 * replay_data.h): for each replay of the failing step (or `nanprobe
 * replay`), its finding, the float32 rerun (reproduced or not, layers
 * bit-identical), the float64 value and largest |x|, the terms that made
 * the origin element with links to its .npy slices, and the float32 vs
 * float64 error of the worst tensors and the cause chain's links; for
 * shadow replays (--shadow-every) the series whose float32 error grew most,
 * and their figure (replay_shadow). */
#ifndef NANPROBE_REPORT_REPLAY_H
#define NANPROBE_REPORT_REPLAY_H

#include <stdio.h>

#include "cause.h"
#include "error.h"
#include "figure.h"
#include "read_run.h"

/* Series in the shadow figure and table. */
#define REPORT_REPLAY_SHADOW_SERIES 5

/* Draw stage: adds the figure replay_shadow to set; nothing without shadow
 * replays of at least two steps.  Opens no file. */
void report_replay_draw(const rundata *d, figure_set *set);

/* Writes the section (nothing when the run has no replay).  The .npy
 * slices named by a replay are copied from the run directory (the
 * database's) into dir, after checking that the name stays inside it and
 * the file is a small NumPy file.  trace (may be NULL): the cause chain,
 * whose links are marked in the tensor table of a replay of its step when
 * the rows do not carry chain_position themselves. */
void report_replay_section(FILE *f, const char *dir, const char *db_path, const rundata *d,
                           const cause_trace *trace);

#endif
