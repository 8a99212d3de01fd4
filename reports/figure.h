/* figure.h: a report figure as data, and the one place that writes figures.
 *
 * Draw stage (runplots.c, causeplot.c, report_replay.c's and compare.c's
 * draw_* functions): computes a figure into a `figure` in memory: its name,
 * size and caption, the data tables it plots (as gnuplot reads them) and its
 * plot body (settings, reference marks and the plot command).  A draw
 * function opens no file and never sees the output directory.
 *
 * Write stage (figure_write_all, figure_render_all): writes every figure's
 * .dat files and NAME.gp (the body once for the PNG, once for the SVG, in
 * the house style) into the output directory, then runs gnuplot there to
 * make NAME.png and NAME.svg. */
#ifndef NANPROBE_FIGURE_H
#define NANPROBE_FIGURE_H

#include <stdio.h>

#include "error.h"
#include "strbuf.h"

#define FIGURE_MAX 16
#define FIGURE_DATA_MAX 4

typedef struct figure {
    char base[48];                      /* loss -> loss.gp, loss.png, loss.svg */
    char data[FIGURE_DATA_MAX][64];     /* .dat files the script reads */
    strbuf data_text[FIGURE_DATA_MAX];  /* their contents */
    int data_count;
    strbuf body;                        /* the plot, in gnuplot's language */
    char caption[1024];                 /* plain text, may hold database strings */
    int width, height;                  /* pixels, PNG and SVG */
    int rendered;                       /* PNG and SVG written by gnuplot */
} figure;

typedef struct figure_set {
    figure items[FIGURE_MAX];
    int count;
} figure_set;

/* ---------------------------------------------------------------- draw */

/* Registers a figure (NULL when the set is full); an existing figure of
 * the same base is emptied and reused, keeping its place. */
figure *figure_add(figure_set *set, const char *base, int width, int height, const char *caption);

/* Moves `text` (left empty) into the figure as the data file `name`. */
void figure_add_data(figure *fig, const char *name, strbuf *text);

/* A number as gnuplot reads it: "NaN" when not finite. */
void figure_number(strbuf *b, double value);

void figure_set_free(figure_set *set);

/* --------------------------------------------------------------- write */

/* Writes every figure's data files and dir/BASE.gp: a header saying how to
 * re-render, the terminal and style settings, and the body once for the
 * PNG and once for the SVG. */
int figure_write_all(const char *dir, const figure_set *set, error *err);

/* Runs gnuplot on every figure's script (in parallel, working directory
 * dir) and marks the figures whose PNG and SVG now exist. */
int figure_render_all(const char *dir, figure_set *set, error *err);

/* Opening and closing an output file of dir; errors name the path. */
FILE *figure_data_open(const char *dir, const char *name, error *err);
int figure_data_close(FILE *f, const char *dir, const char *name, error *err);

#endif
