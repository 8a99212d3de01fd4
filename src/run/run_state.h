/* run_state.h: everything one run holds (private to src/run): opening and
 * closing it (run_open.c), the training loop and its one step (train.c),
 * and the replay driver (replay_driver.c) share it. */
#ifndef NANPROBE_RUN_STATE_H
#define NANPROBE_RUN_STATE_H

#include "checkpoint.h"
#include "clip_provenance.h"
#include "data_parallel.h"
#include "dataset.h"
#include "db.h"
#include "loss_scale.h"
#include "optimizer.h"
#include "precision_run.h"
#include "probe.h"
#include "replay.h"
#include "rundir.h"
#include "snapshot.h"
#include "train.h"

/* Everything one run holds, freed in one place. */
typedef struct run {
    const train_options *o;
    rundir place;       /* the locked run directory */
    char dir[4096];     /* its path */
    dataset *data;
    model m;
    int model_built;
    db_writer db;
    probe_session *probes;
    data_parallel dp;   /* under mpirun: this rank's part (data_parallel.h) */
    injection injections[TRAIN_MAX_INJECTIONS]; /* as this rank applies them in the current step */
    parameter_step_stats *param_stats;
    adam_config adam;
    checkpoint_state state;
    const train_callbacks *cb; /* never NULL */
    train_status status;
    long nan_budget;           /* steps still to run after the first non-finite value; -1 before it */
    int train_nan_noted;       /* the first training NaN was announced (a validation NaN may come first) */
    long train_size, val_size, steps_per_epoch;
    long *order;        /* permutation of the training ids for the current (epoch, cycle) */
    long order_epoch, order_cycle;
    long *batch_ids;
    long *next_ids;     /* the batch after this one, announced to the data layer */
    clip_provenance provenance;
    snapshot snap;          /* the state at the start of a recent step (replay.h) */
    replay_stepper stepper;
    replay_session replay;
    int *labels;
    char *sample_text;  /* the batch ids as "3,17,..." for the steps table */
    int argc;
    char *const *argv;
    double optimizer_seconds, data_seconds, agreement_seconds, snapshot_seconds, shadow_seconds, validation_seconds;
    double last_data_loss; /* of the last step, for its replay */
    long steps_this_process;
    /* The accumulators after the warm-up steps, so that --timing reports
     * the steady state (the first steps fault in a gigabyte of buffers). */
    struct {
        step_timing model;
        double optimizer, data, probes, logging, allreduce, agreement, snapshot, shadow;
    } warm;
    int bad_option;     /* the open failed on an option's value (--inject), not on the data or disk */
    loss_scale ls; /* --precision mixed_float16 */
} run;

/* Who watches a step besides the model; every member may be NULL or 0.
 * Training passes them all; the replay passes only `ready` (it reruns the
 * step exactly as training ran it, unwatched: replay.h). */
typedef struct step_observers {
    probe_session *probes;             /* the sentinel, statistics, planted faults, the steps row */
    parameter_step_stats *param_stats; /* Adam's per-parameter statistics, for the probes */
    data_parallel *dp;                 /* under mpirun: the shard, the gradient allreduce, the agreement */
    clip_provenance *provenance;       /* the file and frames each clip came from */
    int prefetch;                      /* the next batch announced to a video source */
    int precision_events;              /* skipped steps, loss-scale growth, negative one-pass variances */
    int timed;                         /* --timing's data and optimizer seconds */
    void (*ready)(void *context, const replay_batch *batch); /* the batch read, before the forward */
    void *ready_context;
} step_observers;

/* What one step used and gave. */
typedef struct step_outcome {
    replay_batch batch;       /* this rank's clips, their rate and t, their mean data loss */
    dist_shard shard;         /* this rank's part of the batch */
    int global_batch;         /* the whole batch, all ranks */
    int samples, correct;     /* over all ranks once agreed */
    double data_loss;         /* mean over all ranks once agreed */
    double penalty;           /* L2 of the weights the forward pass used */
    precision_step precision; /* the loss scale's part (precision_run.h) */
} step_outcome;

/* ---------------------------------------------------- run_open.c */

/* r emptied for a run of o, the thread count set for OpenMP and OpenBLAS;
 * callbacks may be NULL. */
void run_init(run *r, const train_options *o, const train_callbacks *callbacks);
/* A new run (resume 0) or a run continued from its checkpoint, opened for
 * training: directory, data, model, database, probes, replay. */
int run_open(run *r, int resume, error *err);
/* The run of r->o->out opened for a replay (nothing of the run is changed). */
int run_open_for_replay(run *r, error *err);
void run_close(run *r);
void run_announce_setup(run *r, const char *database, int resume);
/* A failed run's message says where its last committed steps are. */
void run_wal_left_behind(const char *dir, error *err);
/* A line for the callbacks' note. */
void run_note(run *r, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* An event row after the current step (rank 0 alone writes). */
int run_write_event(run *r, event_kind kind, const char *message, double old_value, double new_value, error *err);

/* ------------------------------------------------------- train.c */

int run_step(run *r, loss_scale *ls, const step_observers *obs, step_outcome *out, error *err);

/* ----------------------------------------------- replay_driver.c */

/* The snapshot buffers and the replay session, for run_open*. */
int run_replay_open(run *r, error *err);
/* Before a step: the state kept for a later replay, when due. */
void run_keep_snapshot(run *r);
/* --shadow-every: whether the next step also runs in float64, and its
 * float64 run once the float32 step is done. */
int run_shadow_due(run *r);
int run_shadow_end(run *r, int samples, error *err);
/* The first non-finite value's step run again (failures are warnings). */
void run_replay_first_event(run *r, const nonfinite_event *e);

#endif
