/* read_replay.h: the replays of one run (run.db's replays, replay_tensors
 * and replay_terms; src/rundb/db_replay.h writes them), loaded for the
 * verdict and the report's Replay section.
 *
 * The tables are optional: a database made before them, or a run never
 * replayed, has no replay, which is not an error.  Every value is
 * untrusted: a row with an unknown trigger or finding, a step out of range
 * or a layer id outside the run's layers is left out and counted (the
 * report says how many and why); non-finite and absurd numbers are kept as
 * they are and printed as such; what is read is bounded (REPLAY_*_MAX). */
#ifndef NANPROBE_READ_REPLAY_H
#define NANPROBE_READ_REPLAY_H

#include <sqlite3.h>

#include "db_replay.h"
#include "error.h"

#define REPLAY_DETAIL_MAX 4      /* nan / command replays kept with their tensors and terms (newest) */
#define REPLAY_TENSORS_MAX 65536 /* tensor rows per detailed replay */
#define REPLAY_TERMS_MAX 16      /* terms per replay (lowest rank first) */
#define REPLAY_SHADOW_STEPS_MAX 2048
#define REPLAY_SHADOW_SERIES_MAX 4096


typedef struct replay_tensor_info {
    int layer;                 /* index into rundata.layers */
    char tensor[48];
    double float_max_abs, double_max_abs, relative_error, double_value; /* NaN where NULL */
    long long double_nonfinite;
    int chain_position;        /* -1: not a link */
    int noise_only;            /* its relative error measures rounding noise only (not ranked) */
} replay_tensor_info;

typedef struct replay_term_info {
    int rank, source_layer, channel; /* source_layer: index into rundata.layers */
    int sample, d, h, w;             /* -1 where NULL */
    char tap[32];                    /* "" where NULL */
    double input, weight, term;      /* NaN where NULL */
} replay_term_info;

typedef struct replay_info {
    long long replay_id;
    int step, snapshot_step, threads;
    replay_trigger trigger;
    int float_rerun, reproduced;       /* reproduced -1: nothing to recur */
    int layers_compared, layers_identical; /* -1 where NULL */
    int first_difference_layer;        /* -1: none; layer_count: only the parameters differ */
    int loss_identical;                /* the rerun's data loss equals the run's: -1 unknown, 0/1 */
    int double_rerun;
    replay_finding finding;
    int origin_layer;                  /* -1: none (or not a layer of this run) */
    long long origin_element;          /* -1 where NULL */
    char origin_tensor[48], float_value[16];
    double double_value, double_max_abs; /* from the *_text twin when there is one */
    double float_seconds, double_seconds;
    char *rerun_event, *operation, *message; /* "" where NULL; owned */
    /* provenance (has_provenance 0: not written) */
    int has_provenance;
    double terms_sum, dominant_share, dominant_input_max, dominant_weight_typical;
    long long term_count;
    int dominant_channel;
    char *input_npy, *kernel_npy;      /* "" where NULL; owned */
    replay_tensor_info *tensors;       /* owned; only for nan / command replays */
    int tensor_count;
    replay_term_info terms[REPLAY_TERMS_MAX];
    int term_rows;                     /* terms[] filled, largest |term| first */
} replay_info;

/* The float32 relative error of every (layer, tensor) over the shadow
 * steps: error[step_index * series_count + series], NaN where absent. */
typedef struct replay_shadow {
    int step_count, series_count;
    int *steps;                        /* ascending */
    int *series_layer;                 /* index into rundata.layers */
    char (*series_tensor)[48];
    float *error;
} replay_shadow;

typedef struct replay_set {
    int tables;                        /* 1: the replay tables are there */
    replay_info *items;                /* nan and command replays, newest first */
    int count;
    replay_shadow shadow;
    long long ignored;                 /* rows left out, and why the first was */
    char ignored_reason[240];
} replay_set;

/* Reads the replays of run_id from db; layer_count bounds every layer id.
 * bias_noise[layer] (may be NULL): 1 for a convolution that feeds a
 * BatchNorm, whose bias has a gradient of exactly 0, so that float32 and
 * float64 move it by different rounding noise: its bias tensors are
 * noise_only and left out of the shadow series.  Fails only when the
 * database cannot be read. */
int replay_set_load(replay_set *set, sqlite3 *db, const char *path, int run_id, int layer_count,
                    const unsigned char *bias_noise, error *err);
void replay_set_free(replay_set *set);

/* A tensor that is zero in exact arithmetic (a conv bias feeding
 * BatchNorm has a gradient of exactly 0): float64 holds it at least 1e6
 * times below float32's rounding noise, so their relative error measures
 * the noise, not float32's precision; such tensors are not ranked. */
int replay_tensor_exact_zero(double float_max_abs, double double_max_abs);

/* The newest replay with trigger 'nan' (the verdict's), or NULL. */
const replay_info *replay_set_nan(const replay_set *set);

#endif
