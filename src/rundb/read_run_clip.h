/* read_run_clip.h: the clip shape a run directory's first run trained on
 * (runs.clip, "DxHxWxC"), which export-keras needs when the options left
 * it to a .npy file. */
#ifndef NANPROBE_READ_RUN_CLIP_H
#define NANPROBE_READ_RUN_CLIP_H

#include <stddef.h>

/* 1 and the text in out, or 0 when db_path cannot be read, has no clip,
 * or its clip does not fit in size. */
int read_run_clip(const char *db_path, char *out, size_t size);

#endif
