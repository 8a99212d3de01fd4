/* data_cmd.h: `nanprobe data DIR [data options]` (see data_cmd.c). */
#ifndef NANPROBE_DATA_CMD_H
#define NANPROBE_DATA_CMD_H

#include <stddef.h>

#include "error.h"

/* Runs the command on argv (the words after "data"); returns the exit
 * status: 0, 1 (a failure, or bad videos without --skip-bad-videos), 2
 * (usage). */
int data_command(int argc, char **argv);

/* Parses --resize's "HxW" (both sides 1..8192); -1 if malformed. */
int data_parse_resize(const char *text, int resize[2]);

/* For `summary --data DIR`: lists a video directory (without probing the
 * files) and writes "DIR: N videos in K classes (layout)" into line and K
 * into *classes.  Returns 0, or -1 with err set. */
int data_summary_line(const char *dir, int split, char *line, size_t size, int *classes, error *err);

/* The number of classes a video directory defines (its listing only, no
 * probing); -1 with err set when it cannot be listed. */
int data_classes_count(const char *dir, int split, const char *train_list, const char *val_list, int *classes,
                       error *err);

#endif
