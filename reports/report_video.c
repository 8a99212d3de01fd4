/* report_video.c: the report's "Video data" section (see report_video.h).
 * Missing tables (older databases, other data sources) mean no section. */
#include "report_video.h"

#include <sqlite3.h>

#include "html.h"

#define VIDEO_ROWS_MAX 50 /* rows per table; the database holds the rest */

/* Runs sql and writes each row as an HTML table row of escaped cells.
 * Returns the number of rows. */
static int rows_write(FILE *f, sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    int rows = 0;
    while (rows < VIDEO_ROWS_MAX && sqlite3_step(st) == SQLITE_ROW) {
        fputs("<tr>", f);
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *t = sqlite3_column_text(st, c);
            fputs("<td>", f);
            html_escape(f, t ? (const char *)t : "");
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
        rows++;
    }
    sqlite3_finalize(st);
    return rows;
}

static long count_of(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void table(FILE *f, sqlite3 *db, const char *intro, const char *header, const char *sql)
{
    fprintf(f, "<p>%s</p>\n<table>\n<tr>%s</tr>\n", intro, header);
    if (!rows_write(f, db, sql)) fputs("<tr><td>none</td></tr>\n", f);
    fputs("</table>\n", f);
}

void report_video_section(FILE *f, const char *db_path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    long classes = count_of(db, "SELECT COUNT(*) FROM classes WHERE run_id = (SELECT MAX(run_id) FROM runs)");
    if (classes > 0) {
        fputs("<h2>Video data</h2>\n", f);
        table(f, db, "Classes (the label is the index).",
              "<th>label</th><th>class</th><th>train videos</th><th>validation videos</th>",
              "SELECT class_id, name, train_videos, val_videos FROM classes WHERE run_id = (SELECT MAX(run_id) FROM "
              "runs) ORDER BY class_id LIMIT 50");
        table(f, db, "Videos that could not be used and were skipped (--skip-bad-videos).",
              "<th>file</th><th>problem</th><th>why</th>",
              "SELECT path, problem, reason FROM bad_videos WHERE run_id = (SELECT MAX(run_id) FROM runs) "
              "ORDER BY path LIMIT 50");
        table(f, db, "Decode failures during the run, and the fallback taken.", "<th>step</th><th>what happened</th>",
              "SELECT step, message FROM events WHERE kind = 'video_decode' AND run_id = (SELECT MAX(run_id) FROM "
              "runs) ORDER BY event_id LIMIT 50");
        table(f, db, "Input clips that held a NaN or Inf, then the ten with the largest |value|: the video and "
              "frames each came from (clip_origins).",
              "<th>step</th><th>position</th><th>video</th><th>frames</th><th>step k</th><th>crop y,x</th>"
              "<th>looped</th><th>absmax</th><th>non-finite</th>",
              "SELECT step, position, video, start_frame || '-' || last_frame, frame_step, crop_y || ',' || crop_x, "
              "looped, absmax, nan_count + inf_count FROM input_sample_videos WHERE run_id = (SELECT MAX(run_id) "
              "FROM runs) ORDER BY nan_count + inf_count > 0 DESC, absmax DESC LIMIT 10");
    }
    sqlite3_close(db);
}
