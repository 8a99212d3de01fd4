/* clip_origin.h: naming the video behind a sample for verdicts and reports:
 * "UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi, frames 40-55",
 * from run.db's clip_origins table (read_video.h; absent or empty for
 * synthetic and .npy data, which is not an error: the caller keeps its
 * "sample id N"). */
#ifndef NANPROBE_CLIP_ORIGIN_H
#define NANPROBE_CLIP_ORIGIN_H

#include <stddef.h>

#include "read_video.h"

/* The line for one clip origin. */
void clip_origin_text(const clip_origin_info *o, char *out, size_t size);

/* The clip of training step `step` with dataset id sample_id.  Returns 1
 * and the text in out, 0 when the run has no such row (or no table). */
int clip_origin_describe_step(run_reader *r, long step, long sample_id, char *out, size_t size);

#endif
