/* db_video.h: the video-dataset rows of run.db (classes, bad_videos,
 * clip_origins; schema.sql), written on the db_writer's connection and so
 * inside its per-step transaction. */
#ifndef NANPROBE_DB_VIDEO_H
#define NANPROBE_DB_VIDEO_H

#include "db.h"
#include "run_enums.h"
#include "video.h"

typedef struct clip_origin_row {
    clip_split split;
    int epoch;
    long sample_id;
    const char *video;
    int start_frame, last_frame, frame_step;
    long video_frames;
    int crop_y, crop_x, crop_h, crop_w, looped, fallback;
} clip_origin_row;

typedef struct db_video_writer {
    db_writer *w;
    sqlite3_stmt *insert_origin;
} db_video_writer;

int db_video_writer_open(db_video_writer *v, db_writer *w, error *err);
void db_video_writer_close(db_video_writer *v);
int db_write_class(db_video_writer *v, int class_id, const char *name, long train_videos, long val_videos,
                   error *err);
int db_write_bad_video(db_video_writer *v, const char *path, video_problem problem, const char *reason, error *err);
int db_write_clip_origin(db_video_writer *v, const clip_origin_row *row, error *err);

#endif
