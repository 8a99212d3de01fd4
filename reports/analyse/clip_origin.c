/* clip_origin.c: one line naming a clip's video, frames and crop (see
 * clip_origin.h).  The text comes from the database, i.e. from file names
 * on the user's disk: callers that put it into a gnuplot script must pass
 * it through gnuplot_quote. */
#include "clip_origin.h"

#include <stdio.h>

void clip_origin_text(const clip_origin_info *o, char *out, size_t size)
{
    char every[32] = "", loop[64] = "";
    if (o->frame_step > 1) snprintf(every, sizeof every, " every %ld", o->frame_step);
    if (o->looped) snprintf(loop, sizeof loop, " (looped: the video has %ld frames)", o->video_frames);
    snprintf(out, size, "%s, frames %ld-%ld%s%s%s", o->video, o->start_frame, o->last_frame, every, loop,
             o->fallback == 1   ? " (after a decode failure)"
             : o->fallback == 2 ? " (grey: the file did not decode)"
                                : "");
}

int clip_origin_describe_step(run_reader *r, long step, long sample_id, char *out, size_t size)
{
    clip_origin_info o;
    out[0] = '\0';
    if (!read_clip_origin_at_step(r, step, sample_id, &o)) return 0;
    clip_origin_text(&o, out, size);
    return 1;
}
