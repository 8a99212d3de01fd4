/* gnuplot.h: running gnuplot on generated scripts, and keeping text from the
 * database from ever being executed by it.
 *
 * gnuplot runs shell commands from backquotes (substituted anywhere on a
 * command line except inside single-quoted strings), from system(), from
 * `!` and `shell`, and from file names starting with '<' or '|'.  The
 * reports therefore never write a database string into a script except
 * through gnuplot_quote(), and write layer names and run labels into .dat
 * files as data (gnuplot_data_label), where gnuplot only ever displays them
 * (ytic(), columnheader).  Scripts name files relative to the output
 * directory, which is gnuplot's working directory, so the directory's own
 * name (often the run name) never appears in a script either. */
#ifndef NANPROBE_GNUPLOT_H
#define NANPROBE_GNUPLOT_H

#include <stddef.h>

#include "error.h"

/* A single-quoted gnuplot string literal for `text`: every character outside
 * [A-Za-z0-9 _.,:;=+-/()[]%] becomes '_' (so no quote, backquote,
 * backslash, '@', '$', '!', '|', '<' or control character survives), and the
 * result is cut to fit `size` (>= 3) and at most 120 characters. */
void gnuplot_quote(const char *text, char *out, size_t size);

/* A token for a string column of a .dat file: the same whitelist without the
 * space (a column separator), at most 60 characters, "_" when empty. */
void gnuplot_data_label(const char *text, char *out, size_t size);

/* A double-quoted string column of a .dat file (may hold spaces): the
 * gnuplot_quote whitelist inside double quotes, at most 120 characters. */
void gnuplot_data_text(const char *text, char *out, size_t size);

typedef struct gnuplot_job {
    const char *script;    /* file name inside the directory: "loss.gp" */
    int exit_status;       /* 0 ok; 127 could not start; 128 + signal */
    char stderr_tail[768]; /* the end of what gnuplot printed on stderr */
} gnuplot_job;

/* Runs `gnuplot SCRIPT` (found on PATH, no shell involved) for every job in
 * working directory `dir`, at most `parallel` at a time.  Returns 0 when all
 * exit with status 0; otherwise -1 with err naming the first failing script
 * and gnuplot's stderr, or saying that gnuplot is not installed. */
int gnuplot_run_all(const char *dir, gnuplot_job *jobs, int count, int parallel, error *err);

#endif
