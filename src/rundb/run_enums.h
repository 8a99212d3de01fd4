/* run_enums.h: every enumeration run.db stores as text, as a C enum.
 *
 * The text is for people running SQL on a run.db; the code speaks the enums.
 * A writer turns an enum into its name when it binds a row, a reader turns
 * the name back into the enum once, when it loads the row, and an unknown
 * name is a malformed row (the file is untrusted).  Each name table is
 * sized by its enum and checked with _Static_assert (run_enums.c), and
 * stored_enums[] lists them with the column that holds them, which is what
 * tests/test_names.c holds schema.sql's comments and CHECK lists to. */
#ifndef NANPROBE_RUN_ENUMS_H
#define NANPROBE_RUN_ENUMS_H

/* events.pass: where in a step a value was seen. */
typedef enum probe_pass {
    PASS_INPUT,
    PASS_FORWARD,
    PASS_MOVING_STATISTICS,
    PASS_LOSS,
    PASS_BACKWARD,
    PASS_OPTIMIZER_STATE,
    PASS_UPDATE,
    PASS_VALIDATION, /* the forward pass in inference mode after an epoch */
    PASS_LOADED,     /* a checkpoint's values before any step (Keras import) */
    PASS_COUNT
} probe_pass;

/* events.kind */
typedef enum event_kind {
    EVENT_NAN,                  /* the run's first non-finite value (one per run) */
    EVENT_LR_REDUCED,           /* ReduceLROnPlateau lowered the learning rate */
    EVENT_EARLY_STOP,
    EVENT_CHECKPOINT,
    EVENT_CHECKPOINT_FAILED,
    EVENT_INTERRUPTED,
    EVENT_INJECTION,            /* a planted fault (--inject) */
    EVENT_RESUMED,
    EVENT_KERAS_IMPORT,
    EVENT_VIDEO_DECODE,         /* a video that failed to decode and was replaced */
    EVENT_BN_VARIANCE_NEGATIVE, /* --bn-variance one_pass gave a variance below zero */
    EVENT_STEP_SKIPPED,         /* the loss scale skipped a step (mixed_float16) */
    EVENT_LOSS_SCALE_GREW,
    EVENT_KIND_COUNT
} event_kind;

/* events.inject_kind: the fault a --inject SPEC plants (probes/inject.h);
 * the names are the SPEC's own words. */
typedef enum injection_kind {
    INJECT_NAN_INPUT,     /* nan-input: a NaN in one clip of a step's batch */
    INJECT_INF_FORWARD,   /* inf-forward: +Inf in a layer's output */
    INJECT_INF_BACKWARD,  /* inf-backward: +Inf in the gradient reaching a layer's output */
    INJECT_SCALE_WEIGHTS, /* scale-weights: a layer's kernel (or gamma) times a factor */
    INJECT_KIND_COUNT
} injection_kind;

/* clip_origins.split: which part of the dataset a clip was served from. */
typedef enum clip_split { CLIP_SPLIT_TRAIN, CLIP_SPLIT_VALIDATION, CLIP_SPLIT_COUNT } clip_split;

/* events.value_class (also replays.float_value, replay_precisions.first_bad_value): which non-finite value. */
typedef enum value_class { VALUE_NAN, VALUE_POSITIVE_INF, VALUE_NEGATIVE_INF, VALUE_CLASS_COUNT } value_class;

/* replays.trigger: why a step was replayed. */
typedef enum replay_trigger {
    REPLAY_TRIGGER_NAN,     /* the run's first non-finite value */
    REPLAY_TRIGGER_COMMAND, /* nanprobe replay, after the fact */
    REPLAY_TRIGGER_SHADOW,  /* --shadow-every */
    REPLAY_TRIGGER_COUNT
} replay_trigger;

/* replays.finding: what the float64 rerun says of the first non-finite value. */
typedef enum replay_finding {
    REPLAY_FINDING_NONE,             /* nothing non-finite to explain (a healthy step) */
    REPLAY_FINDING_NOT_REPRODUCIBLE, /* the float32 rerun stays finite where the run did not */
    REPLAY_FINDING_REAL_DIVERGENCE,  /* float64 exceeds FLT_MAX too */
    REPLAY_FINDING_FLOAT32_ARTEFACT, /* float64 stays finite and below FLT_MAX */
    REPLAY_FINDING_MATHS_ITSELF,     /* float64 is NaN as well: 0/0, Inf - Inf, 0 x Inf, NaN data */
    REPLAY_FINDING_COUNT
} replay_finding;

/* runs.status */
typedef enum run_status {
    RUN_RUNNING,
    RUN_COMPLETED,
    RUN_NAN,
    RUN_INTERRUPTED,
    RUN_EARLY_STOPPED,
    RUN_FAILED,
    RUN_STATUS_COUNT
} run_status;

/* cause_chain.role: a link's place in the causal chain. */
typedef enum chain_role { CHAIN_ORIGIN, CHAIN_LINK, CHAIN_ROOT, CHAIN_ROLE_COUNT } chain_role;

/* cause_chain.mechanism: the class of NaN a causal verdict names (its
 * title, sentence and fix: reports/analyse/mechanism.c; docs/verdict.md).  Every
 * verdict of a run with a NaN gets exactly one; a healthy run gets none. */
typedef enum mechanism {
    MECHANISM_NONE,            /* healthy run: no cause */
    MECHANISM_DATA,            /* a non-finite, constant or badly scaled clip */
    MECHANISM_UPDATE_BLOWUP,   /* one optimizer step moved weights far beyond their scale */
    MECHANISM_GRADUAL_GROWTH,  /* a statistic grew step after step until float32 overflowed */
    MECHANISM_BATCHNORM,       /* BatchNorm collapse (variance -> 0), cancellation or a tiny count */
    MECHANISM_LOSS_SATURATION, /* logits so far apart that the loss or its gradient overflowed */
    MECHANISM_INJECTED,        /* a fault planted with --inject */
    MECHANISM_INFERENCE_STATISTICS, /* validation only: BatchNorm's moving statistics do not fit (issue 22) */
    /* precision (train --precision, the precision ladder; reports/analyse/cause_precision.c) */
    MECHANISM_FLOAT16_OVERFLOW,     /* a float16 tensor passed 65504 */
    MECHANISM_FLOAT16_UNDERFLOW,    /* float16 gradients flushed to zero: too little loss scale */
    MECHANISM_LOSS_SCALE_COLLAPSE,  /* every step skipped, the loss scale at its floor */
    MECHANISM_REDUCED_PRECISION,    /* TF32 / bfloat16 rounding cancelled what float32 keeps */
    MECHANISM_L2_ADAM,         /* L2 outweighs the data gradient under Adam: kernels shrink, relative steps grow */
    MECHANISM_COUNT
} mechanism;

extern const char *const probe_pass_names[PASS_COUNT];
extern const char *const event_kind_names[EVENT_KIND_COUNT];
extern const char *const injection_kind_names[INJECT_KIND_COUNT];
extern const char *const value_class_names[VALUE_CLASS_COUNT];
extern const char *const replay_trigger_names[REPLAY_TRIGGER_COUNT];
extern const char *const replay_finding_names[REPLAY_FINDING_COUNT];
extern const char *const run_status_names[RUN_STATUS_COUNT];
extern const char *const chain_role_names[CHAIN_ROLE_COUNT];
extern const char *const mechanism_names[MECHANISM_COUNT];
extern const char *const clip_split_names[CLIP_SPLIT_COUNT];

/* As in events.pass: "input", "forward", ... */
const char *probe_pass_name(probe_pass pass);

/* The stored enumerations, for the readers and for the schema's check: one
 * entry per column (an enumeration stored in two columns has two). */
typedef enum stored_enum {
    STORED_PASS,
    STORED_EVENT_KIND,
    STORED_INJECT_KIND,
    STORED_REPLAY_FLOAT_VALUE,
    STORED_LADDER_PRECISION,
    STORED_LADDER_BAD_VALUE,
    STORED_VALUE_CLASS,
    STORED_REPLAY_TRIGGER,
    STORED_REPLAY_FINDING,
    STORED_RUN_STATUS,
    STORED_CHAIN_ROLE,
    STORED_MECHANISM,
    STORED_LAYER_KIND, /* model.h's layer_kind: Keras class names */
    STORED_INIT,       /* model.h's initializer_kind */
    STORED_CLIP_SPLIT,
    STORED_VIDEO_PROBLEM, /* src/data/video.h's video_problem */
    STORED_ENUM_COUNT
} stored_enum;

typedef struct stored_enum_def {
    const char *column;       /* "events.kind" */
    const char *const *names; /* indexed by the enum */
    int count;
} stored_enum_def;

extern const stored_enum_def stored_enums[STORED_ENUM_COUNT];

/* The enum value whose name is text, or -1 (NULL or unknown text). */
int stored_enum_parse(stored_enum which, const char *text);
/* events.inject_kind as an injection_kind, or -1.  A database made before
 * the column (column NULL) names the kind only in an injection's message,
 * "... (--inject KIND@...)": that is read instead. */
int stored_injection_kind(const char *column, const char *message);
/* The name a writer stores for value, or NULL (SQL NULL) when value is not
 * one of the enumeration's (-1: none). */
const char *stored_enum_name(stored_enum which, int value);

#endif
