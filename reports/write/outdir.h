/* outdir.h: the output directory of a report: its default location next to
 * the database, creating it (with parents), and creating files in it. */
#ifndef NANPROBE_OUTDIR_H
#define NANPROBE_OUTDIR_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* The database's directory + "/report" ("./report" for a bare file name). */
void outdir_default(const char *db_path, char *out, size_t size);

/* mkdir -p; fails (naming the path) when it cannot be created or is not a
 * directory. */
int outdir_create(const char *path, error *err);

/* Creates DIR/NAME for writing without following a symlink planted there
 * (an existing NAME is replaced, its target untouched).  NULL with err set
 * on failure. */
FILE *outdir_file_create(const char *dir, const char *name, error *err);

#endif
