/* read_run.h: one run of a run.db loaded into memory for the reports.
 *
 * Owns the reading side of the schema contract (schema.sql): which
 * tables and columns the reports use, and the catalog of per-layer series
 * (a statistic of one tensor, or one derived metric, over the probed steps).
 * The big tables (stats, layer_metrics) are read in one pass each, split by
 * step range over a few threads with one read-only connection per thread,
 * because for a 10,000-step ResNet3D-34 run they hold ~15 million rows.
 * The small tables' rows are checked by their spec tables (read_columns.h):
 * a broken one fails the load with a message naming the file and column,
 * and stored names (events' kind, pass, value class; layers' kind) are
 * enums from the load on. */
#ifndef NANPROBE_READ_RUN_H
#define NANPROBE_READ_RUN_H

#include "error.h"
#include "layer_kind.h"
#include "read_columns.h"
#include "read_precision.h"
#include "read_replay.h"
#include "run_enums.h"

typedef enum series_id {
    SERIES_ACT_ABSMAX,            /* stats 'output'.absmax */
    SERIES_ACT_ZERO_FRACTION,     /* stats 'output'.zero_fraction */
    SERIES_GRAD_ABSMAX,           /* stats 'output_grad'.absmax */
    SERIES_GRAD_NORM,             /* stats 'output_grad'.l2norm */
    SERIES_KERNEL_NORM,           /* stats 'kernel'.l2norm */
    SERIES_KERNEL_GRAD_NORM,      /* stats 'kernel.grad'.l2norm */
    SERIES_UPDATE_RATIO,          /* layer_metrics 'kernel.update_ratio' */
    SERIES_L2_GRAD_RATIO,         /* layer_metrics 'kernel.l2_grad_ratio' */
    SERIES_BN_MIN_VARIANCE,       /* layer_metrics 'bn.min_variance' */
    SERIES_BN_MAX_VARIANCE,       /* layer_metrics 'bn.max_variance' */
    SERIES_BN_MAX_MEAN2_OVER_VAR, /* layer_metrics 'bn.max_mean2_over_var' */
    SERIES_BN_MAX_GAMMA_OVER_STD, /* layer_metrics 'bn.max_gamma_over_std' */
    SERIES_BN_COUNT,              /* layer_metrics 'bn.count' */
    SERIES_MAX_PROBABILITY,       /* layer_metrics 'loss.max_probability' */
    /* ---- the init x L2 x Adam mechanism metrics (issue 23), layer_metrics */
    SERIES_DATA_NORM,             /* 'kernel.data_norm' */
    SERIES_PADDING_NORM,          /* 'kernel.padding_norm' */
    SERIES_DATA_L2_PENALTY,       /* 'kernel.data_l2_penalty' */
    SERIES_PADDING_L2_PENALTY,    /* 'kernel.padding_l2_penalty' */
    SERIES_DATA_UPDATE_RATIO,     /* 'kernel.data_update_ratio' */
    SERIES_DATA_ANGLE,            /* 'kernel.data_angular_update' */
    SERIES_DATA_L2_GRAD_RATIO,    /* 'kernel.data_l2_grad_ratio' */
    SERIES_L2_DOMINANT_FRACTION,  /* 'kernel.l2_dominant_fraction' */
    SERIES_BN_MAX_VAR_RATIO,      /* 'bn.max_batch_over_moving_var' */
    SERIES_BN_MIN_VAR_RATIO,      /* 'bn.min_batch_over_moving_var' */
    SERIES_BN_MAX_MEAN_SHIFT,     /* 'bn.max_mean_shift2_over_moving_var' */
    /* ---- end of the mechanism metrics */
    SERIES_COUNT
} series_id;

#define SERIES_BIT(id) (1u << (id))
#define SERIES_ALL ((1u << SERIES_COUNT) - 1u)
_Static_assert(SERIES_COUNT <= 32, "series masks are 32-bit");

typedef enum stats_column { STATS_ABSMAX, STATS_L2NORM, STATS_ZERO_FRACTION } stats_column;

typedef struct series_def {
    const char *source;  /* the stats tensor or the layer_metrics metric */
    int from_metrics;    /* 1: layer_metrics.value; 0: stats.<column> */
    stats_column column;
    const char *key;     /* file-name safe: "grad_absmax" */
    const char *label;   /* plain words: "gradient absmax" */
} series_def;

extern const series_def series_defs[SERIES_COUNT];

typedef struct run_info {
    int run_id;
    int attempts; /* rows in the runs table (a resumed run adds one) */
    char *name, *version, *started_at, *finished_at, *status, *clip, *init, *data, *normalize;
    int depth, width, classes, batch, probe_every;
    long long seed;
    double l2, lr;
    int resumed_from; /* -1 when not resumed */
} run_info;

typedef struct layer_info {
    int layer_id;
    char *name, *path, *inputs, *output_shape;
    layer_kind kind; /* LAYER_KIND_COUNT: a class this nanprobe does not build */
    long long param_count;
} layer_info;

typedef struct step_info {
    int step, epoch, probed, loss_finite;
    double lr, loss, data_loss, l2_penalty, accuracy; /* NaN where NULL */
} step_info;

typedef struct epoch_info {
    int epoch, last_step;
    double loss, accuracy, val_loss, val_accuracy, lr; /* NaN where NULL */
} epoch_info;

typedef struct event_info {
    long long event_id;
    int step, epoch, layer_id; /* -1 where NULL */
    /* Stored names as enums; the count (EVENT_KIND_COUNT, PASS_COUNT,
     * VALUE_CLASS_COUNT) where NULL or a name this nanprobe does not know.
     * An unknown kind keeps its row: an events row is evidence beside the
     * run, a newer nanprobe may write kinds this one lacks, and no analysis
     * reads a kind it does not know (read_enum_name gives "" for it). */
    event_kind kind;
    probe_pass pass;
    value_class value_class;
    char *layer_name, *layer_path, *tensor, *message; /* "" where NULL */
    long long element_index, sample, d, h, w, channel, sample_id; /* -1 where NULL */
    int is_origin; /* -1 where NULL */
    double old_value, new_value;
    int inject_kind; /* an injection's injection_kind (run_enums.h), -1 otherwise */
} event_info;

/* Largest finite |x| one tensor of one layer reached over the run. */
typedef struct tensor_extreme {
    double absmax;
    int absmax_step;          /* 0: never seen */
    int first_nonfinite_step; /* 0: always finite */
    long long nonfinite_total;
} tensor_extreme;

/* The input batches (input_samples), summarized. */
typedef struct input_summary {
    long long clips, nonfinite_clips;
    int first_nonfinite_step;
    long long first_nonfinite_sample_id;
    double min_std, max_abs_mean, max_absmax, mean_mean, mean_std; /* NaN without rows */
    int min_std_step, max_abs_mean_step, max_absmax_step;
    long long min_std_sample_id, max_abs_mean_sample_id, max_absmax_sample_id;
} input_summary;

typedef struct rundata {
    char *path;
    run_info run;
    layer_info *layers;
    int layer_count;
    step_info *steps; /* ordered by step */
    int step_count;
    epoch_info *epochs;
    int epoch_count;
    event_info *events; /* ordered by event_id */
    int event_count;
    int *probe_steps; /* steps that have stats rows, ascending */
    int probe_count;
    /* series[s][probe * layer_count + layer]: NaN where absent; NULL when the
     * series was not requested; series_present[s]: any value at all. */
    float *series[SERIES_COUNT];
    int series_present[SERIES_COUNT];
    long long *series_elements[SERIES_COUNT]; /* per layer: stats.count (stats series only) */
    char **tensor_names; /* every distinct stats.tensor of the run */
    int tensor_count;
    tensor_extreme *extremes; /* layer_count x tensor_count, NULL unless requested */
    input_summary input;
    replay_set replays; /* the run's replays (empty without the tables) */
    precision_info precision; /* --precision, loss scale, the precision ladder */
} rundata;

/* Every stats row of one step (for the tables of a report). */
typedef struct rundata_stat {
    int layer;         /* index into rundata.layers */
    char tensor[64];
    long long count, nonfinite;
    double mean, std, min, max, absmax, l2norm, zero_fraction; /* NaN where NULL */
} rundata_stat;

/* Reads the stats rows of `step` (ordered by layer, tensor) into *rows
 * (malloc'd; *count may be 0). */
int rundata_step_stats(const rundata *d, int step, rundata_stat **rows, int *count, error *err);

/* Loads the newest run of db_path.  series_mask selects the series to load
 * (SERIES_BIT(...) | ...); with_extremes also scans every tensor for the
 * largest |x| per layer and tensor.  Fails (-1, message naming the file) on a
 * missing file, a non-nanprobe file, a run without steps. */
int rundata_load(rundata *d, const char *db_path, unsigned series_mask, int with_extremes, error *err);
void rundata_free(rundata *d);

/* The value of series s at probe p for layer l (NaN when absent). */
double rundata_value(const rundata *d, series_id s, int probe, int layer);
/* Index of the layer with this layer_id, or -1. */
int rundata_layer_index(const rundata *d, int layer_id);
/* The steps row of this step, or NULL. */
const step_info *rundata_step(const rundata *d, int step);
/* The first 'nan' event (lowest event_id), or NULL. */
const event_info *rundata_first_nan(const rundata *d);
/* The first finite value of series s for layer l over probes [0, end)
 * (NaN when there is none); *step, if not NULL, gets its step. */
double rundata_first_value(const rundata *d, series_id s, int layer, int end, int *step);
/* Does layer l have any value of series s? */
int rundata_layer_has(const rundata *d, series_id s, int layer);

#endif
