/* figure.h: a report figure as data, between the draw and the write stage.
 *
 * The draw stage (draw_run.c, draw_cause.c, report_replay_draw, compare.c's
 * draw_* functions) computes each figure into a `figure` in memory: its
 * name, size and caption, the data tables it plots (as gnuplot reads them)
 * and its plot body (axes, scales, reference marks and the plot command in
 * gnuplot's language).  A draw function opens no file and never sees the
 * output directory.  The write stage (write_figure.h) turns the figures into
 * files: the .dat tables, NAME.gp, then NAME.png and NAME.svg. */
#ifndef NANPROBE_FIGURE_H
#define NANPROBE_FIGURE_H

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

/* Registers a figure (NULL when the set is full); an existing figure of
 * the same base is emptied and reused, keeping its place. */
figure *figure_add(figure_set *set, const char *base, int width, int height, const char *caption);

/* Moves `text` (left empty) into the figure as the data file `name`. */
void figure_add_data(figure *fig, const char *name, strbuf *text);

/* A number as gnuplot reads it: "NaN" when not finite. */
void figure_number(strbuf *b, double value);

void figure_set_free(figure_set *set);

#endif
