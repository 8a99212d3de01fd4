/* dataset.h: where training and validation clips come from.
 *
 * Two sources behind one interface:
 *  - "synthetic": the built-in video dataset, generated on the fly and
 *    deterministically from (seed, split, sample id), so any clip can be
 *    produced on its own and a resumed run sees the same data;
 *  - a directory of NumPy .npy files (layout and hold-out rule at the top of
 *    dataset.c and in docs/videos.md).
 * Clips come out as float32, channels-last (D, H, W, C), after the chosen
 * input normalization.  Sample ids are positions within a split (0-based);
 * the training loop records them with every step.  What the synthetic
 * classes mean is in synthetic.h. */
#ifndef NANPROBE_DATASET_H
#define NANPROBE_DATASET_H

#include <stdint.h>

#include "error.h"
#include "video_source.h"

typedef enum dataset_split { SPLIT_TRAIN = 0, SPLIT_VALIDATION = 1 } dataset_split;

typedef enum normalize_kind {
    NORMALIZE_NONE,        /* values as stored (synthetic clips are 0..255) */
    NORMALIZE_SCALE,       /* x / 255, as Rescaling(1./255) */
    NORMALIZE_STANDARDIZE, /* per clip (x - mean) / std: a constant clip gives 0/0 = NaN */
    NORMALIZE_PER_IMAGE,   /* tf.image.per_image_standardization per frame: std floored at
                            * 1/sqrt(H*W*C), so a constant frame gives 0 */
} normalize_kind;

typedef struct dataset_config {
    const char *source; /* "synthetic" or a directory path */
    int clip[4];        /* D, H, W, C; all 0 = take the shape from the data (.npy only) */
    int classes;        /* > 1: softmax labels 0..classes-1; 1: binary labels 0/1 */
    long train_clips;   /* synthetic: how many; .npy: 0 = all, else at most this many */
    long val_clips;     /* synthetic: how many; .npy with val files: 0 = all, else at most
                         * this many; .npy without: how many of the LAST train clips to hold
                         * out for validation (0 = no validation split) */
    uint64_t seed;
    normalize_kind normalize;
    /* A directory of videos (video_index.h, video_source.h): chosen when
     * source has no train_clips.npy and holds videos, UCF101 split files
     * or these options name lists.  NULL = defaults.  classes may then be 0
     * (as found). */
    const video_options *video;
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
 * normalized, and their labels; either output may be NULL to skip it.
 * Allocates nothing, and clips are made in parallel (OpenMP) when count > 1.
 * Fails only on an id outside [0, dataset_size) or a bad split; .npy clips
 * are read through a memory map, so a file truncated after open raises
 * SIGBUS rather than returning -1. */
int dataset_read_batch(dataset *d, dataset_split split, const long *ids, int count,
                       float *clips, int *labels, error *err);
/* dataset_read_batch for a given epoch (video training crops and starts
 * depend on it; other sources ignore it).  origins (NULL to skip) receive
 * each video clip's provenance; for other sources they are left alone.
 * A batch announced with dataset_prefetch is taken from the prefetch
 * thread. */
int dataset_read_epoch(dataset *d, dataset_split split, int epoch, const long *ids, int count, float *clips,
                       int *labels, video_clip_origin *origins, error *err);
/* One clip as stored, before normalization (synthetic and .npy sources;
 * a video source fails): the replay asks whether a NaN came with the data
 * or from normalizing it. */
int dataset_read_raw(dataset *d, dataset_split split, long id, float *clip, error *err);
normalize_kind dataset_normalize(const dataset *d);
/* Announces the next batch so a video source decodes it in the background
 * (a no-op for the other sources). */
int dataset_prefetch(dataset *d, dataset_split split, int epoch, const long *ids, int count, error *err);
/* Whether dataset_open would read config as a video directory (for the
 * command line's defaults: all videos, classes as found). */
int dataset_config_is_video(const dataset_config *config);
/* The video source behind d, or NULL (synthetic, .npy). */
video_source *dataset_video(const dataset *d);
/* Classes served: the configured count, or for videos what was found. */
int dataset_classes(const dataset *d);
/* The label of one sample, without producing its clip. */
int dataset_label(const dataset *d, dataset_split split, long id, int *label, error *err);
/* One line for logs: the source, clip shape, split sizes and (for .npy) the
 * dtypes and where validation comes from. */
const char *dataset_describe(const dataset *d);

/* Normalizes one (D, H, W, C) clip in place, statistics in double.
 * standardize is over the whole clip and per_image over each frame (each
 * (H, W, C) image, as per_image_standardization does on a 4-D tensor). */
void normalize_apply(normalize_kind kind, const int clip[4], float *values);

const char *normalize_name(normalize_kind kind);
/* Parses "none", "scale", "standardize", "per_image"; -1 if unknown. */
int normalize_parse(const char *text, normalize_kind *kind);

#endif
