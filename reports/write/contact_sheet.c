/* contact_sheet.c: clips as a PNG through gnuplot (see contact_sheet.h).
 *
 * Computing (sheet_pixels, sheet_script: the pixels and the script, in
 * memory) is kept apart from writing (contact_sheet_write: the files and
 * gnuplot).  The pixels go to a raw RGB file that gnuplot reads as `binary
 * array`, so no value is printed and re-parsed; captions and the title pass
 * through gnuplot_quote (file names come from the user's disk). */
#include "contact_sheet.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gnuplot.h"
#include "strbuf.h"

#define SHEET_GAP 2      /* pixels between tiles */
#define SHEET_CAPTION 18 /* pixels above each row for its caption */
#define SHEET_PATH_MAX 4352

static void pixel_map(const float *v, int channels, double lo, double hi, unsigned char *rgb)
{
    for (int c = 0; c < 3; c++) {
        float x = v[channels == 3 ? c : 0];
        if (!isfinite(x)) { /* magenta */
            rgb[0] = 255, rgb[1] = 0, rgb[2] = 255;
            return;
        }
        double t = (x - lo) / (hi - lo) * 255.0;
        rgb[c] = (unsigned char)(t < 0 ? 0 : t > 255 ? 255 : lrint(t));
    }
}

/* The sheet's pixels, top row first; the background is white. */
static unsigned char *sheet_pixels(const contact_sheet *s, int *width, int *height)
{
    int d = s->clip[0], h = s->clip[1], w = s->clip[2], ch = s->clip[3];
    *width = d * (w + SHEET_GAP) + SHEET_GAP;
    *height = s->count * (h + SHEET_CAPTION + SHEET_GAP) + SHEET_GAP;
    size_t n = (size_t)*width * *height * 3;
    unsigned char *px = malloc(n);
    if (!px) return NULL;
    memset(px, 255, n);
    for (int k = 0; k < s->count; k++)
        for (int t = 0; t < d; t++) {
            const float *frame = s->clips + (((size_t)k * d + t) * h) * w * ch;
            int x0 = SHEET_GAP + t * (w + SHEET_GAP), y0 = SHEET_GAP + k * (h + SHEET_CAPTION + SHEET_GAP) + SHEET_CAPTION;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    pixel_map(frame + ((size_t)y * w + x) * ch, ch, s->lo, s->hi,
                              px + (((size_t)(y0 + y) * *width) + x0 + x) * 3);
        }
    return px;
}

/* The gnuplot script that draws the pixels with the title and captions. */
static void sheet_script(const char *png_name, const char *rgb_name, const contact_sheet *s, int width, int height,
                         strbuf *script)
{
    char out_q[160], rgb_q[160], title_q[160];
    gnuplot_quote(png_name, out_q, sizeof out_q);
    gnuplot_quote(rgb_name, rgb_q, sizeof rgb_q);
    gnuplot_quote(s->title ? s->title : "", title_q, sizeof title_q);
    int top = 30, font = 10;
    strbuf_printf(script, "# nanprobe data: contact sheet (re-render: gnuplot %s.gp)\n", png_name);
    strbuf_printf(script, "set terminal pngcairo size %d,%d font 'DejaVu Sans,%d' noenhanced\n", width, height + top,
                  font);
    strbuf_printf(script, "set output %s\nset lmargin at screen 0\nset rmargin at screen 1\n", out_q);
    strbuf_printf(script, "set bmargin at screen 0\nset tmargin at screen %.6f\n", (double)height / (height + top));
    strbuf_printf(script, "unset border\nunset tics\nunset key\nunset colorbox\n");
    strbuf_printf(script, "set xrange [-0.5:%d.5]\nset yrange [-0.5:%d.5]\n", width - 1, height - 1);
    strbuf_printf(script, "set label 1 %s at screen 0.01, screen %.6f left front\n", title_q,
                  1.0 - 0.5 * top / (double)(height + top));
    for (int k = 0; k < s->count; k++) {
        char caption_q[160];
        gnuplot_quote(s->captions && s->captions[k] ? s->captions[k] : "", caption_q, sizeof caption_q);
        /* Rows count from the top in the file, from the bottom in gnuplot. */
        int y = height - 1 - (SHEET_GAP + k * (s->clip[1] + SHEET_CAPTION + SHEET_GAP) + SHEET_CAPTION / 2);
        strbuf_printf(script, "set label %d %s at first %d, first %d left front\n", k + 2, caption_q, SHEET_GAP, y);
    }
    strbuf_printf(script, "plot %s binary array=(%d,%d) format='%%uchar%%uchar%%uchar' flipy with rgbimage\n", rgb_q,
                  width, height);
}

static int write_script(const char *path, const strbuf *script, error *err)
{
    FILE *f = fopen(path, "w");
    if (!f) return error_set(err, "%s: cannot write: %s", path, strerror(errno));
    fputs(strbuf_text(script), f);
    if (fclose(f) != 0) return error_set(err, "%s: write failed: %s", path, strerror(errno));
    return 0;
}

int contact_sheet_write(const char *dir, const char *png_name, const contact_sheet *s, error *err)
{
    if (s->count < 1 || s->clip[0] < 1 || s->clip[1] < 1 || s->clip[2] < 1 || (s->clip[3] != 1 && s->clip[3] != 3) ||
        !(s->hi > s->lo))
        return error_set(err, "contact sheet: nothing to draw (%d clips, channels %d, range %g..%g)", s->count,
                         s->clip[3], s->lo, s->hi);
    if (strchr(png_name, '/')) return error_set(err, "contact sheet: '%s' must be a plain file name", png_name);
    int width, height;
    unsigned char *px = sheet_pixels(s, &width, &height);
    if (!px) return error_set(err, "contact sheet: out of memory");
    char rgb_name[300], gp_name[300], rgb_path[SHEET_PATH_MAX], gp_path[SHEET_PATH_MAX];
    snprintf(rgb_name, sizeof rgb_name, "%.250s.rgb", png_name);
    snprintf(gp_name, sizeof gp_name, "%.250s.gp", png_name);
    snprintf(rgb_path, sizeof rgb_path, "%.4000s/%s", dir, rgb_name);
    snprintf(gp_path, sizeof gp_path, "%.4000s/%s", dir, gp_name);
    FILE *f = fopen(rgb_path, "wb");
    int status = f ? 0 : error_set(err, "%s: cannot write: %s", rgb_path, strerror(errno));
    if (f) {
        size_t n = (size_t)width * height * 3;
        if (fwrite(px, 1, n, f) != n) status = error_set(err, "%s: write failed: %s", rgb_path, strerror(errno));
        if (fclose(f) != 0 && status == 0) status = error_set(err, "%s: write failed", rgb_path);
    }
    free(px);
    if (status == 0) {
        strbuf script = {0};
        sheet_script(png_name, rgb_name, s, width, height, &script);
        status = script.failed ? error_set(err, "contact sheet: out of memory") : write_script(gp_path, &script, err);
        strbuf_free(&script);
    }
    if (status == 0) {
        gnuplot_job job = {.script = gp_name};
        status = gnuplot_run_all(dir, &job, 1, 1, err);
    }
    unlink(rgb_path);
    unlink(gp_path);
    return status;
}
