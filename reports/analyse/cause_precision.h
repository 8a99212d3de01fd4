/* cause_precision.h: the precision mechanisms of a causal verdict.
 *
 * After the trace (cause.h), the run's precision facts (read_precision.h)
 * may say precision is what failed:
 *   - mixed_float16, the origin a layer output that went inf in the forward
 *     pass, and float32 not failing at that step (the ladder, when it ran):
 *     float16 overflow, with the value float64 gives past 65504;
 *   - tf32 / mixed_bfloat16 / mixed_float16 with a ladder whose float32 rung
 *     held: reduced-precision cancellation, or float16 underflow when the
 *     float16 rung lost all digits of a gradient first;
 *   - --bn-variance one_pass, the origin a BatchNorm, a negative one-pass
 *     variance recorded by then: BatchNorm cancellation, said so.
 * A run with no NaN whose last steps were all skipped at the floor of the
 * loss scale is a loss-scale collapse (cause_precision_collapse). */
#ifndef NANPROBE_CAUSE_PRECISION_H
#define NANPROBE_CAUSE_PRECISION_H

#include "cause.h"
#include "strbuf.h"

/* Steps in a row skipped at the loss scale's floor that make a collapse. */
#define CAUSE_COLLAPSE_STEPS 10

void cause_precision_refine(const rundata *d, cause_trace *t);
/* A run without a NaN: the Cause/Fix lines of a loss-scale collapse, if it was one. */
void cause_precision_collapse(const rundata *d, strbuf *out);
/* "Precision: step S ... holds in ...; fails in ..." when the ladder ran at
 * the NaN's step; returns whether it wrote the line. */
int cause_precision_ladder_line(const rundata *d, int step, strbuf *out);

#endif
