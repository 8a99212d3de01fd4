/* outdir.h: the output directory of a report: its default location next to
 * the database, and creating it (with parents). */
#ifndef NANPROBE_OUTDIR_H
#define NANPROBE_OUTDIR_H

#include <stddef.h>

#include "error.h"

/* The database's directory + "/report" ("./report" for a bare file name). */
void outdir_default(const char *db_path, char *out, size_t size);

/* mkdir -p; fails (naming the path) when it cannot be created or is not a
 * directory. */
int outdir_create(const char *path, error *err);

#endif
