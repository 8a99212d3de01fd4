/* report_video.c: the report's "Video data" section (see report_video.h).
 * Missing tables (older databases, other data sources) mean no section. */
#include "report_video.h"

#include "html.h"

static void table(FILE *f, const text_table *t, const char *intro, const char *header)
{
    fprintf(f, "<p>%s</p>\n<table>\n<tr>%s</tr>\n", intro, header);
    for (int r = 0; r < t->rows; r++) {
        fputs("<tr>", f);
        for (int c = 0; c < t->columns; c++) {
            fputs("<td>", f);
            html_escape(f, t->cells[r * t->columns + c]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    if (!t->rows) fputs("<tr><td>none</td></tr>\n", f);
    fputs("</table>\n", f);
}

void report_video_section(FILE *f, const video_tables *v)
{
    if (v->classes <= 0) return;
    fputs("<h2>Video data</h2>\n", f);
    table(f, &v->table[VIDEO_CLASSES], "Classes (the label is the index).",
          "<th>label</th><th>class</th><th>train videos</th><th>validation videos</th>");
    table(f, &v->table[VIDEO_BAD_VIDEOS], "Videos that could not be used and were skipped (--skip-bad-videos).",
          "<th>file</th><th>problem</th><th>why</th>");
    table(f, &v->table[VIDEO_DECODE_EVENTS], "Decode failures during the run, and the fallback taken.",
          "<th>step</th><th>what happened</th>");
    table(f, &v->table[VIDEO_INPUT_CLIPS],
          "Input clips that held a NaN or Inf, then the ten with the largest |value|: the video and frames each "
          "came from (clip_origins).",
          "<th>step</th><th>position</th><th>video</th><th>frames</th><th>step k</th><th>crop y,x</th>"
          "<th>looped</th><th>absmax</th><th>non-finite</th>");
}
