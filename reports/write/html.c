/* html.c: HTML escaping and the pieces of the report pages (see html.h). */
#include "html.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "figure.h"

void html_escape(FILE *f, const char *text)
{
    html_escape_span(f, text ? text : "", text ? strlen(text) : 0);
}

void html_escape_span(FILE *f, const char *text, size_t length)
{
    const unsigned char *end = (const unsigned char *)text + length;
    for (const unsigned char *p = (const unsigned char *)text; p < end && *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (*p >= 32 || *p == '\n' || *p == '\t') fputc(*p, f);
        }
    }
}

void html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
    html_escape(f, title);
    fputs("</title>\n<style>\n"
          "body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 1.5em auto; max-width: 1400px; "
          "padding: 0 1em; color: #222; }\n"
          "h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }\n"
          ".verdict { background: #fff4f4; border-left: 6px solid #c62828; padding: 0.8em 1em; white-space: "
          "pre-wrap; font-size: 1.05em; }\n"
          ".verdict.healthy { background: #f3faf3; border-left-color: #2e7d32; }\n"
          ".card { background: #fff4f4; border-left: 6px solid #c62828; padding: 0.6em 1em; max-width: 1100px; }\n"
          ".card.healthy { background: #f3faf3; border-left-color: #2e7d32; }\n"
          ".card table { border: none; font-size: 1em; margin: 0; }\n"
          ".card th { background: none; border: none; width: 7em; padding: 0.35em 0.8em 0.35em 0; "
          "color: #555; font-weight: bold; text-transform: uppercase; font-size: 0.8em; letter-spacing: 0.04em; }\n"
          ".card td { border: none; padding: 0.35em 0; line-height: 1.45; }\n"
          ".card tr + tr th, .card tr + tr td { border-top: 1px solid #f0d0d0; }\n"
          ".card.healthy tr + tr th, .card.healthy tr + tr td { border-top-color: #cfe6cf; }\n"
          ".card tr.Cause td { font-size: 1.1em; } .card tr.Fix td { font-weight: bold; color: #1b5e20; }\n"
          "ol.path { margin: 0; padding-left: 1.4em; font-family: 'DejaVu Sans Mono', monospace; font-size: 0.9em; }\n"
          "ul.evidence { font-size: 0.95em; color: #333; } h3 { font-size: 1.05em; margin-top: 1.5em; }\n"
          "table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }\n"
          "th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }\n"
          "th { background: #f4f4f4; } td.num { text-align: right; font-family: 'DejaVu Sans Mono', monospace; }\n"
          "tr.bad td { background: #ffe9e9; } .FAIL { color: #b71c1c; font-weight: bold; } "
          ".warning { color: #e65100; font-weight: bold; } .pass { color: #2e7d32; } .nodata { color: #888; }\n"
          "figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }\n"
          "figcaption { font-size: 0.9em; color: #444; margin-top: 0.3em; }\n"
          ".meta { color: #555; font-size: 0.9em; } code { font-size: 0.95em; }\n"
          "</style>\n</head>\n<body>\n",
          f);
}

void html_end(FILE *f)
{
    fputs("</body>\n</html>\n", f);
}

int html_file_exists(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void html_link_if_exists(FILE *f, const char *dir, const char *name, const char *label)
{
    if (html_file_exists(dir, name)) {
        fputs("<a href=\"", f);
        html_escape(f, name);
        fputs("\">", f);
        html_escape(f, label);
        fputs("</a>", f);
    } else {
        html_escape(f, label);
    }
}

int html_figure(FILE *f, const char *dir, const char *base, const char *const *data_files, int data_count,
                const char *caption)
{
    char png[256], svg[256], gp[256];
    snprintf(png, sizeof png, "%s.png", base);
    snprintf(svg, sizeof svg, "%s.svg", base);
    snprintf(gp, sizeof gp, "%s.gp", base);
    if (!html_file_exists(dir, png)) return 0;
    fputs("<figure>\n", f);
    int has_svg = html_file_exists(dir, svg);
    if (has_svg) {
        fputs("<a href=\"", f);
        html_escape(f, svg);
        fputs("\">", f);
    }
    fputs("<img src=\"", f);
    html_escape(f, png);
    fputs("\" alt=\"", f);
    html_escape(f, caption);
    fputs("\">", f);
    if (has_svg) fputs("</a>", f);
    fputs("\n<figcaption>", f);
    html_escape(f, caption);
    fputs(" <span class=\"meta\">[", f);
    html_link_if_exists(f, dir, svg, "SVG");
    fputs(", ", f);
    html_link_if_exists(f, dir, gp, "gnuplot script");
    for (int i = 0; i < data_count; i++) {
        fputs(", ", f);
        html_link_if_exists(f, dir, data_files[i], data_files[i]);
    }
    fputs("]</span></figcaption>\n</figure>\n", f);
    return 1;
}

void html_figure_section(FILE *f, const char *dir, const figure_set *figs, const char *gnuplot_error,
                         const char *intro)
{
    if (gnuplot_error) {
        fputs("<p class=\"FAIL\">Figures missing: ", f);
        html_escape(f, gnuplot_error);
        fputs("</p>\n", f);
    }
    fputs("<h2>Figures</h2>\n", f);
    if (intro) fputs(intro, f);
    int shown = 0;
    for (int i = 0; i < figs->count; i++) {
        const figure *fig = &figs->items[i];
        if (!fig->rendered) continue;
        const char *data[FIGURE_DATA_MAX];
        for (int k = 0; k < fig->data_count; k++) data[k] = fig->data[k];
        shown += html_figure(f, dir, fig->base, data, fig->data_count, fig->caption);
    }
    if (!shown) fputs("<p>No figure was rendered.</p>\n", f);
}
