/* cause_text.h: the three opening lines of a NaN verdict from a cause trace:
 * "Cause: ...", "Path: A -> B -> C (with the numbers)", "Fix: ...", then,
 * when the evidence is weak, a line saying so with the runner-up chain. */
#ifndef NANPROBE_CAUSE_TEXT_H
#define NANPROBE_CAUSE_TEXT_H

#include "cause.h"
#include "strbuf.h"

void cause_text_compose(const rundata *d, const cause_trace *t, strbuf *out);
/* "conv3d_15 kernel l2norm 10.6 (step 5) -> 1.06e+31 (step 6)" for one link. */
void cause_text_link(const rundata *d, const cause_link *k, strbuf *out);

#endif
