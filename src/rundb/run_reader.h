/* run_reader.h: a read-only connection to one run of a run.db, for the
 * loads that follow what an analysis has found so far (the causal walk's
 * series, a validation batch's layers, a clip's video).  The SQL stays in
 * src/rundb (read_cause.h, read_validation.h, read_video.h); the caller
 * holds only this handle and gets plain structs back. */
#ifndef NANPROBE_RUN_READER_H
#define NANPROBE_RUN_READER_H

#include "error.h"

typedef struct run_reader run_reader;

/* Opens path read-only (db_open_for_reading's checks) for the run run_id.
 * Returns NULL with err set on failure. */
run_reader *run_reader_open(const char *path, int run_id, error *err);
void run_reader_close(run_reader *r);

#endif
