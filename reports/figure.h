/* figure.h: the bookkeeping every report figure shares: its files (NAME.gp,
 * NAME.png, NAME.svg and the .dat files it reads), the script skeleton that
 * renders one plot body as PNG (pngcairo) and as SVG at the same size, the
 * house style, and rendering all figures of a directory with gnuplot. */
#ifndef NANPROBE_FIGURE_H
#define NANPROBE_FIGURE_H

#include <stdio.h>

#include "error.h"

#define FIGURE_MAX 16
#define FIGURE_DATA_MAX 4

typedef struct figure {
    char base[48];                      /* loss -> loss.gp, loss.png, loss.svg */
    char data[FIGURE_DATA_MAX][64];     /* .dat files the script reads */
    int data_count;
    char caption[1024];                 /* plain text, may hold database strings */
    int width, height;                  /* pixels, PNG and SVG */
    int rendered;                       /* PNG and SVG written by gnuplot */
} figure;

typedef struct figure_set {
    figure items[FIGURE_MAX];
    int count;
} figure_set;

/* Registers a figure (NULL when the set is full). */
figure *figure_add(figure_set *set, const char *base, int width, int height, const char *caption);
void figure_add_data(figure *fig, const char *name);

/* Writes dir/BASE.gp: a header saying how to re-render, the terminal and
 * style settings, and `body` once for the PNG and once for the SVG. */
int figure_write_script(const char *dir, const figure *fig, const char *body, error *err);

/* Runs gnuplot on every figure's script (in parallel, working directory
 * dir) and marks the figures whose PNG and SVG now exist. */
int figure_render_all(const char *dir, figure_set *set, error *err);

/* Opening and closing a data file of dir; errors name the path. */
FILE *figure_data_open(const char *dir, const char *name, error *err);
int figure_data_close(FILE *f, const char *dir, const char *name, error *err);

/* A number as gnuplot reads it: "NaN" when not finite. */
void figure_number(FILE *f, double value);

#endif
