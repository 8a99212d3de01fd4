/* read_cause.h: the rows the causal walk (reports/cause.c and
 * inference_trace.c) reads as it goes, since which layers and tensors it
 * needs depends on what it has found: a tensor's statistics over a window
 * of steps, a layer metric at a step, a tensor's non-finite count, the
 * worst clip of a step. */
#ifndef NANPROBE_READ_CAUSE_H
#define NANPROBE_READ_CAUSE_H

#include "run_reader.h"

/* Prepares the walk's two queries, so that a database without stats or
 * layer_metrics fails here, with a message, and not halfway through. */
int read_cause_ready(run_reader *r, error *err);

/* One stats row of a tensor (NaN where NULL). */
typedef struct stats_point {
    int step;
    double absmax, l2norm;
    long long nonfinite; /* nan + posinf + neginf */
} stats_point;

/* The rows of (layer_id, tensor) with first_step <= step <= last_step in
 * step order, at most max; returns the count. */
int read_stats_window(run_reader *r, int layer_id, const char *tensor, int first_step, int last_step,
                      stats_point *out, int max);

/* The tensor's non-finite count and element count at step: 1, or 0 when
 * there is no row. */
int read_stats_count(run_reader *r, int step, int layer_id, const char *tensor, long long *nonfinite,
                     long long *count);

/* The largest absmax of the input layer's output over the run's training
 * steps (NaN when none). */
double read_training_input_absmax(run_reader *r);

/* layer_metrics.value of (layer_id, metric) at step; NaN when none. */
double read_layer_metric(run_reader *r, int layer_id, const char *metric, int step);

/* The largest value of metric at step over every layer; NaN when none. */
double read_largest_metric(run_reader *r, const char *metric, int step);

/* The clip of a step with the most non-finite values, then the largest
 * |x| (input_samples). */
typedef struct input_sample_info {
    int position;
    long long sample_id, nonfinite;
    double absmax, std;
} input_sample_info;

/* 1 and *out, or 0 when the step has no input_samples rows. */
int read_worst_input_sample(run_reader *r, int step, input_sample_info *out);

#endif
