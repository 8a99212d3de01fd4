/* report_replay.c: the report's Replay section (say) and the draw stage of
 * its shadow figure (see report_replay.h).  Values come from replay_data.c, already range-checked;
 * strings are escaped here, numbers printed as they are (NaN, +inf and
 * absurd sizes included: a report says what the database holds). */
#include "report_replay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gnuplot.h"
#include "html.h"
#include "replay_text.h"
#include "report_ladder.h"
#include "strbuf.h"
#include "write_figure.h"

#define TENSOR_ROWS_WORST 10
#define NPY_MAX_BYTES (64ll << 20)

static void cell_number(FILE *f, double v)
{
    char text[32];
    replay_text_number(v, text, sizeof text);
    fprintf(f, "<td class=\"num\">%s</td>", text);
}

static void cell_text(FILE *f, const char *text)
{
    fputs("<td>", f);
    html_escape(f, text);
    fputs("</td>", f);
}

static const char *layer_name(const rundata *d, int layer)
{
    return layer >= 0 && layer < d->layer_count ? d->layers[layer].name : "?";
}

/* ------------------------------------------------------------ .npy files */

/* A name the replay writer makes: relative, no "..", plain characters. */
static int npy_name_safe(const char *rel)
{
    size_t n = strlen(rel);
    if (n < 5 || n > 200 || rel[0] == '/' || strcmp(rel + n - 4, ".npy") != 0 || strstr(rel, "..")) return 0;
    for (const char *p = rel; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
            return 0;
    return 1;
}

/* Copies run_dir/rel to dir/basename; returns the basename or NULL with why. */
static const char *npy_copy(const char *dir, const char *run_dir, const char *rel, const char **why)
{
    char source[PATH_MAX + 256], real_source[PATH_MAX], real_dir[PATH_MAX];
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    snprintf(source, sizeof source, "%s/%s", run_dir, rel);
    *why = "not found";
    if (!realpath(source, real_source) || !realpath(dir, real_dir)) return NULL;
    char *slash = strrchr(real_source, '/');
    if (slash && (size_t)(slash - real_source) == strlen(real_dir) && strncmp(real_source, real_dir, strlen(real_dir)) == 0)
        return base; /* already beside the report */
    /* O_NONBLOCK: a FIFO planted under the name opens at once (and is then
     * refused as not regular) instead of blocking until a writer comes. */
    int fd = open(source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    unsigned char magic[6];
    *why = "not a regular NumPy file of at most 64 MiB";
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > NPY_MAX_BYTES ||
        pread(fd, magic, 6, 0) != 6 || memcmp(magic, "\x93NUMPY", 6) != 0) {
        if (fd >= 0) close(fd);
        return NULL;
    }
    error err;
    FILE *out = figure_data_open(dir, base, &err);
    *why = "could not be copied";
    if (!out) {
        close(fd);
        return NULL;
    }
    char buffer[65536];
    ssize_t n;
    off_t at = 0;
    while ((n = pread(fd, buffer, sizeof buffer, at)) > 0) {
        fwrite(buffer, 1, (size_t)n, out);
        at += n;
    }
    close(fd);
    return figure_data_close(out, dir, base, &err) == 0 && n == 0 ? base : NULL;
}

static void npy_link(FILE *f, const char *dir, const char *run_dir, const char *rel, const char *label)
{
    if (!rel[0]) return;
    const char *why = "a name outside the run directory";
    const char *name = npy_name_safe(rel) ? npy_copy(dir, run_dir, rel, &why) : NULL;
    fputs(" ", f);
    if (name) {
        html_link_if_exists(f, dir, name, label);
    } else {
        html_escape(f, label);
        fputs(" (", f);
        html_escape(f, rel);
        fputs(": ", f);
        html_escape(f, why);
        fputs(")", f);
    }
}

/* ------------------------------------------------------------ one replay */

static void write_float_rerun(FILE *f, const rundata *d, const replay_info *x)
{
    fputs("<li><b>float32 rerun</b>: ", f);
    if (!x->float_rerun) {
        fputs("not run.</li>\n", f);
        return;
    }
    if (x->reproduced == 1) fputs("reproduced: the same value at the same tensor and element, bit for bit", f);
    else if (x->reproduced == 0) fputs("<b>not reproduced</b>", f);
    else fputs("nothing non-finite to recur", f);
    if (x->rerun_event[0]) {
        fputs("; the rerun's first non-finite value: ", f);
        html_escape(f, x->rerun_event);
    } else if (x->reproduced == 0) {
        fputs("; the rerun stayed finite", f);
    }
    if (x->layers_compared > 0)
        fprintf(f, "; bit-identical layers %d of %d", x->layers_identical >= 0 ? x->layers_identical : 0,
                x->layers_compared);
    if (x->first_difference_layer >= d->layer_count) {
        fputs(", only the parameters after the update differ", f);
    } else if (x->first_difference_layer >= 0) {
        fputs(", first differing layer ", f);
        html_escape(f, layer_name(d, x->first_difference_layer));
    } else if (x->layers_compared > 0 && x->layers_identical == x->layers_compared) {
        fputs(", none differs", f);
    }
    if (x->loss_identical >= 0)
        fprintf(f, "; the data loss %s the run's", x->loss_identical ? "equals, bit for bit," : "differs from");
    if (isfinite(x->float_seconds)) fprintf(f, " (%.3g s)", x->float_seconds);
    fputs(".</li>\n", f);
}

static void write_double_rerun(FILE *f, const rundata *d, const replay_info *x)
{
    char value[32], largest[32];
    fputs("<li><b>float64 rerun</b>: ", f);
    if (!x->double_rerun) {
        fputs("not run.</li>\n", f);
        return;
    }
    replay_text_number(x->double_value, value, sizeof value);
    replay_text_number(x->double_max_abs, largest, sizeof largest);
    if (x->origin_layer >= 0 || x->origin_tensor[0]) {
        fprintf(f, "the origin element (%s", x->origin_element >= 0 ? "flat index " : "index not recorded");
        if (x->origin_element >= 0) fprintf(f, "%lld", x->origin_element);
        fputs(" of ", f);
        html_escape(f, x->origin_tensor);
        fputs(" of ", f);
        html_escape(f, layer_name(d, x->origin_layer));
        fputs(", ", f);
        html_escape(f, x->float_value[0] ? x->float_value : "?");
        fprintf(f, " in float32) is <b>%s</b> in float64; the largest |x| of that tensor is %s", value, largest);
    } else {
        fputs("no element to explain", f);
    }
    if (x->finding == REPLAY_FINDING_MATHS_ITSELF) {
        fputs("; operation: ", f);
        html_escape(f, x->operation[0] ? x->operation : "not named");
    }
    if (isfinite(x->double_seconds)) fprintf(f, " (%.3g s)", x->double_seconds);
    fputs(".</li>\n", f);
}

static void write_terms(FILE *f, const char *dir, const char *run_dir, const rundata *d, const replay_info *x)
{
    if (!x->has_provenance && x->term_rows == 0) return;
    char sum[32], input[32], weight[32];
    replay_text_number(x->terms_sum, sum, sizeof sum);
    replay_text_number(x->dominant_input_max, input, sizeof input);
    replay_text_number(x->dominant_weight_typical, weight, sizeof weight);
    fputs("<p><b>Element provenance</b> (the terms of the origin element's sum, recomputed in float64): ", f);
    if (x->dominant_channel >= 0 && isfinite(x->dominant_share)) {
        fprintf(f, "%.3g %% of the sum of |term| comes from channel %d", 100.0 * x->dominant_share,
                x->dominant_channel);
        if (x->term_rows) {
            fputs(" of ", f);
            html_escape(f, layer_name(d, x->terms[0].source_layer));
        }
        fprintf(f, " (values up to %s) times weights of typically %s; ", input, weight);
    }
    if (x->term_count >= 0) fprintf(f, "%lld terms in all, their float64 sum is %s.", x->term_count, sum);
    else fprintf(f, "the float64 sum of the terms is %s.", sum);
    npy_link(f, dir, run_dir, x->input_npy, "input slice (.npy)");
    npy_link(f, dir, run_dir, x->kernel_npy, "kernel slice (.npy)");
    fputs("</p>\n", f);
    if (!x->term_rows) return;
    fputs("<table>\n<tr><th>#</th><th>source layer</th><th>channel</th><th>cell (sample, d, h, w)</th><th>tap</th>"
          "<th>input</th><th>weight</th><th>term</th><th>share of the sum (term / sum)</th></tr>\n", f);
    for (int i = 0; i < x->term_rows; i++) {
        const replay_term_info *t = &x->terms[i];
        fprintf(f, "<tr><td class=\"num\">%d</td>", i + 1);
        cell_text(f, layer_name(d, t->source_layer));
        fprintf(f, "<td class=\"num\">%d</td><td>", t->channel);
        const int cell[4] = {t->sample, t->d, t->h, t->w};
        for (int k = 0; k < 4; k++)
            if (cell[k] >= 0) fprintf(f, "%s%d", k ? ", " : "", cell[k]);
            else fprintf(f, "%s-", k ? ", " : "");
        fputs("</td>", f);
        cell_text(f, t->tap[0] ? t->tap : "-");
        cell_number(f, t->input);
        cell_number(f, t->weight);
        cell_number(f, t->term);
        double share = t->term / x->terms_sum;
        if (isfinite(share)) fprintf(f, "<td class=\"num\">%.3g %%</td>", 100.0 * share);
        else fputs("<td class=\"num\">&mdash;</td>", f);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* Is tensor i among the TENSOR_ROWS_WORST largest finite relative errors? */
static double ranked_error(const replay_tensor_info *t)
{
    double e = t->relative_error;
    return e >= 0 && !isinf(e) && !t->noise_only ? e : NAN;
}

static int tensor_among_worst(const replay_info *x, int i)
{
    double e = ranked_error(&x->tensors[i]);
    if (isnan(e)) return 0;
    int larger = 0;
    for (int k = 0; k < x->tensor_count && larger < TENSOR_ROWS_WORST; k++) {
        double o = ranked_error(&x->tensors[k]);
        if (!isnan(o) && (o > e || (o == e && k < i))) larger++;
    }
    return larger < TENSOR_ROWS_WORST;
}

/* The tensor's position in the cause chain: the row's own, else the trace's
 * link with the same layer and tensor (a replay of the chain's step). */
static int chain_position(const replay_info *x, const cause_trace *trace, const replay_tensor_info *t)
{
    if (t->chain_position >= 0 || !trace || trace->klass == MECHANISM_NONE || x->step != trace->nan_step)
        return t->chain_position;
    for (int i = 0; i < trace->chain.count; i++)
        if (trace->chain.links[i].layer == t->layer && strcmp(trace->chain.links[i].tensor, t->tensor) == 0) return i;
    return -1;
}

static int worst_first(const void *a, const void *b)
{
    const replay_tensor_info *x = *(const replay_tensor_info *const *)a, *y = *(const replay_tensor_info *const *)b;
    if ((x->chain_position >= 0) != (y->chain_position >= 0)) return x->chain_position >= 0 ? -1 : 1;
    if (x->chain_position >= 0) return x->chain_position - y->chain_position;
    return x->relative_error > y->relative_error ? -1 : x->relative_error < y->relative_error;
}

static void write_tensors(FILE *f, const rundata *d, const replay_info *x, const cause_trace *trace)
{
    if (x->tensor_count == 0) return;
    replay_tensor_info shown_rows[TENSOR_ROWS_WORST + 64];
    const replay_tensor_info *shown[TENSOR_ROWS_WORST + 64];
    int n = 0;
    for (int i = 0; i < x->tensor_count && n < TENSOR_ROWS_WORST + 64; i++) {
        int link = chain_position(x, trace, &x->tensors[i]);
        if (link >= 0 ? n >= 64 : !tensor_among_worst(x, i)) continue;
        shown_rows[n] = x->tensors[i];
        shown_rows[n].chain_position = link;
        shown[n] = &shown_rows[n];
        n++;
    }
    qsort(shown, (size_t)n, sizeof shown[0], worst_first);
    fprintf(f, "<p>float32 against float64, tensor by tensor: the cause chain's links, then the %d largest "
               "relative errors ||x32 - x64|| / ||x64|| of the %d tensors compared (&mdash;: not comparable, a "
               "non-finite value on either side). Tensors whose error is rounding noise only are not ranked: the biases "
               "of convolutions that feed a BatchNorm (their gradient is 0 in exact arithmetic), and tensors float64 "
               "holds 10^6 times below float32's rounding noise.</p>\n<table>\n<tr><th>layer</th><th>path</th><th>tensor</th>"
               "<th>chain link</th><th>float32 max |x|</th><th>float64 max |x|</th><th>relative error</th>"
               "<th>float64 non-finite</th><th>float64 value at the link's element</th></tr>\n",
            TENSOR_ROWS_WORST, x->tensor_count);
    for (int i = 0; i < n; i++) {
        const replay_tensor_info *t = shown[i];
        fprintf(f, "<tr%s>", t->double_nonfinite > 0 ? " class=\"bad\"" : "");
        cell_text(f, d->layers[t->layer].name);
        cell_text(f, d->layers[t->layer].path);
        cell_text(f, t->tensor);
        if (t->chain_position >= 0) fprintf(f, "<td class=\"num\">%d</td>", t->chain_position);
        else fputs("<td></td>", f);
        cell_number(f, t->float_max_abs);
        cell_number(f, t->double_max_abs);
        cell_number(f, t->relative_error);
        fprintf(f, "<td class=\"num\">%lld</td>", t->double_nonfinite >= 0 ? t->double_nonfinite : 0);
        /* the origin's element is the one the replay explains */
        int origin = t->layer == x->origin_layer && strcmp(t->tensor, x->origin_tensor) == 0;
        if (t->chain_position >= 0 && (origin || !isnan(t->double_value)))
            cell_number(f, origin && isnan(t->double_value) ? x->double_value : t->double_value);
        else fputs("<td></td>", f);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void write_replay(FILE *f, const char *dir, const char *run_dir, const rundata *d, const replay_info *x,
                         const cause_trace *trace)
{
    fprintf(f, "<h3>Step %d (%s)</h3>\n<p>", x->step,
            x->trigger == REPLAY_TRIGGER_NAN ? "replayed at the run's first non-finite value" : "nanprobe replay");
    strbuf sentence = {0};
    replay_text_finding(d, x, &sentence);
    html_escape(f, strbuf_text(&sentence));
    strbuf_free(&sentence);
    fprintf(f, "</p>\n<ul>\n<li>state: the snapshot after step %d, then the steps up to %d rerun as the run did",
            x->snapshot_step, x->step - 1);
    if (x->threads > 0) fprintf(f, "; %d thread%s", x->threads, x->threads == 1 ? "" : "s");
    fputs(".</li>\n", f);
    write_float_rerun(f, d, x);
    write_double_rerun(f, d, x);
    fputs("</ul>\n", f);
    write_terms(f, dir, run_dir, d, x);
    write_tensors(f, d, x, trace);
}

/* ------------------------------------------------------------ shadow */

static void write_shadow(FILE *f, const char *dir, const rundata *d)
{
    const replay_shadow *s = &d->replays.shadow;
    if (s->step_count == 0) return;
    replay_growth g[REPORT_REPLAY_SHADOW_SERIES];
    int n = replay_shadow_growth(s, g, REPORT_REPLAY_SHADOW_SERIES);
    fprintf(f, "<h3>Shadow replays (--shadow-every)</h3>\n<p>%d healthy step%s also ran in float64 (steps %d to %d); "
               "the float32 relative error of every layer's tensors was recorded. A float32 error that grows by "
               "%.0f decades or more is a precursor.</p>\n",
            s->step_count, s->step_count == 1 ? "" : "s", s->steps[0], s->steps[s->step_count - 1],
            REPLAY_SHADOW_RISE_DECADES);
    if (n == 0) return;
    fputs("<table>\n<tr><th>layer</th><th>tensor</th><th>baseline error</th><th>last error</th><th>growth "
          "(decades)</th><th>steps</th></tr>\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<tr%s>", g[i].decades >= REPLAY_SHADOW_RISE_DECADES ? " class=\"bad\"" : "");
        cell_text(f, layer_name(d, s->series_layer[g[i].series]));
        cell_text(f, s->series_tensor[g[i].series]);
        cell_number(f, g[i].baseline);
        cell_number(f, g[i].last);
        cell_number(f, g[i].decades);
        fprintf(f, "<td class=\"num\">%d-%d</td></tr>\n", g[i].first_step, g[i].last_step);
    }
    fputs("</table>\n", f);
    static const char *const data[] = {"replay_shadow.dat"};
    html_figure(f, dir, "replay_shadow", data, 1,
                "float32 relative error per shadow step of the layers whose error grew most (log scale).");
}

void report_replay_section(FILE *f, const char *dir, const char *db_path, const rundata *d,
                           const cause_trace *trace)
{
    const replay_set *r = &d->replays;
    if (r->count == 0 && r->shadow.step_count == 0 && r->ignored == 0 && d->precision.ladder_count == 0) return;
    char run_dir[PATH_MAX];
    snprintf(run_dir, sizeof run_dir, "%s", db_path);
    char *slash = strrchr(run_dir, '/');
    if (slash) *slash = '\0';
    else snprintf(run_dir, sizeof run_dir, ".");
    fputs("<h2>Replay</h2>\n<p class=\"meta\">The step run again from the state at its start: in float32 with the "
          "same batch and thread count (does the value recur, bit for bit?) and in float64 (is float32 to blame?). "
          "Rows: tables replays, replay_tensors, replay_terms.</p>\n", f);
    for (int i = 0; i < r->count; i++) write_replay(f, dir, run_dir, d, &r->items[i], trace);
    write_shadow(f, dir, d);
    report_ladder_table(f, d);
    if (r->ignored > 0) {
        fprintf(f, "<p class=\"warning\">%lld replay row%s left out as damaged: ", r->ignored,
                r->ignored == 1 ? " was" : "s were");
        html_escape(f, r->ignored_reason);
        fputs(".</p>\n", f);
    }
}

/* ------------------------------------------------------- figure (draw) */

/* replay_shadow.dat: one block per series, its label first. */
static void shadow_table(const rundata *d, const replay_growth *g, int n, strbuf *t)
{
    const replay_shadow *s = &d->replays.shadow;
    for (int i = 0; i < n; i++) {
        char name[128], tensor[64];
        gnuplot_data_label(layer_name(d, s->series_layer[g[i].series]), name, sizeof name);
        gnuplot_data_label(s->series_tensor[g[i].series], tensor, sizeof tensor);
        strbuf_printf(t, "%s%s.%s\n", i ? "\n\n" : "", name, tensor);
        for (int k = 0; k < s->step_count; k++) {
            double v = s->error[(size_t)k * (size_t)s->series_count + (size_t)g[i].series];
            strbuf_printf(t, "%d ", s->steps[k]);
            figure_number(t, v > 0 ? v : NAN);
            strbuf_append(t, "\n");
        }
    }
}

void report_replay_draw(const rundata *d, figure_set *set)
{
    replay_growth g[REPORT_REPLAY_SHADOW_SERIES];
    int n = replay_shadow_growth(&d->replays.shadow, g, REPORT_REPLAY_SHADOW_SERIES);
    if (n == 0) return;
    figure *fig = figure_add(set, "replay_shadow", 1200, 600,
                             "Shadow replays: the float32 relative error ||x32 - x64|| / ||x64|| per step of the "
                             "layers whose error grew most, log scale.");
    if (!fig) return;
    strbuf table = {0};
    shadow_table(d, g, n, &table);
    figure_add_data(fig, "replay_shadow.dat", &table);
    strbuf_printf(&fig->body,
                  "set title 'float32 relative error against float64 (shadow replays)'\nset xlabel 'step'\n"
                  "set ylabel '||x32 - x64|| / ||x64||'\nset logscale y\nset format y '%%.0e'\n"
                  "set key outside right top\n"
                  "plot for [i=0:%d] 'replay_shadow.dat' index i using 1:2 with linespoints pt 7 ps 0.6 lw 2 "
                  "title columnheader(1)\n",
                  n - 1);
}
