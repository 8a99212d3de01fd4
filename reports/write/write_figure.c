/* write_figure.c: write stage, every figure's files and their rendering
 * (see write_figure.h). */
#include "write_figure.h"

#include <string.h>
#include <unistd.h>

#include "gnuplot.h"
#include "html.h"
#include "outdir.h"

FILE *figure_data_open(const char *dir, const char *name, error *err)
{
    /* never through a symlink planted in the output directory */
    return outdir_file_create(dir, name, err);
}

int figure_data_close(FILE *f, const char *dir, const char *name, error *err)
{
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (bad) return error_set(err, "%s/%s: write failed (disk full?)", dir, name);
    return 0;
}

/* The house style: readable at the size a write-up prints it. */
static const char figure_style[] =
    "set encoding utf8\n"
    "set border lw 1.2\n"
    "set grid lc rgb '#dddddd' lw 1\n"
    "set key box opaque samplen 2 spacing 1.1\n"
    "set tics out nomirror\n"
    "set style line 1 lc rgb '#1f77b4' lw 1.5\n"
    "set style line 2 lc rgb '#ff7f0e' lw 2\n"
    "set style line 3 lc rgb '#2ca02c' lw 2\n"
    "set style line 4 lc rgb '#9467bd' lw 2\n"
    "set style line 5 lc rgb '#8c564b' lw 2\n"
    "set style line 6 lc rgb '#e377c2' lw 2\n"
    "set style line 7 lc rgb '#7f7f7f' lw 2\n"
    "set style line 8 lc rgb '#bcbd22' lw 2\n"
    /* red (#d62728) is kept for the culprit and the NaN marker */
    "set style increment user\n"
    "set style textbox opaque margins 1,1 noborder\n"
    /* viridis, for heat maps and per-layer colours */
    "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n";

static int write_script(const char *dir, const figure *fig, error *err)
{
    const char *body = strbuf_text(&fig->body);
    /* Last line of defence: no character that lets gnuplot substitute or
     * run something (backquote, '!', macro '@', '$', '"' strings with
     * escapes, '\\', a '<' file name, output to a '|' pipe) may reach a
     * script, whatever a caller composed.  gnuplot_quote() never lets them
     * through. */
    if (strpbrk(body, "`!@$\"\\") || strstr(body, "'<") || strstr(body, "output '|"))
        return error_set(err, "internal error: the script of figure %s would contain a shell escape; refusing to "
                              "write it",
                         fig->base);
    char name[96];
    snprintf(name, sizeof name, "%s.gp", fig->base);
    FILE *f = figure_data_open(dir, name, err);
    if (!f) return -1;
    fprintf(f,
            "# nanprobe report figure %s.  Re-render (after editing) from this directory with:\n"
            "#   gnuplot %s.gp\n"
            "# It reads only the data files next to it and writes %s.png and %s.svg.\n",
            fig->base, fig->base, fig->base, fig->base);
    static const char *const terminals[2][2] = {{"pngcairo", "png"}, {"svg", "svg"}};
    for (int t = 0; t < 2; t++) {
        fprintf(f, "\nreset\nset terminal %s size %d,%d font 'DejaVu Sans,%d' noenhanced%s\n", terminals[t][0],
                fig->width, fig->height, 11, t == 1 ? " background rgb 'white'" : "");
        fprintf(f, "set output '%s.%s'\n", fig->base, terminals[t][1]);
        fputs(figure_style, f);
        fputs(body, f);
        fputs("\nset output\n", f);
    }
    return figure_data_close(f, dir, name, err);
}

static int write_text(const char *dir, const char *name, const strbuf *text, error *err)
{
    FILE *f = figure_data_open(dir, name, err);
    if (!f) return -1;
    fputs(strbuf_text(text), f);
    return figure_data_close(f, dir, name, err);
}

int write_figures(const char *dir, const figure_set *set, error *err)
{
    for (int i = 0; i < set->count; i++) {
        const figure *fig = &set->items[i];
        int failed = fig->body.failed;
        for (int k = 0; k < fig->data_count; k++) failed |= fig->data_text[k].failed;
        if (failed) return error_set(err, "out of memory drawing figure %s", fig->base);
        for (int k = 0; k < fig->data_count; k++)
            if (write_text(dir, fig->data[k], &fig->data_text[k], err)) return -1;
        if (write_script(dir, fig, err)) return -1;
    }
    return 0;
}

int render_figures(const char *dir, figure_set *set, error *err)
{
    gnuplot_job jobs[FIGURE_MAX];
    char scripts[FIGURE_MAX][96];
    for (int i = 0; i < set->count; i++) {
        snprintf(scripts[i], sizeof scripts[i], "%s.gp", set->items[i].base);
        jobs[i].script = scripts[i];
        /* A previous report's images must not pass for this one's. */
        static const char *const kinds[] = {"png", "svg"};
        for (int k = 0; k < 2; k++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s.%s", dir, set->items[i].base, kinds[k]);
            unlink(path);
        }
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int parallel = cpus > 4 ? 4 : cpus < 1 ? 1 : (int)cpus;
    int rc = gnuplot_run_all(dir, jobs, set->count, parallel, err);
    for (int i = 0; i < set->count; i++) {
        char png[96], svg[96];
        snprintf(png, sizeof png, "%s.png", set->items[i].base);
        snprintf(svg, sizeof svg, "%s.svg", set->items[i].base);
        set->items[i].rendered = jobs[i].exit_status == 0 && html_file_exists(dir, png) && html_file_exists(dir, svg);
    }
    return rc;
}
