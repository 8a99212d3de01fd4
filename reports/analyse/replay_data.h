/* replay_data.h: what the shadow replays say over time: how far the
 * float32 error of each (layer, tensor) grew over the run.  The replays
 * themselves are loaded by src/rundb/read_replay.h. */
#ifndef NANPROBE_REPLAY_DATA_H
#define NANPROBE_REPLAY_DATA_H

#include "read_replay.h"

/* How far one shadow series' float32 error grew: from the median of its
 * first quarter of points (baseline) to its last point, in decades. */
typedef struct replay_growth {
    int series;
    double baseline, last, decades;
    int first_step, last_step, points;
} replay_growth;

/* The up to max series that grew most (at least 2 finite positive points
 * each), largest growth first; returns how many. */
int replay_shadow_growth(const replay_shadow *s, replay_growth *out, int max);

/* A float32 error that grew by this many decades is a precursor. */
#define REPLAY_SHADOW_RISE_DECADES 2.0

#endif
