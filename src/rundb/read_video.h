/* read_video.h: the video-dataset rows of a run read back (classes,
 * bad_videos, clip_origins, the video_decode events; schema.sql).  A run on
 * synthetic or .npy data, or an older database without these tables, reads
 * as none: that is not an error. */
#ifndef NANPROBE_READ_VIDEO_H
#define NANPROBE_READ_VIDEO_H

#include "run_enums.h"
#include "run_reader.h"

/* Where one clip came from (clip_origins). */
typedef struct clip_origin_info {
    char video[1024]; /* the file, relative to the dataset directory (untrusted text) */
    long start_frame, last_frame, frame_step, video_frames;
    int looped;
    int fallback; /* 1: after a decode failure, 2: grey, the file did not decode */
} clip_origin_info;

/* The clip of a split and epoch (from 1) with
 * dataset id sample_id: 1 and *out, or 0 when there is no such row. */
int read_clip_origin(run_reader *r, clip_split split, int epoch, long sample_id, clip_origin_info *out);
/* The same for the training clip of step `step`. */
int read_clip_origin_at_step(run_reader *r, long step, long sample_id, clip_origin_info *out);

/* Rows as text, row-major (cells[row * columns + column], "" for NULL). */
typedef struct text_table {
    int rows, columns;
    char **cells;
} text_table;

/* The report's video tables, each bounded (VIDEO_ROWS_MAX rows; the
 * input clips: the non-finite ones, then by |x|, ten in all). */
typedef enum video_table {
    VIDEO_CLASSES,       /* class_id, name, train_videos, val_videos */
    VIDEO_BAD_VIDEOS,    /* path, problem, reason */
    VIDEO_DECODE_EVENTS, /* step, message */
    VIDEO_INPUT_CLIPS,   /* step, position, video, frames, frame_step, crop y,x, looped, absmax, non-finite */
    VIDEO_TABLE_COUNT
} video_table;

#define VIDEO_ROWS_MAX 50

typedef struct video_tables {
    long classes; /* rows in classes; 0 or less: not a video run, and no tables are read */
    text_table table[VIDEO_TABLE_COUNT];
} video_tables;

int read_video_tables(run_reader *r, video_tables *out);
void video_tables_free(video_tables *v);

#endif
