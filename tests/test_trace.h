/* test_trace.h: the causal trace of a loaded run in tests, in the report's
 * two stages: load the walk's window (cause_load), then build from it. */
#ifndef NANPROBE_TEST_TRACE_H
#define NANPROBE_TEST_TRACE_H

#include "cause.h"

/* Loads the window of d through its own reader, then builds t; the window
 * is freed before returning, so t->window is cleared (the tests do not draw
 * the culprit figure).  0, or -1 with err set. */
static inline int cause_trace_load_and_build(const rundata *d, cause_trace *t, error *err)
{
    cause_window window;
    run_reader *r = run_reader_open(d->path, d->run.run_id, err);
    if (!r) return -1;
    int rc = cause_load(r, d, &window, err);
    run_reader_close(r);
    if (!rc) rc = cause_trace_build(d, &window, t, err);
    cause_window_free(&window);
    t->window = NULL;
    return rc;
}

#endif
