/* dataset.h: where training and validation clips come from.
 *
 * Two sources behind one interface:
 *  - "synthetic": the built-in video dataset, generated on the fly and
 *    deterministically from (seed, split, sample id), so any clip can be
 *    produced on its own and a resumed run sees the same data;
 *  - a directory of NumPy .npy files (layout in the README, "Data").
 * Clips come out as float32, channels-last (D, H, W, C), after the chosen
 * input normalization.  Sample ids are positions within a split (0-based);
 * the training loop records them with every step. */
#ifndef NANPROBE_DATASET_H
#define NANPROBE_DATASET_H

#include <stdint.h>

#include "error.h"

typedef enum dataset_split { SPLIT_TRAIN = 0, SPLIT_VALIDATION = 1 } dataset_split;

typedef enum normalize_kind {
    NORMALIZE_NONE,        /* values as stored (synthetic clips are 0..255) */
    NORMALIZE_SCALE,       /* x / 255, as Rescaling(1./255) */
    NORMALIZE_STANDARDIZE, /* per clip (x - mean) / std: a constant clip gives 0/0 = NaN */
    NORMALIZE_PER_IMAGE,   /* tf.image.per_image_standardization: std floored at 1/sqrt(n) */
} normalize_kind;

typedef struct dataset_config {
    const char *source; /* "synthetic" or a directory path */
    int clip[4];        /* D, H, W, C; all 0 = take the shape from the data (.npy only) */
    int classes;        /* > 1: softmax labels 0..classes-1; 1: binary labels 0/1 */
    long train_clips;   /* synthetic: how many; .npy: 0 = all, else at most this many */
    long val_clips;     /* likewise for validation (see README for .npy hold-out) */
    uint64_t seed;
    normalize_kind normalize;
} dataset_config;

typedef struct dataset dataset;

/* Opens the source and validates it completely (headers, shapes, dtypes,
 * label range and count) so that training never meets a bad file halfway.
 * On failure *out is NULL and err names the file and the problem. */
int dataset_open(dataset **out, const dataset_config *config, error *err);
void dataset_close(dataset *d);

long dataset_size(const dataset *d, dataset_split split);
/* The clip shape actually served (after dataset_open resolved it). */
void dataset_clip_shape(const dataset *d, int clip[4]);

/* Writes count clips (ids within the split) into clips, one after another,
 * normalized, and their labels.  Fails only on I/O errors. */
int dataset_read_batch(dataset *d, dataset_split split, const long *ids, int count,
                       float *clips, int *labels, error *err);

const char *normalize_name(normalize_kind kind);
/* Parses "none", "scale", "standardize", "per_image"; -1 if unknown. */
int normalize_parse(const char *text, normalize_kind *kind);

#endif
