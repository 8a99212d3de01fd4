/* train.h: the training run: data, model, Adam + L2, Keras callbacks,
 * validation, checkpoints, probes and the run database, in one loop.
 * It prints nothing: progress, notes and warnings go to the caller's
 * train_callbacks, and the report is the command's business.
 *
 * Keras semantics reproduced (see ../shared/spec and docs/keras-nan.md): the
 * epoch's batches come from a fresh seeded permutation, the last batch of a
 * full pass is partial as in fit() on arrays; the step objective is the mean
 * cross-entropy plus lambda*sum(w^2) over every kernel (weights before the
 * step's update); the epoch loss is the batch-size-weighted mean of step
 * objectives; validation runs in inference mode after every epoch and its
 * loss includes the penalty; ReduceLROnPlateau and EarlyStopping watch
 * val_loss. */
#ifndef NANPROBE_TRAIN_H
#define NANPROBE_TRAIN_H

#include "error.h"
#include "ladder.h"
#include "model.h"
#include "run_enums.h"
#include "video_source.h"

#define TRAIN_MAX_INJECTIONS 32
/* Default --snapshot-every: one copy of the training state per 16 steps
 * (make bench measures its cost against the step). */
#define TRAIN_SNAPSHOT_EVERY 16

/* The model: what model_build and model_init_weights take, and the
 * arithmetic the engine emulates. */
typedef struct train_model_options {
    int depth, width, classes;
    initializer_kind init;
    double l2; /* the kernel regularizer: lambda*sum(w^2) on every kernel */
    /* Keras: initialise from this checkpoint instead of model_init_weights
     * (weights, moving statistics, Adam's m, v and t). */
    const char *from_keras;
    /* emulated precision (precision.h, model_precision.h) */
    int precision;   /* precision_kind; PRECISION_FLOAT32: the engine untouched */
    int bn_variance; /* bn_variance_kind */
} train_model_options;

/* The data: what dataset_open takes, and the batch drawn from it. */
typedef struct train_data_options {
    const char *source; /* --data */
    int clip[4];
    long train_clips, val_clips;
    int normalize; /* normalize_kind */
    video_options video; /* a video directory: layout, resize, frame step, bad files (video_source.h) */
    int batch;
} train_data_options;

/* Keras' fit(): Adam's rate, the epochs and the callbacks that watch
 * val_loss. */
typedef struct train_fit_options {
    double lr;
    int lr_overrides_checkpoint; /* --resume with --lr: the new rate replaces the checkpoint's */
    int epochs;
    int initial_epoch;    /* fit()'s: the epoch the run starts counting from */
    long steps_per_epoch; /* 0: one full pass over the training clips */
    double plateau_factor, plateau_min_lr, plateau_min_delta;
    int plateau_patience;
    int early_stopping; /* patience; -1: off */
} train_fit_options;

/* The probes (probe.h) and what the loop does at the first non-finite value. */
typedef struct train_probe_options {
    int statistics; /* --probes: per-layer statistics; 0: the loss alone is checked */
    int probe_every, ring_steps;
    long on_nan_continue; /* -1: stop at the first non-finite value; N: go on N more steps */
    const char *injections[TRAIN_MAX_INJECTIONS];
    int injection_count;
} train_probe_options;

/* Replay (replay.h): the state is kept in memory every snapshot_every
 * steps (and at every epoch start), so the first non-finite value's step
 * is run again in float32 and float64; 0: no snapshots, no replay.
 * shadow_every N: one healthy step in N also runs in float64. */
typedef struct train_replay_options {
    long snapshot_every, shadow_every;
} train_replay_options;

/* Data parallel (under mpirun; see data_parallel.h). */
typedef struct train_dist_options {
    struct dist_comm *comm; /* NULL: one process */
    int sync_bn;            /* BatchNorm statistics of the global batch, not each replica's */
    double bucket_mb;       /* gradient bucket size; 0: 25 MB */
} train_dist_options;

/* A run: where it lives and how long it goes, then what each part takes. */
typedef struct train_options {
    const char *out, *name;
    long long seed; /* of initialization, shuffling and synthetic data */
    int threads;
    long max_steps;        /* stop (with a checkpoint) after this many steps in all; -1: no limit; 0: write
                            * the untrained model's checkpoint and the run database, train nothing */
    long checkpoint_every; /* also checkpoint every N steps; 0: at epoch ends only */
    /* BLAS (chosen before main's work, see blas_kernel.h): the setup line's
     * description and runs.config_json's "blas" object; NULL: not recorded */
    const char *blas, *blas_json;
    train_model_options model;
    train_data_options data;
    train_fit_options fit;
    train_probe_options probes;
    train_replay_options replay;
    train_dist_options dist;
} train_options;

typedef enum train_status {
    TRAIN_COMPLETED,
    TRAIN_EARLY_STOPPED,
    TRAIN_NAN,
    TRAIN_INTERRUPTED,
    TRAIN_MAX_STEPS,
    TRAIN_STATUS_COUNT
} train_status;

/* Mean seconds per step by kind, after the warm-up steps (the first steps
 * fault in a gigabyte of buffers, so they are not the steady state). */
typedef struct train_timing {
    long steps; /* steps measured */
    double conv_forward, conv_backward, batchnorm, pooling, relu_add_dense, optimizer, probes, logging, data;
    /* data parallel: blocked on the gradient allreduce after backward (what
     * the overlap did not hide), and in the step's agreement and merge */
    double allreduce_wait, agreement;
    /* replay: copying the state for a later replay (snapshot.h, outside the
     * step's own time), and --shadow-every's float64 steps */
    double snapshot, shadow;
    /* validation (issue 22): seconds over the whole run, not per step: the
     * passes' wall time, and the probes' share of it (statistics, the
     * BatchNorm comparison, its database rows) */
    double validation, validation_probes;
} train_timing;

typedef struct train_result {
    train_status status;
    long steps;
    double seconds_per_step; /* mean over the steps of this process */
    train_timing timing;
    char database[4200];
    char report[4200];       /* index.html of the report, when the command wrote one */
    int bad_option;          /* train_run refused an option's value it could check only against the
                              * model (--inject naming no layer, a sample outside the batch): a usage error */
} train_result;

/* What a run is, told once when it has opened. */
typedef struct train_setup {
    int depth, width, batch, threads;
    size_t trainable_count;
    const char *data;     /* dataset_describe() */
    const char *init;     /* "he_normal" / "glorot_uniform" */
    const char *database; /* DIR/run.db */
    const char *blas;     /* "OpenBLAS 0.3.21, SkylakeX kernel (...)", or NULL */
    int resumed;
} train_setup;

/* One finished epoch, as Keras' fit() prints it. */
typedef struct train_epoch_summary {
    long steps;
    double loss, accuracy;
    int has_validation;
    double val_loss, val_accuracy, lr;
} train_epoch_summary;

/* How train_run reports progress.  Every member may be NULL.  A note is a
 * line of its own (a callback's message, the sentinel's finding); a warning
 * is a problem the run survives (a checkpoint that could not be written). */
typedef struct train_callbacks {
    void *context;
    void (*setup)(void *context, const train_setup *setup);
    void (*epoch_begin)(void *context, int epoch, int epochs, long steps);
    void (*step)(void *context, long done, double loss, double accuracy);
    void (*epoch_end)(void *context, const train_epoch_summary *summary);
    void (*note)(void *context, const char *message);
    void (*warning)(void *context, const char *message);
} train_callbacks;

/* Fills the seed's setup: ResNet3D-34, he_normal, L2 1e-4, Adam 1e-3,
 * 16x112x112x3 clips, synthetic data. */
void train_options_defaults(train_options *o);

/* Runs (or, with resume set, continues) a training run in o->out.  argv is
 * the option list that produced o, stored in checkpoints.  callbacks may be
 * NULL.  Returns -1 with err set when the run could not be carried out (bad
 * data, disk full...); a NaN stop or an interruption is a result, not a
 * failure. */
int train_run(const train_options *o, int argc, char *const *argv, int resume, const train_callbacks *callbacks,
              train_result *result, error *err);

/* `nanprobe replay`: step `step` of the run in o->out (o rebuilt from its
 * checkpoint's options) run again from the checkpoint, in the given
 * precisions (replay.h's replay_precision: 1 float, 2 double, 3 both);
 * step 0 means the run's first non-finite value's step, else its last
 * step.  Covered are the steps after the checkpoint up to the run's last
 * recorded step.  The rows go to run.db; *message receives the finding. */
int train_replay(const train_options *o, long step, int precision, const train_callbacks *callbacks, long *replayed,
                 char *message, size_t message_size, error *err);

/* `nanprobe replay --precision tf32|mixed_float16|mixed_bfloat16|all`: the
 * step rerun in float32 and each of the precisions (ladder.h), the rungs
 * into rungs[] (LADDER_MAX_RUNGS) and run.db's replay_precisions. */
int train_ladder(const train_options *o, long step, const precision_kind *precisions, int count,
                 const train_callbacks *callbacks, long *replayed, ladder_rung *rungs, int *rung_count, error *err);

/* Asks a running train_run to stop after the current step (signal-safe). */
void train_request_stop(void);

/* runs.status of a run that ended so; train_status_name is its name. */
run_status train_run_status(train_status status);
const char *train_status_name(train_status status);

#endif
