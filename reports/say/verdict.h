/* verdict.h: the plain-words verdict at the top of a report: where the first
 * NaN came from and what grew before it, or, for a healthy run, how close it
 * came to overflow and which layers are riskiest. */
#ifndef NANPROBE_VERDICT_H
#define NANPROBE_VERDICT_H

#include "cause.h"
#include "precursor.h"
#include "rules.h"
#include "read_run.h"
#include "strbuf.h"

/* The line between the verdict's card (Cause, Path, Fix, Precision, the
 * origin; for a healthy run its headroom) and the evidence under it (the
 * precursor ranking, the next candidates, the symptom rules): the ranking
 * is evidence of what moved before the NaN, never a second cause. */
#define VERDICT_EVIDENCE_HEADING "Supporting evidence (the precursor ranking and the rules, not a second cause):"

/* Candidates listed after the top precursor (distinct layers). */
#define VERDICT_NEXT_CANDIDATES 4

/* Appends the verdict (a few lines of plain text) to out: the card, a blank
 * line and VERDICT_EVIDENCE_HEADING, then the evidence.  With a cause trace
 * of a run with a NaN the card is Cause / Path / Fix (/ Uncertain),
 * Precision and the origin (first non-finite value, first bad element,
 * created there or propagated). */
void verdict_compose_traced(const rundata *d, const cause_trace *trace, const precursor_ranking *ranking,
                            const rule_finding findings[RULE_COUNT], strbuf *out);
/* The same without a trace (no Cause lines). */
void verdict_compose(const rundata *d, const precursor_ranking *ranking, const rule_finding findings[RULE_COUNT],
                     strbuf *out);

/* "10^6.0 x" for large factors, "31.6 x" for small ones (factor = 10^|decades|). */
void verdict_format_factor(double decades, char *out, size_t size);

/* Layers ordered by the largest finite |x| of any of their tensors (least
 * overflow headroom first); returns how many were written to order[]. */
int verdict_riskiest_layers(const rundata *d, int *order, double *absmax, int *tensor, int *step, int max);

#endif
