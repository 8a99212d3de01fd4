/* cause_rows.h: a cause trace as the rows of run.db's cause_chain table
 * (src/rundb/db_cause.h), for the train command to store. */
#ifndef NANPROBE_CAUSE_ROWS_H
#define NANPROBE_CAUSE_ROWS_H

#include "cause.h"
#include "db_cause.h"

/* The rows of t for the run loaded in d: the chain, then the runner-up
 * when it has more than the origin.  A healthy run gets none. */
void cause_rows(const rundata *d, const cause_trace *t, db_cause_chain *out);

#endif
