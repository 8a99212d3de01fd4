/* read_cause.h: the rows the causal walk (reports/analyse/cause.c and
 * inference_trace.c) may ask for, loaded in one call by the report's load
 * stage, so that the walk itself never opens the database.
 *
 * Which layers the walk follows depends on what it finds, so the window
 * holds every layer, but only the steps and names the walk can reach: the
 * stats rows of steps first_step..nan_step and the layer_metrics rows of
 * first_step - 1..nan_step (the walk looks back at most WINDOW_STEPS steps
 * from the first NaN; step first_step - 1 is the "before" of a kernel
 * update at the window's first step), of the tensors and metrics the
 * request names.  Rows sit in (layer_id, name, step) order with an index of
 * their series, so a query of the walk is two binary searches.
 * Size: 44 bytes a stats row, 12 a metric row.  The seed ResNet3D-34 (123
 * layers) probed every step keeps 447 stats rows and 210 metric rows a
 * step: about 22 KB a step, 5.7 MB for a full window of 256 steps (all
 * names would be 1077 + 1174 rows, 61 KB a step, 15.7 MB). */
#ifndef NANPROBE_READ_CAUSE_H
#define NANPROBE_READ_CAUSE_H

#include <stddef.h>

#include "read_validation.h"
#include "read_video.h"
#include "run_reader.h"

/* One stats row of a tensor (NaN where NULL). */
typedef struct stats_point {
    int step;
    double absmax, l2norm;
    long long nonfinite; /* nan + posinf + neginf */
    long long count;
} stats_point;

/* The clip of a step with the most non-finite values, then the largest
 * |x| (input_samples). */
typedef struct input_sample_info {
    int position;
    long long sample_id, nonfinite;
    double absmax, std;
} input_sample_info;

/* The rows of one (layer_id, name): rows first..first + count - 1. */
typedef struct window_series {
    int layer_id;
    char *name; /* stats.tensor or layer_metrics.metric */
    int first, count;
} window_series;

/* A table's rows in (layer_id, name, step) order; values[i] (stats) or
 * metric[i] (layer_metrics) belongs to steps[i]. */
typedef struct window_table {
    window_series *series;
    int series_count, series_capacity;
    int *steps;
    stats_point *stats;
    double *metric;
    int count, capacity;
} window_table;

/* What to load: the first NaN's step, the names the walk can ask for and,
 * for a NaN first seen in validation, its event (the trace of
 * inference_trace.c). */
typedef struct cause_window_request {
    int nan_step, first_step;
    const char *const *tensors; /* stats.tensor values kept (NULL: all) */
    int tensor_count;
    const char *const *metrics; /* layer_metrics.metric values kept (NULL: all) */
    int metric_count;
    int validation;          /* 1: load the validation rows below */
    long long event_id;      /* the validation NaN's event */
    int epoch;               /* its epoch */
    long long val_sample_id; /* its validation clip (-1 none) */
} cause_window_request;

typedef struct cause_window {
    int nan_step, first_step;
    window_table stats, metrics;
    double training_input_absmax; /* the input layer's largest absmax over the whole run (NaN: none) */
    int has_worst_sample, has_worst_origin;
    input_sample_info worst_sample; /* the worst clip of the NaN step */
    clip_origin_info worst_origin;  /* its video */
    validation_rows validation;     /* empty unless request.validation */
} cause_window;

/* Loads the window of q through r.  A database whose stats or
 * layer_metrics cannot be read fails here, with a message; returns 0 or -1
 * (out freed). */
int cause_window_load(run_reader *r, const cause_window_request *q, cause_window *out, error *err);
void cause_window_free(cause_window *w);

/* Bytes held by the window's tables (the memory the load costs). */
size_t cause_window_bytes(const cause_window *w);

/* The rows of (layer_id, tensor) with first_step <= step <= last_step in
 * step order, at most max; returns the count.  Steps outside the window
 * have no rows. */
int cause_window_stats(const cause_window *w, int layer_id, const char *tensor, int first_step, int last_step,
                       stats_point *out, int max);

/* The tensor's non-finite count and element count at step: 1, or 0 when
 * there is no row. */
int cause_window_count(const cause_window *w, int step, int layer_id, const char *tensor, long long *nonfinite,
                       long long *count);

/* layer_metrics.value of (layer_id, metric) at step; NaN when none. */
double cause_window_metric(const cause_window *w, int layer_id, const char *metric, int step);

/* The largest value of metric at step over every layer; NaN when none. */
double cause_window_largest_metric(const cause_window *w, const char *metric, int step);

#endif
