/* report_video.h: the "Video data" section of a report: the classes, the
 * bad videos that were skipped, the decode events, and the videos and
 * frame ranges of the clips that carried a NaN/Inf or the largest values
 * into the network.  Nothing is written for synthetic or .npy runs. */
#ifndef NANPROBE_REPORT_VIDEO_H
#define NANPROBE_REPORT_VIDEO_H

#include <stdio.h>

#include "read_video.h"

/* Writes the section's HTML to f (the text is untrusted: every cell is
 * escaped; read_video_tables bounds every list). */
void report_video_section(FILE *f, const video_tables *v);

#endif
