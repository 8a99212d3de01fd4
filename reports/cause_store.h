/* cause_store.h: writing a cause trace into the run database's cause_chain
 * table (src/rundb/schema.sql), so users can query the chain with SQL.
 * The rows of the run are replaced in one transaction: a report run twice
 * leaves one chain, and a failure leaves the previous rows. */
#ifndef NANPROBE_CAUSE_STORE_H
#define NANPROBE_CAUSE_STORE_H

#include "cause.h"

/* Opens db_path for writing (creating the table in databases written
 * before it existed) and stores t for the run loaded in d. */
int cause_store(const rundata *d, const cause_trace *t, const char *db_path, error *err);

#endif
