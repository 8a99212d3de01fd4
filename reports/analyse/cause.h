/* cause.h: the causal trace from the first NaN back to its root.
 *
 * Method (docs/verdict.md):
 *  1. Start at the origin tensor: the first 'nan' event (is_origin 1 when
 *     every input was finite).
 *  2. Walk the dataflow upstream over the steps kept in the database.  The
 *     predecessors of a forward tensor are the layer's inputs and its
 *     weights; of a BatchNorm's moving statistics, its batch statistics; of
 *     a gradient, the gradients and kernels of the consuming layers; of an
 *     optimizer tensor, the layer's parameter gradient.  Each candidate's
 *     rise is measured in decades from its baseline (median of the first
 *     quarter of the window) to its last finite value, divided by the
 *     power the link raises it to (a variance is a square: 2).
 *  3. Follow the candidate that rose furthest, earliest onset on a tie,
 *     while it rose at least CAUSE_FOLLOW_DECADES and at least half as far
 *     as the current link: otherwise the growth was made at this link.
 *  4. Stop at a root: the data (input pass), a parameter update (a kernel
 *     whose norm jumped in one step, or an injection event on the layer), a
 *     statistic that grew steadily (growth per step, doubling time, onset),
 *     or an arithmetic hazard at the origin (a variance or x^2 past FLT_MAX,
 *     BatchNorm over few values, a loss overflow).
 * The chain is kept with the numbers of each link (value before and after)
 * and stored in the cause_chain table by the train command (cause_rows.h,
 * src/rundb/db_cause.h).
 *
 * Load, then analyse: the rows the walk may ask for are loaded first, in
 * one call (cause_load: the window of WINDOW_STEPS steps before the first
 * NaN, every layer and tensor, read_cause.h), and the walk only looks them
 * up; it never opens the database. */
#ifndef NANPROBE_CAUSE_H
#define NANPROBE_CAUSE_H

#include <stddef.h>

#include "error.h"
#include "mechanism.h"
#include "read_cause.h"
#include "read_run.h"

#define CAUSE_MAX_LINKS 12
#define CAUSE_FOLLOW_DECADES 1.0
/* A kernel norm that grows this much (decades) in one update is a jump. */
#define CAUSE_JUMP_DECADES 1.0
/* An update blow-up surfaces within this many steps of the jump; a longer
 * lead with steady growth in between is gradual growth. */
#define CAUSE_BLOWUP_LEAD 3

/* Stored as cause_chain.role (chain_role, run_enums.h; cause_rows.c). */
typedef enum cause_role { CAUSE_ROLE_ORIGIN, CAUSE_ROLE_LINK, CAUSE_ROLE_ROOT, CAUSE_ROLE_COUNT } cause_role;

typedef struct cause_link {
    int layer;          /* index into rundata.layers */
    char tensor[32];    /* stats.tensor, or "kernel.update" for the optimizer link */
    char statistic[32]; /* "absmax", "l2norm", "nan_count", "update_ratio", ... */
    int step_before, step;
    double before, after; /* before: the baseline (median of the window's first quarter), or the value
                           * before the update or injection; after: at step (Inf at the origin) */
    double decades;       /* rise used to choose it (after the power division) */
    double last_finite;   /* the origin: its last finite value before the NaN step (else = after) */
    int last_finite_step;
    int onset_step;       /* first step out of its band, 0 if never */
    long long sample_id;  /* a data root: the clip's dataset id (else -1) */
    cause_role role;
} cause_link;

typedef struct cause_chain {
    cause_link links[CAUSE_MAX_LINKS]; /* links[0] is the origin, the last the root */
    int count;
    double score; /* the rise of the best first link: how clearly it was chosen */
} cause_chain;

typedef struct cause_trace {
    mechanism klass;
    int weak;              /* 1: the evidence is weak (see weak_reason) */
    char weak_reason[200];
    cause_chain chain, runner_up; /* runner_up.count 0 when there is none */
    char root_detail[1000]; /* the root's numbers in one plain sentence (database names made printable) */
    long long nonfinite, elements; /* at the origin step, in the origin tensor */
    double origin_rise;            /* decades the origin's own statistic rose before the NaN step */
    int nan_step;
    /* A NaN first seen in validation (inference_trace.h): the validation
     * batch, and the path's BatchNorms layer by layer ("" otherwise). */
    int val_batch;
    char inference_path[1200];
    const cause_window *window; /* the rows it was built from (for cause_link_series) */
} cause_trace;

/* The load stage of the trace: the window of the run loaded in d read
 * through r (an empty window, nothing read, for a run without a 'nan'
 * event).  Free it with cause_window_free. */
int cause_load(run_reader *r, const rundata *d, cause_window *out, error *err);

/* Builds the trace of the run loaded in d from its window (cause_load); t
 * keeps a pointer to it.  A run without a 'nan' event gets klass
 * MECHANISM_NONE and no links. */
int cause_trace_build(const rundata *d, const cause_window *window, cause_trace *out, error *err);

/* The statistic of one link of t over the trace's window (finite points,
 * at most max, ascending steps); returns the count, or -1 for a trace
 * without its window. */
int cause_link_series(const rundata *d, const cause_trace *t, const cause_link *k, int *steps, double *values,
                      int max, error *err);

/* Copies text into out with control characters replaced by '?' (database
 * strings must not reach a terminal as escape sequences); returns out. */
char *cause_printable(const char *text, char *out, size_t size);

#endif
