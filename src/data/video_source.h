/* video_source.h: a directory of videos as a dataset source: the index
 * (video_index.h), every file probed at open (video.h), clip sampling, a
 * prefetch thread, provenance and decode events.
 *
 * Clip sampling, the C3D convention:
 *   1. every frame is resized to resize_h x resize_w (default 128x171);
 *   2. the clip takes D frames start, start + k, ..., start + (D-1) k
 *      (k = --frame-step, default 1), spanning (D-1) k + 1 frames;
 *   3. each frame is cropped to the clip's H x W.
 * Training: start uniform in [0, frames - span], crop corner uniform over
 * the resized frame; validation: the centred start and crop.  The training
 * choices are a function of (seed, epoch, split, sample id) alone (an rng
 * seeded from them), so thread counts, prefetching and --resume never
 * change them.
 * Short videos (frames < span): the indices wrap around, i*k mod frames
 * from frame 0 ("loop", as PyTorchVideo's and mmaction's samplers do); the
 * clip's origin records looped = 1.
 * Mid-run decode failure (a file damaged or shortened after the open-time
 * probe): the clip is made again as if the video had only the frames that
 * did decode (same sampling rule, so usually looped), the video keeps that
 * length for the rest of the run, and an event says so.  When not even one
 * frame decodes the clip is mid-grey (128) and the event says that.  Either
 * way the step goes on: a decode error never stops or hangs a run. */
#ifndef NANPROBE_VIDEO_SOURCE_H
#define NANPROBE_VIDEO_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "video.h"

typedef struct video_options {
    int split;              /* --split N: UCF101 split files; 0 = none */
    const char *train_list; /* --train-list, --val-list; NULL = none */
    const char *val_list;
    int resize[2];          /* --resize HxW; 0x0 = 128x171 */
    int frame_step;         /* --frame-step; 0 = 1 */
    int skip_bad;           /* --skip-bad-videos */
} video_options;

/* Where one clip came from. */
typedef struct video_clip_origin {
    const char *path;  /* relative to the dataset directory; owned by the source */
    long video_frames; /* frames the video holds (as probed, or as decoded after a failure) */
    int start, step, span;
    int crop_y, crop_x, crop_h, crop_w;
    int looped;        /* the video was shorter than the span: indices wrapped */
    int fallback;      /* 1: mid-run failure, shorter video; 2: grey clip */
} video_clip_origin;

typedef struct video_source video_source;

typedef struct video_source_config {
    const char *dir;
    video_options options;
    int clip[4];        /* D, H, W, C (C = 3 RGB or 1 luma) */
    int classes;        /* 0 = as found; else must match (1 = binary over 2 classes) */
    long train_clips;   /* 0 = all, else at most this many */
    long val_clips;     /* hold-out count when the layout has no validation list, else a cap */
    uint64_t seed;
    /* Applied to every clip after decoding (normalization), on whichever
     * thread decoded it. */
    void (*clip_finish)(const void *context, float *clip);
    const void *finish_context;
} video_source_config;

int video_source_open(video_source **out, const video_source_config *config, error *err);
void video_source_close(video_source *vs);

long video_source_size(const video_source *vs, int split);
int video_source_classes(const video_source *vs);
const char *video_source_class_name(const video_source *vs, int c);
/* "UCF101 split 1", "class folders", "lists" */
const char *video_source_layout(const video_source *vs);
void video_source_resize(const video_source *vs, int resize[2]);
/* One video of a split: its path (relative), probe result and label. */
void video_source_video(const video_source *vs, int split, long id, const char **path, const video_info **info,
                        int *label);
/* Files found unusable at open (listed when skipped; the open fails otherwise). */
long video_source_bad_count(const video_source *vs);
void video_source_bad(const video_source *vs, long i, const char **path, video_problem *problem,
                      const char **reason);

/* The origin the sampling rule gives (train: random from the seed, epoch
 * and id; validation: centre). */
void video_source_origin(const video_source *vs, int split, int epoch, long id, video_clip_origin *origin);

/* Makes clips for ids (in parallel, or waits for the prefetched batch when
 * it is the same (split, epoch, ids)); origins may be NULL. */
int video_source_read(video_source *vs, int split, int epoch, const long *ids, int count, float *clips,
                      video_clip_origin *origins, error *err);
/* Starts decoding a batch on the prefetch thread; the next
 * video_source_read of the same batch takes it.  A prefetch that is never
 * read is discarded. */
int video_source_prefetch(video_source *vs, int split, int epoch, const long *ids, int count, error *err);
/* Takes the oldest pending decode event (mid-run failure) into message;
 * returns 1, or 0 when there is none. */
int video_source_event_take(video_source *vs, char *message, size_t size);

/* Seconds the last video_source_read waited for the prefetch thread, and
 * whether it was served by it. */
double video_source_last_wait(const video_source *vs, int *prefetched);

#endif
