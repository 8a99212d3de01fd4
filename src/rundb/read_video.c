/* read_video.c: the video-dataset rows (see read_video.h). */
#include "read_video.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_reader_sql.h"

#define ORIGIN_COLUMNS "o.video, o.start_frame, o.last_frame, o.frame_step, o.looped, o.fallback, o.video_frames"

static const char origin_sql[] = "SELECT " ORIGIN_COLUMNS " FROM clip_origins o WHERE o.run_id = ?1 AND "
                                 "o.split = ?2 AND o.epoch = ?3 AND o.sample_id = ?4";
static const char origin_step_sql[] = "SELECT " ORIGIN_COLUMNS " FROM clip_origins o JOIN steps s ON "
                                      "s.run_id = o.run_id AND s.epoch = o.epoch WHERE o.run_id = ?1 AND "
                                      "o.split = ?2 AND s.step = ?3 AND o.sample_id = ?4";

static int origin_row(run_reader *r, const char *sql, clip_split split, long key, long sample_id,
                      clip_origin_info *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = run_reader_query(r, sql, NULL);
    if (!st) return 0; /* no clip_origins table: an older or non-video run */
    sqlite3_bind_text(st, 2, clip_split_names[split], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, key);
    sqlite3_bind_int64(st, 4, sample_id);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
        snprintf(out->video, sizeof out->video, "%s", (const char *)sqlite3_column_text(st, 0));
        out->start_frame = (long)sqlite3_column_int64(st, 1);
        out->last_frame = (long)sqlite3_column_int64(st, 2);
        out->frame_step = (long)sqlite3_column_int64(st, 3);
        out->looped = sqlite3_column_int64(st, 4) != 0;
        out->fallback = (int)sqlite3_column_int64(st, 5);
        out->video_frames = (long)sqlite3_column_int64(st, 6);
        found = 1;
    }
    sqlite3_reset(st);
    return found;
}

int read_clip_origin(run_reader *r, clip_split split, int epoch, long sample_id, clip_origin_info *out)
{
    return origin_row(r, origin_sql, split, epoch, sample_id, out);
}

int read_clip_origin_at_step(run_reader *r, long step, long sample_id, clip_origin_info *out)
{
    return origin_row(r, origin_step_sql, CLIP_SPLIT_TRAIN, step, sample_id, out);
}

/* ------------------------------------------------------------- tables */

static const char classes_count_sql[] = "SELECT COUNT(*) FROM classes WHERE run_id = ?1";

static const char *const table_sql[VIDEO_TABLE_COUNT] = {
    [VIDEO_CLASSES] = "SELECT class_id, name, train_videos, val_videos FROM classes WHERE run_id = ?1 "
                      "ORDER BY class_id LIMIT 50",
    [VIDEO_BAD_VIDEOS] = "SELECT path, problem, reason FROM bad_videos WHERE run_id = ?1 ORDER BY path LIMIT 50",
    [VIDEO_DECODE_EVENTS] = "SELECT step, message FROM events WHERE kind = 'video_decode' AND run_id = ?1 "
                            "ORDER BY event_id LIMIT 50",
    [VIDEO_INPUT_CLIPS] = "SELECT step, position, video, start_frame || '-' || last_frame, frame_step, "
                          "crop_y || ',' || crop_x, looped, absmax, nan_count + inf_count FROM input_sample_videos "
                          "WHERE run_id = ?1 ORDER BY nan_count + inf_count > 0 DESC, absmax DESC LIMIT 10",
};

static int table_read(run_reader *r, const char *sql, text_table *t)
{
    sqlite3_stmt *st = run_reader_query(r, sql, NULL);
    if (!st) return 0; /* a table an older database lacks: no rows */
    t->columns = sqlite3_column_count(st);
    t->cells = calloc((size_t)VIDEO_ROWS_MAX * (size_t)t->columns, sizeof *t->cells);
    if (!t->cells) return -1;
    while (t->rows < VIDEO_ROWS_MAX && sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < t->columns; c++) {
            const unsigned char *text = sqlite3_column_text(st, c);
            char *cell = strdup(text ? (const char *)text : "");
            if (!cell) return -1;
            t->cells[t->rows * t->columns + c] = cell;
        }
        t->rows++;
    }
    sqlite3_reset(st);
    return 0;
}

int read_video_tables(run_reader *r, video_tables *out)
{
    memset(out, 0, sizeof *out);
    out->classes = -1;
    sqlite3_stmt *st = run_reader_query(r, classes_count_sql, NULL);
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        out->classes = (long)sqlite3_column_int64(st, 0);
    if (st) sqlite3_reset(st);
    if (out->classes <= 0) return 0;
    for (int t = 0; t < VIDEO_TABLE_COUNT; t++)
        if (table_read(r, table_sql[t], &out->table[t])) {
            video_tables_free(out);
            return -1;
        }
    return 0;
}

void video_tables_free(video_tables *v)
{
    for (int t = 0; t < VIDEO_TABLE_COUNT; t++) {
        text_table *x = &v->table[t];
        for (int i = 0; x->cells && i < VIDEO_ROWS_MAX * x->columns; i++) free(x->cells[i]); /* calloc: NULL past the rows */
        free(x->cells);
        x->cells = NULL;
        x->rows = 0;
    }
}
