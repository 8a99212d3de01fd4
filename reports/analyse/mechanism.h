/* mechanism.h: what each NaN mechanism a causal verdict names means to a
 * user: a title, a sentence, and a fix hint.
 *
 * The classes themselves are the stored enumeration `mechanism`
 * (src/rundb/run_enums.h, whose mechanism_names[] is the key the
 * cause_chain table holds).  A healthy run gets MECHANISM_NONE and no
 * "Cause" line.  The table is documented in docs/verdict.md. */
#ifndef NANPROBE_MECHANISM_H
#define NANPROBE_MECHANISM_H

#include "run_enums.h"

typedef struct mechanism_def {
    const char *title;    /* "update blow-up (learning rate)" */
    const char *sentence; /* what happened, in plain words */
    const char *fix;      /* what to change */
} mechanism_def;

extern const mechanism_def mechanism_defs[MECHANISM_COUNT];

#endif
