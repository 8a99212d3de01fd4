/* read_validation.h: the validation rows of a run read back for the trace
 * of a NaN first seen in validation (reports/inference_trace.c):
 * validation_stats, validation_batchnorm (probes/probe_validation.c) and
 * the validation batch of an event. */
#ifndef NANPROBE_READ_VALIDATION_H
#define NANPROBE_READ_VALIDATION_H

#include "run_reader.h"

/* events.val_batch of the event, or -1 (none, or an older database
 * without the column). */
int read_event_val_batch(run_reader *r, long long event_id);

/* A layer's output in one validation batch (NaN / 0 when absent). */
typedef struct validation_output {
    double absmax; /* finite part */
    long long nonfinite, count;
} validation_output;

/* The output of layer_id in validation batch val_batch after epoch (the
 * epoch's summary row, val_batch -1, when the batch has none): 1 and *out,
 * or 0. */
int read_validation_output(run_reader *r, int epoch, int val_batch, int layer_id, validation_output *out);

/* A BatchNorm's moving statistics against training and inference
 * (validation_batchnorm; NaN where NULL, -1 for a NULL channel). */
typedef struct validation_batchnorm {
    int found, channels, train_steps, scale_channel, bad, bad_channel;
    double var_ratio_min, var_ratio_max, mean_shift, scale, moving_variance_min;
} validation_batchnorm;

/* The row of layer_id after epoch; found 0 (and scale, var_ratio_max and
 * mean_shift NaN) when there is none. */
void read_validation_batchnorm(run_reader *r, int epoch, int layer_id, validation_batchnorm *out);

#endif
