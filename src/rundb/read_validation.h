/* read_validation.h: the validation rows of a run loaded for the trace of
 * a NaN first seen in validation (reports/analyse/inference_trace.c):
 * validation_stats and validation_batchnorm (probes/probe_validation.c) of
 * the NaN's epoch and batch, every layer, and the video of its clip.
 * Loaded up front with the causal walk's window (read_cause.h). */
#ifndef NANPROBE_READ_VALIDATION_H
#define NANPROBE_READ_VALIDATION_H

#include "read_video.h"
#include "run_reader.h"

/* A layer's output in one validation batch (NaN / 0 when absent). */
typedef struct validation_output {
    double absmax; /* finite part */
    long long nonfinite, count;
} validation_output;

/* A BatchNorm's moving statistics against training and inference
 * (validation_batchnorm; NaN where NULL, -1 for a NULL channel). */
typedef struct validation_batchnorm {
    int found, channels, train_steps, scale_channel, bad, bad_channel;
    double var_ratio_min, var_ratio_max, mean_shift, scale, moving_variance_min;
} validation_batchnorm;

typedef struct validation_output_row {
    int layer_id;
    validation_output output;
} validation_output_row;

typedef struct validation_batchnorm_row {
    int layer_id;
    validation_batchnorm batchnorm;
} validation_batchnorm_row;

/* Each array in layer_id order, one row a layer. */
typedef struct validation_rows {
    int val_batch; /* events.val_batch of the event, or -1 (none, or an older database) */
    validation_output_row *outputs;
    int output_count;
    validation_batchnorm_row *batchnorms;
    int batchnorm_count;
    int has_clip;
    clip_origin_info clip; /* the event's validation clip */
} validation_rows;

/* Loads the rows of the validation event event_id after epoch, and the
 * video of its clip sample_id.  Tables an older database lacks load
 * empty; returns -1 only when memory runs out. */
int read_validation_rows(run_reader *r, int epoch, long long event_id, long long sample_id, validation_rows *out,
                         error *err);
void validation_rows_free(validation_rows *v);

/* The output of layer_id in the event's validation batch (the epoch's
 * summary row, val_batch -1, when the batch has none): 1 and *out, or 0. */
int validation_rows_output(const validation_rows *v, int layer_id, validation_output *out);

/* The BatchNorm row of layer_id; found 0 (and scale, var_ratio_max and
 * mean_shift NaN) when there is none. */
void validation_rows_batchnorm(const validation_rows *v, int layer_id, validation_batchnorm *out);

#endif
