/* db_replay.h: the rows a replay of one step leaves in run.db (schema.sql:
 * replays, replay_tensors, replay_terms).
 *
 * A replay restores the state at the start of a step and runs the step
 * again: in float32 (does the first non-finite value recur, bit for bit?)
 * and in float64 (is it float32's fault, a real divergence, or the maths
 * itself?).  It happens on the first non-finite value of a run (trigger
 * "nan"), after the fact (`nanprobe replay`, trigger "command") and, with
 * --shadow-every N, on one healthy step in N (trigger "shadow", float64
 * only).  Non-finite doubles are stored as text beside the REAL column,
 * because SQLite stores a NaN as NULL. */
#ifndef NANPROBE_DB_REPLAY_H
#define NANPROBE_DB_REPLAY_H

#include "db.h"
#include "run_enums.h"


typedef struct replay_row {
    long step;               /* the step replayed */
    replay_trigger trigger;
    long snapshot_step;      /* the state restored was the one after this many steps */
    int threads;
    /* float32 rerun (float_rerun = 0: not run) */
    int float_rerun;
    int reproduced;          /* -1: the step had no non-finite value to recur; 0/1 */
    int layers_compared, layers_identical; /* outputs and gradients equal to the original's, bit for bit */
    int first_difference_layer;            /* -1 when all identical */
    int loss_identical;      /* the rerun's data loss equals the one steps.data_loss holds: -1 unknown, 0/1 */
    const char *rerun_event; /* the rerun's first non-finite value (its message), NULL if none */
    /* float64 rerun (double_rerun = 0: not run) */
    int double_rerun;
    replay_finding finding;
    /* the element explained: the original's first non-finite value */
    int origin_layer;        /* -1: none */
    const char *origin_tensor;
    long long origin_element;
    value_class float_value; /* the original's, at the element */
    double double_value;     /* at the element in float64 */
    double double_max_abs;   /* largest |x| of that tensor in float64 */
    const char *operation;   /* maths_itself: "Inf - Inf in the sum of conv3d_9's products", else NULL */
    const char *message;     /* the verdict's sentence */
    double float_seconds, double_seconds; /* wall time of each rerun */
} replay_row;

/* One tensor of the replayed step: float32 against float64. */
typedef struct replay_tensor_row {
    int layer;
    const char *tensor;      /* "output", "output_grad", "batch_variance", "kernel.grad", ... as stats.tensor */
    double float_max_abs, double_max_abs;
    double relative_error;   /* ||x32 - x64||_2 / ||x64||_2; NaN when either is non-finite */
    long long double_nonfinite; /* non-finite elements in float64 */
    int chain_position;      /* position in cause_chain 0 when the tensor is a link of it, else -1 */
    double double_value;     /* at the chain link's element (chain_position >= 0), else NaN */
} replay_tensor_row;

/* One term of the origin element's sum (element provenance), largest first. */
typedef struct replay_term_row {
    int rank;                /* 0 = largest |term| */
    int source_layer;        /* the layer whose output the term reads */
    int channel;             /* its input channel */
    int sample, d, h, w;     /* the input cell, -1 where not applicable */
    const char *tap;         /* "(kd,kh,kw)" for a conv, NULL otherwise */
    double input, weight, term; /* term = input * weight (BatchNorm: the term of the mean or variance) */
} replay_term_row;

/* The provenance summary of one replay (replays columns). */
typedef struct replay_provenance_row {
    double terms_sum;        /* the float64 sum of every term */
    int term_count;          /* terms in the receptive field */
    int dominant_channel;    /* input channel with the largest share of sum |term| */
    double dominant_share;   /* its share, 0..1 */
    double dominant_input_max, dominant_weight_typical; /* up to 3e36, taps of ~1e3 */
    const char *input_npy, *kernel_npy; /* files beside the report, relative to the run directory */
} replay_provenance_row;

typedef struct db_replay_writer {
    db_writer *w;
    sqlite3_stmt *insert_replay, *insert_tensor, *insert_term, *set_provenance;
} db_replay_writer;

int db_replay_writer_open(db_replay_writer *r, db_writer *w, error *err);
void db_replay_writer_close(db_replay_writer *r);
/* Inserts the replays row; *replay_id receives its id for the rows below. */
int db_write_replay(db_replay_writer *r, const replay_row *row, long long *replay_id, error *err);
int db_write_replay_tensor(db_replay_writer *r, long long replay_id, const replay_tensor_row *row, error *err);
int db_write_replay_term(db_replay_writer *r, long long replay_id, const replay_term_row *row, error *err);
int db_write_replay_provenance(db_replay_writer *r, long long replay_id, const replay_provenance_row *row,
                               error *err);

#endif
