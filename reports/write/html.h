/* html.h: writing the reports' index.html pages.
 *
 * Every string that comes from a database (run names, layer names and
 * paths, event messages, rule details) goes through html_escape; links and
 * images are written only for files that exist in the output directory. */
#ifndef NANPROBE_HTML_H
#define NANPROBE_HTML_H

#include <stddef.h>
#include <stdio.h>

/* Writes text with & < > " ' replaced by entities and control characters
 * other than newline and tab dropped. */
void html_escape(FILE *f, const char *text);
/* The same for the first length bytes of text (or up to its NUL). */
void html_escape_span(FILE *f, const char *text, size_t length);

/* <!doctype html> ... <body>, with the escaped title and the shared style. */
void html_begin(FILE *f, const char *title);
void html_end(FILE *f);

/* Does dir/name exist as a regular file? */
int html_file_exists(const char *dir, const char *name);

/* A figure: the PNG linked to its SVG, the escaped caption, and links to the
 * script and data files that exist.  Writes nothing and returns 0 when the
 * PNG does not exist; returns 1 otherwise. */
int html_figure(FILE *f, const char *dir, const char *base, const char *const *data_files, int data_count,
                const char *caption);

struct figure_set;

/* The figures section of an index.html: the gnuplot failure when there was
 * one (NULL: none), the heading, intro (HTML, may be NULL), every rendered
 * figure (html_figure) or a line saying none was. */
void html_figure_section(FILE *f, const char *dir, const struct figure_set *figs, const char *gnuplot_error,
                         const char *intro);

/* A link to dir/name with the escaped label, or the label alone when the
 * file does not exist. */
void html_link_if_exists(FILE *f, const char *dir, const char *name, const char *label);

#endif
