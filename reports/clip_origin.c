/* clip_origin.c: one line naming a clip's video, frames and crop (see
 * clip_origin.h).  The text comes from the database, i.e. from file names
 * on the user's disk: callers that put it into a gnuplot script must pass
 * it through gnuplot_quote. */
#include "clip_origin.h"

#include <stdio.h>
#include <string.h>

static int describe(sqlite3 *db, const char *sql, long long run_id, const char *split, long key, long sample_id,
                    char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st); /* no clip_origins table: an older or non-video run */
        return 0;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, key);
    sqlite3_bind_int64(st, 4, sample_id);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT) {
        const char *video = (const char *)sqlite3_column_text(st, 0);
        long start = (long)sqlite3_column_int64(st, 1), last = (long)sqlite3_column_int64(st, 2);
        long step = (long)sqlite3_column_int64(st, 3);
        long looped = (long)sqlite3_column_int64(st, 4), fallback = (long)sqlite3_column_int64(st, 5);
        long frames = (long)sqlite3_column_int64(st, 6);
        char every[32] = "", loop[64] = "";
        if (step > 1) snprintf(every, sizeof every, " every %ld", step);
        if (looped) snprintf(loop, sizeof loop, " (looped: the video has %ld frames)", frames);
        snprintf(out, size, "%s, frames %ld-%ld%s%s%s", video, start, last, every, loop,
                 fallback == 1 ? " (after a decode failure)" : fallback == 2 ? " (grey: the file did not decode)" : "");
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

#define ORIGIN_COLUMNS "o.video, o.start_frame, o.last_frame, o.frame_step, o.looped, o.fallback, o.video_frames"

int clip_origin_describe(sqlite3 *db, long long run_id, const char *split, int epoch, long sample_id, char *out,
                         size_t size)
{
    return describe(db, "SELECT " ORIGIN_COLUMNS " FROM clip_origins o WHERE o.run_id = ?1 AND o.split = ?2 "
                        "AND o.epoch = ?3 AND o.sample_id = ?4", run_id, split, epoch, sample_id, out, size);
}

int clip_origin_describe_step(sqlite3 *db, long long run_id, long step, long sample_id, char *out, size_t size)
{
    return describe(db, "SELECT " ORIGIN_COLUMNS " FROM clip_origins o JOIN steps s ON s.run_id = o.run_id "
                        "AND s.epoch = o.epoch WHERE o.run_id = ?1 AND o.split = ?2 AND s.step = ?3 "
                        "AND o.sample_id = ?4", run_id, "train", step, sample_id, out, size);
}
