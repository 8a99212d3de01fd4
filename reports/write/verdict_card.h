/* verdict_card.h: the verdict at the top of index.html as a card that reads
 * at a glance (Cause, Path, Fix, Precision, Origin with their numbers; for a
 * healthy run its status and headroom), and the supporting evidence below
 * it.  Both are laid out from the plain-text verdict (verdict.h), so the
 * page and verdict.txt say the same thing in the same order. */
#ifndef NANPROBE_VERDICT_CARD_H
#define NANPROBE_VERDICT_CARD_H

#include <stdio.h>

/* The card: every line of the verdict before VERDICT_EVIDENCE_HEADING, one
 * labelled row per kind (consecutive lines of one kind share a row). */
void verdict_card_html(FILE *f, const char *verdict, int healthy);
/* The evidence lines after the heading, as a list (nothing if none). */
void verdict_evidence_html(FILE *f, const char *verdict);

#endif
