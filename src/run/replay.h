/* replay.h: running one training step again from the state at its start,
 * in float32 and in float64, to say what made its first non-finite value.
 *
 *   1. The state at the start of step s is a snapshot (snapshot.h) taken at
 *      some k < s plus a rerun of steps k+1 .. s-1, exactly as training ran
 *      them (same batches, same thread count, the weight-scaling injections
 *      they had; no probes, no database).
 *   2. Float32: step s runs again.  Does its first non-finite value recur at
 *      the same tensor and element?  Are the outputs and gradients of every
 *      layer the same, bit for bit?  A step that replays finite was not the
 *      model's doing (a transient fault: hardware, a race, a planted fault);
 *      planted transient faults (inf-forward, inf-backward, nan-input) are
 *      not applied in the replay, which is what makes them "not reproducible".
 *   3. Float64: the same step in the double engine (shadow.h) says whether
 *      the value exceeds FLT_MAX there too (a real divergence), stays modest
 *      (float32 lost it), or is NaN as well (the maths itself).
 *   4. The origin element's terms (provenance.h) and .npy slices.
 * The rows go to run.db (db_replay.h).  The model and the loop state are
 * put back as they were before the replay. */
#ifndef NANPROBE_REPLAY_H
#define NANPROBE_REPLAY_H

#include "adam.h"
#include "checkpoint.h"
#include "db_replay.h"
#include "model.h"
#include "sentinel.h"
#include "shadow.h"
#include "snapshot.h"

/* What one rerun step used, as the stepper ran it. */
typedef struct replay_batch {
    int batch, epoch;
    const int *labels;
    const long *sample_ids;
    float learning_rate;
    long adam_t;          /* t of the step's update */
    double loss;          /* mean data loss of the rerun */
} replay_batch;

/* How the replay runs training steps: the training loop provides it. */
typedef struct replay_stepper {
    void *context;
    /* Runs step `step` (the next one after the state held) as the run did,
     * with whatever hook the model has; advances the loop state.  ready
     * (may be NULL) is called once the batch is read, before the forward. */
    int (*run_step)(void *context, long step, void (*ready)(void *ready_context, const replay_batch *batch),
                    void *ready_context, replay_batch *batch, error *err);
    /* A sentence on why clip `sample` of the batch just read is not finite
     * (a NaN in the file, or 0/0 normalizing a constant clip), or 0 if it
     * cannot say. */
    int (*explain_input)(void *context, const replay_batch *batch, int sample, char *out, size_t size);
} replay_stepper;

typedef enum replay_precision { REPLAY_FLOAT = 1, REPLAY_DOUBLE = 2, REPLAY_BOTH = 3 } replay_precision;

typedef struct replay_request {
    long step;
    replay_trigger trigger;
    replay_precision precision;
    const nonfinite_event *original; /* the run's first non-finite value at step, NULL if none */
    int have_original_tensors;       /* the model still holds step's own tensors (compare bit for bit) */
    const char *directory;           /* the run directory: .npy files go to DIR/replay/ */
    int has_original_loss;
    double original_loss;            /* the step's data loss as the run recorded it */
} replay_request;

typedef struct replay_session {
    model *m;
    checkpoint_state *state;
    const snapshot *snap;            /* the state at snap->step < step */
    const replay_stepper *stepper;
    adam_config adam;
    float l2;
    int threads;
    shadow *shadow;                  /* created on first use, freed by replay_session_free */
    db_writer *db;                   /* NULL: no rows */
} replay_session;

typedef struct replay_outcome {
    replay_finding finding;
    char message[1024];              /* the verdict's sentence */
    char note[1200];                 /* a problem the replay survived (provenance not written), or "" */
    double seconds;
} replay_outcome;

int replay_step(replay_session *s, const replay_request *request, replay_outcome *out, error *err);
/* The state at the start of `step`: the snapshot restored, then steps
 * snap->step + 1 .. step - 1 rerun as training ran them (no hook). */
int replay_fast_forward(replay_session *s, long step, error *err);
void replay_session_free(replay_session *s);

/* --shadow-every: before a training step, its start state goes into the
 * float64 model; after it, the step runs in float64 against the float32
 * tensors the model still holds, and a replays row (trigger "shadow") with
 * each tensor's float32 relative error goes to run.db. */
int replay_shadow_begin(replay_session *s, error *err);
int replay_shadow_end(replay_session *s, long step, const replay_batch *b, error *err);

/* The finding for a non-finite element from its float64 value and the
 * float64 run's own first non-finite value (pure; tested directly). */
replay_finding replay_classify(int float_rerun_finite, double double_value, double double_first_bad_value);

#endif
