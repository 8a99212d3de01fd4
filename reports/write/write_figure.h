/* write_figure.h: write stage, the one place that writes figures: every
 * figure's .dat tables and NAME.gp (its body once for the PNG, once for the
 * SVG, in the house style) into the output directory, then gnuplot run
 * there to make NAME.png and NAME.svg.  Also the output-file helpers the
 * rest of the write stage uses (index.html, verdict.txt, tables). */
#ifndef NANPROBE_WRITE_FIGURE_H
#define NANPROBE_WRITE_FIGURE_H

#include <stdio.h>

#include "error.h"
#include "figure.h"

/* Writes every figure's data files and dir/BASE.gp: a header saying how to
 * re-render, the terminal and style settings, and the body once for the
 * PNG and once for the SVG. */
int write_figures(const char *dir, const figure_set *set, error *err);

/* Runs gnuplot on every figure's script (in parallel, working directory
 * dir) and marks the figures whose PNG and SVG now exist. */
int render_figures(const char *dir, figure_set *set, error *err);

/* Opening and closing an output file of dir; errors name the path. */
FILE *figure_data_open(const char *dir, const char *name, error *err);
int figure_data_close(FILE *f, const char *dir, const char *name, error *err);

#endif
