/* replay_text.h: the verdict's lines about a replay of the failing step
 * (replay_data.h), in plain words:
 *   "Not reproducible: replaying step 30 ..." opens the verdict, before the
 *     Cause line: a NaN that does not recur is not the model's;
 *   "Precision: real divergence | float32 artefact | the maths itself: ..."
 *     follows the Cause / Path / Fix lines;
 *   "Precision precursor: the float32 error of X's T grew from A to B over
 *     N steps" when a shadow series rose by REPLAY_SHADOW_RISE_DECADES. */
#ifndef NANPROBE_REPLAY_TEXT_H
#define NANPROBE_REPLAY_TEXT_H

#include "read_run.h"
#include "replay_data.h"
#include "strbuf.h"

/* The not_reproducible line (nothing for other findings). */
void replay_text_first(const rundata *d, strbuf *out);
/* The Precision line of the 'nan' replay (nothing without one, or when it
 * was not reproducible). */
void replay_text_precision(const rundata *d, strbuf *out);
/* The not_reproducible or Precision line of any replay. */
void replay_text_finding(const rundata *d, const replay_info *x, strbuf *out);
/* The rising shadow error line (nothing when no series rose enough). */
void replay_text_shadow(const rundata *d, strbuf *out);
/* "1.2e+45", "NaN", "+inf", "-inf". */
void replay_text_number(double v, char *out, size_t size);

#endif
