/* db_video.c: writing the video-dataset tables (see db_video.h).  Kept out
 * of db.c so the general writer does not grow a dependency on one data
 * source; it shares db.c's connection and run id. */
#include "db_video.h"

#include <stdio.h>
#include <string.h>

static int failure(db_video_writer *v, const char *what, error *err)
{
    return error_set(err, "run database: %s failed: %s", what, sqlite3_errmsg(v->w->db));
}

int db_video_writer_open(db_video_writer *v, db_writer *w, error *err)
{
    memset(v, 0, sizeof *v);
    v->w = w;
    const char *sql = "INSERT OR REPLACE INTO clip_origins (run_id, split, epoch, sample_id, video, start_frame, "
                      "last_frame, frame_step, video_frames, crop_y, crop_x, crop_h, crop_w, looped, fallback) "
                      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &v->insert_origin, NULL) != SQLITE_OK)
        return failure(v, "preparing the clip_origins statement", err);
    return 0;
}

void db_video_writer_close(db_video_writer *v)
{
    sqlite3_finalize(v->insert_origin);
    v->insert_origin = NULL;
}

static int statement_run(db_video_writer *v, sqlite3_stmt *st, const char *what, error *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : failure(v, what, err);
}

int db_write_class(db_video_writer *v, int class_id, const char *name, long train_videos, long val_videos,
                   error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->w->db, "INSERT OR REPLACE INTO classes (run_id, class_id, name, train_videos, "
                           "val_videos) VALUES (?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return failure(v, "preparing the classes statement", err);
    sqlite3_bind_int64(st, 1, v->w->run_id);
    sqlite3_bind_int(st, 2, class_id);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, train_videos);
    sqlite3_bind_int64(st, 5, val_videos);
    int status = statement_run(v, st, "writing a class", err);
    sqlite3_finalize(st);
    return status;
}

int db_write_bad_video(db_video_writer *v, const char *path, video_problem problem, const char *reason, error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(v->w->db, "INSERT OR REPLACE INTO bad_videos (run_id, path, problem, reason) "
                           "VALUES (?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        return failure(v, "preparing the bad_videos statement", err);
    sqlite3_bind_int64(st, 1, v->w->run_id);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, video_problem_name(problem), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT);
    int status = statement_run(v, st, "writing a bad video", err);
    sqlite3_finalize(st);
    return status;
}

int db_write_clip_origin(db_video_writer *v, const clip_origin_row *r, error *err)
{
    sqlite3_stmt *st = v->insert_origin;
    sqlite3_bind_int64(st, 1, v->w->run_id);
    sqlite3_bind_text(st, 2, clip_split_names[r->split], -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, r->epoch);
    sqlite3_bind_int64(st, 4, r->sample_id);
    sqlite3_bind_text(st, 5, r->video, -1, SQLITE_TRANSIENT);
    const long ints[] = {r->start_frame, r->last_frame, r->frame_step, r->video_frames, r->crop_y,
                         r->crop_x,      r->crop_h,     r->crop_w,     r->looped,       r->fallback};
    for (int i = 0; i < 10; i++) sqlite3_bind_int64(st, 6 + i, ints[i]);
    return statement_run(v, st, "writing a clip origin", err);
}
