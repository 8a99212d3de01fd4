/* report.c: report_write, the single-run report (see report.h), a pipeline
 * of five stages, each in its own folder (the Makefile's SEES_ table lets
 * each see only the stages before it):
 *
 *   load     src/rundb/read_*.c: the run in memory (read_run.c's rundata,
 *            with its replays and precision facts), the video tables and
 *            the causal walk's window (read_cause.c); load_step_table and
 *            load_chain_series here.  Nothing after this opens run.db.
 *   analyse  reports/analyse/: precursor.c (ranking), rules.c (symptom
 *            rules), cause.c (the causal trace, with mechanism.c,
 *            clip_origin.c, inference_trace.c, l2_adam.c, cause_precision.c),
 *            separation.c (compare), cause_rows.c (the chain as rows for
 *            the train command to store): numbers and findings, no files.
 *   say      reports/say/: verdict.c, cause_text.c, replay_text.c.
 *   draw     reports/draw/: draw_run.c, draw_cause.c, report_replay_draw:
 *            every figure computed into a figure struct (figure.h) in memory.
 *   write    reports/write/: write_figure.c (each figure's .dat and .gp,
 *            then gnuplot: PNG and SVG), html.c, verdict_card.c,
 *            report_replay.c, report_ladder.c, report_video.c; write_index
 *            here (index.html), verdict.txt and layer_stats.tsv.
 *
 * compare.c runs the same stages over several runs.  The train command, not
 * the report, stores the causal chain (src/rundb/db_cause.c). */
#include "report.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "cause_rows.h"
#include "draw_cause.h"
#include "draw_run.h"
#include "html.h"
#include "report_replay.h"
#include "report_video.h"
#include "outdir.h"
#include "precursor.h"
#include "run_names.h"
#include "rules.h"
#include "read_run.h"
#include "strbuf.h"
#include "verdict.h"
#include "verdict_card.h"
#include "write_figure.h"

#define REPORT_RANKING_ROWS 15

/* Tensors shown in the HTML table (the TSV file has every tensor). */
static int tensor_in_table(const char *tensor)
{
    static const char *const shown[] = {
        PROBE_NAME_OUTPUT,
        PROBE_NAME_OUTPUT_GRAD,
        PROBE_ROLE_KERNEL PROBE_SUFFIX_VALUE,
        PROBE_ROLE_KERNEL PROBE_SUFFIX_GRAD,
        PROBE_ROLE_KERNEL PROBE_SUFFIX_UPDATE,
        PROBE_ROLE_KERNEL PROBE_SUFFIX_ADAM_V,
        PROBE_ROLE_GAMMA PROBE_SUFFIX_VALUE,
        PROBE_NAME_BATCH_VARIANCE,
        PROBE_ROLE_MOVING_VARIANCE PROBE_SUFFIX_VALUE,
    };
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        if (strcmp(tensor, shown[i]) == 0) return 1;
    return 0;
}

static void html_number(FILE *f, double v)
{
    fputs("<td class=\"num\">", f);
    if (isfinite(v)) fprintf(f, "%.4g", v);
    else fputs("&mdash;", f);
    fputs("</td>", f);
}

static void tsv_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "\t%.8g", v);
    else fputs("\t", f);
}

/* Database text in a TSV cell: tabs and newlines would break the columns. */
static void tsv_text(FILE *f, const char *text)
{
    fputc('\t', f);
    for (const char *p = text; *p; p++) fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, f);
}

static int row_compare(const rundata_stat *a, const rundata_stat *b)
{
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    return strcmp(a->tensor, b->tensor);
}

typedef struct step_table {
    int step_a, step_b;
    const char *label_a, *label_b;
    rundata_stat *a, *b;
    int count_a, count_b;
} step_table;

/* Writes the TSV of every tensor at both steps; the HTML table of the main
 * tensors goes to html. */
static int write_step_table(const char *dir, const rundata *d, const step_table *t, FILE *html, error *err)
{
    FILE *tsv = figure_data_open(dir, "layer_stats.tsv", err);
    if (!tsv) return -1;
    fprintf(tsv, "layer\tpath\ttensor");
    static const char *const cols[] = {"count", "mean", "std", "min", "max", "absmax", "l2norm", "zero_fraction",
                                       "nonfinite"};
    for (int side = 0; side < 2; side++)
        for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
            fprintf(tsv, "\t%s@%d", cols[c], side == 0 ? t->step_a : t->step_b);
    fputc('\n', tsv);
    fprintf(html,
            "<table>\n<tr><th rowspan=\"2\">layer</th><th rowspan=\"2\">path</th><th rowspan=\"2\">tensor</th>"
            "<th colspan=\"4\">%s (step %d)</th><th colspan=\"4\">%s (step %d)</th></tr>\n"
            "<tr><th>absmax</th><th>L2 norm</th><th>zero fraction</th><th>non-finite</th>"
            "<th>absmax</th><th>L2 norm</th><th>non-finite</th><th>absmax ratio</th></tr>\n",
            t->label_a, t->step_a, t->label_b, t->step_b);
    int i = 0, j = 0;
    while (i < t->count_a || j < t->count_b) {
        const rundata_stat *a = i < t->count_a ? &t->a[i] : NULL, *b = j < t->count_b ? &t->b[j] : NULL;
        int order = !a ? 1 : !b ? -1 : row_compare(a, b);
        if (order < 0) b = NULL;
        if (order > 0) a = NULL;
        const rundata_stat *any = a ? a : b;
        const layer_info *l = &d->layers[any->layer];
        tsv_text(tsv, l->name);
        tsv_text(tsv, l->path);
        tsv_text(tsv, any->tensor);
        for (int side = 0; side < 2; side++) {
            const rundata_stat *r = side == 0 ? a : b;
            if (!r) {
                fputs("\t\t\t\t\t\t\t\t\t", tsv);
                continue;
            }
            fprintf(tsv, "\t%lld", r->count);
            tsv_number(tsv, r->mean);
            tsv_number(tsv, r->std);
            tsv_number(tsv, r->min);
            tsv_number(tsv, r->max);
            tsv_number(tsv, r->absmax);
            tsv_number(tsv, r->l2norm);
            tsv_number(tsv, r->zero_fraction);
            fprintf(tsv, "\t%lld", r->nonfinite);
        }
        fputc('\n', tsv);
        if (tensor_in_table(any->tensor) || (b && b->nonfinite > 0)) {
            fprintf(html, "<tr%s><td>", b && b->nonfinite > 0 ? " class=\"bad\"" : "");
            html_escape(html, l->name);
            fputs("</td><td>", html);
            html_escape(html, l->path);
            fputs("</td><td>", html);
            html_escape(html, any->tensor);
            fputs("</td>", html);
            html_number(html, a ? a->absmax : NAN);
            html_number(html, a ? a->l2norm : NAN);
            html_number(html, a ? a->zero_fraction : NAN);
            html_number(html, a ? (double)a->nonfinite : NAN);
            html_number(html, b ? b->absmax : NAN);
            html_number(html, b ? b->l2norm : NAN);
            html_number(html, b ? (double)b->nonfinite : NAN);
            html_number(html, a && b && a->absmax > 0 ? b->absmax / a->absmax : NAN);
            fputs("</tr>\n", html);
        }
        if (a) i++;
        if (b) j++;
    }
    fputs("</table>\n", html);
    return figure_data_close(tsv, dir, "layer_stats.tsv", err);
}

static void write_run_meta(FILE *f, const rundata *d, const char *db_path)
{
    const run_info *r = &d->run;
    fputs("<p class=\"meta\">Database <code>", f);
    html_escape(f, db_path);
    fprintf(f, "</code>, run %d", r->run_id);
    if (r->attempts > 1)
        fprintf(f, " (the newest of %d runs in this file%s)", r->attempts, r->resumed_from >= 0 ? ", resumed" : "");
    fputs(": status <b>", f);
    html_escape(f, r->status);
    fputs("</b>, ResNet3D-", f);
    fprintf(f, "%d width %d, clip ", r->depth, r->width);
    html_escape(f, r->clip);
    fprintf(f, ", %d classes, batch %d, init ", r->classes, r->batch);
    html_escape(f, r->init);
    fprintf(f, ", L2 %g, lr %g, seed %lld, data ", r->l2, r->lr, r->seed);
    html_escape(f, r->data);
    fputs(" (normalize ", f);
    html_escape(f, r->normalize);
    fprintf(f, "), probed every %d steps; %d steps, %d epochs, %d layers. nanprobe ", r->probe_every, d->step_count,
            d->epoch_count, d->layer_count);
    html_escape(f, r->version);
    fputs(", started ", f);
    html_escape(f, r->started_at);
    fputs(".</p>\n", f);
}

static void write_ranking(FILE *f, const rundata *d, const precursor_ranking *r)
{
    fputs("<h3>Precursor ranking (supporting evidence, not a second cause)</h3>\n<p>Each (layer, statistic) series is compared with its own early history "
          "(median and spread of its first quarter); the score is the excess departure in decades beyond the "
          "series' noise band, weighted up to 2x for an early onset. Only series that left their band are "
          "listed.</p>\n",
          f);
    if (r->candidates == 0) {
        fputs("<p>No series left its baseline band.</p>\n", f);
        return;
    }
    fputs("<table>\n<tr><th>#</th><th>layer</th><th>path</th><th>statistic</th><th>baseline</th><th>peak</th>"
          "<th>peak step</th><th>departure</th><th>band (decades)</th><th>left band at step</th><th>score</th></tr>\n",
          f);
    for (int i = 0; i < r->candidates && i < REPORT_RANKING_ROWS; i++) {
        const precursor *p = &r->items[i];
        char factor[32];
        verdict_format_factor(p->departure, factor, sizeof factor);
        fprintf(f, "<tr><td>%d</td><td>", i + 1);
        html_escape(f, d->layers[p->layer].name);
        fputs("</td><td>", f);
        html_escape(f, d->layers[p->layer].path);
        fputs("</td><td>", f);
        html_escape(f, precursor_label(p->series));
        fputs("</td>", f);
        html_number(f, p->baseline);
        html_number(f, p->peak_value);
        fprintf(f, "<td class=\"num\">%d</td><td class=\"num\">%s %s</td>", p->peak_step,
                p->departure >= 0 ? "up" : "down", factor);
        html_number(f, p->band);
        fprintf(f, "<td class=\"num\">%d</td>", p->onset_step);
        html_number(f, p->score);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void write_headroom(FILE *f, const rundata *d)
{
    int order[10], tensor[10], step[10];
    double absmax[10];
    int n = verdict_riskiest_layers(d, order, absmax, tensor, step, 10);
    if (n == 0) return;
    fputs("<h2>Overflow headroom</h2>\n<p>The layers whose tensors came closest to float32's largest value "
          "(FLT_MAX = 3.4e38) over the run; squaring a value above 1.8e19 (as Adam's second moment does) "
          "overflows.</p>\n<table>\n<tr><th>layer</th><th>path</th><th>tensor</th><th>largest |x|</th><th>at step</th>"
          "<th>decades below FLT_MAX</th></tr>\n",
          f);
    for (int i = 0; i < n; i++) {
        fputs("<tr><td>", f);
        html_escape(f, d->layers[order[i]].name);
        fputs("</td><td>", f);
        html_escape(f, d->layers[order[i]].path);
        fputs("</td><td>", f);
        html_escape(f, d->tensor_names[tensor[i]]);
        fputs("</td>", f);
        html_number(f, absmax[i]);
        fprintf(f, "<td class=\"num\">%d</td>", step[i]);
        html_number(f, absmax[i] > 0 ? log10(FLT_MAX / absmax[i]) : NAN);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void write_rules(FILE *f, const rundata *d, const rule_finding findings[RULE_COUNT])
{
    fputs("<h3>Symptom rules</h3>\n<table>\n<tr><th>rule</th><th>result</th><th>measured</th><th>threshold</th>"
          "<th>what to try</th></tr>\n",
          f);
    /* failures first, then warnings, passes, no data */
    static const rule_level order[] = {RULE_FAIL, RULE_WARN, RULE_PASS, RULE_NO_DATA};
    for (int o = 0; o < 4; o++)
        for (int i = 0; i < RULE_COUNT; i++) {
            const rule_finding *r = &findings[i];
            if (r->level != order[o]) continue;
            const char *cls = r->level == RULE_FAIL ? "FAIL" : r->level == RULE_WARN ? "warning"
                              : r->level == RULE_PASS ? "pass" : "nodata";
            fputs("<tr><td><b>", f);
            html_escape(f, r->title);
            fputs("</b><br><code>", f);
            html_escape(f, r->key);
            fprintf(f, "</code></td><td class=\"%s\">%s</td><td>", cls, rule_level_name(r->level));
            html_escape(f, r->detail);
            if (r->layer >= 0 && r->layer < d->layer_count) {
                fputs(" [", f);
                html_escape(f, d->layers[r->layer].path);
                fputs("]", f);
            }
            fputs("</td><td>", f);
            html_escape(f, r->threshold);
            fputs("</td><td>", f);
            if (r->level == RULE_FAIL || r->level == RULE_WARN) html_escape(f, r->hint);
            fputs("</td></tr>\n", f);
        }
    fputs("</table>\n", f);
}

static void write_events(FILE *f, const rundata *d)
{
    if (d->event_count == 0) return;
    fputs("<h2>Events</h2>\n<table>\n<tr><th>step</th><th>epoch</th><th>kind</th><th>layer</th><th>path</th>"
          "<th>pass</th><th>tensor</th><th>value</th><th>element (sample, d, h, w, channel)</th><th>sample id</th>"
          "<th>origin</th><th>message</th></tr>\n",
          f);
    for (int i = 0; i < d->event_count; i++) {
        const event_info *e = &d->events[i];
        fprintf(f, "<tr%s><td class=\"num\">%d</td><td class=\"num\">%d</td><td>",
                e->kind == EVENT_NAN ? " class=\"bad\"" : "", e->step, e->epoch);
        html_escape(f, e->kind < EVENT_KIND_COUNT ? event_kind_names[e->kind] : "unknown");
        fputs("</td><td>", f);
        html_escape(f, e->layer_name);
        fputs("</td><td>", f);
        html_escape(f, e->layer_path);
        fputs("</td><td>", f);
        html_escape(f, read_enum_name(STORED_PASS, e->pass));
        fputs("</td><td>", f);
        html_escape(f, e->tensor);
        fputs("</td><td>", f);
        html_escape(f, read_enum_name(STORED_VALUE_CLASS, e->value_class));
        fputs("</td><td>", f);
        if (e->element_index >= 0 || e->sample >= 0)
            fprintf(f, "%lld, %lld, %lld, %lld, %lld", e->sample, e->d, e->h, e->w, e->channel);
        fputs("</td><td>", f);
        if (e->sample_id >= 0) fprintf(f, "%lld", e->sample_id);
        fprintf(f, "</td><td>%s</td><td>", e->is_origin == 1 ? "origin" : e->is_origin == 0 ? "propagated" : "");
        html_escape(f, e->message);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static int write_index(const char *dir, const char *db_path, const rundata *d, const char *verdict, int had_nan,
                       const cause_trace *trace, const figure_set *figs, const precursor_ranking *ranking,
                       const rule_finding findings[RULE_COUNT], const step_table *table, const video_tables *video,
                       const char *gnuplot_error, error *err)
{
    FILE *f = figure_data_open(dir, "index.html", err);
    if (!f) return -1;
    char title[600];
    snprintf(title, sizeof title, "nanprobe %s report: %s", had_nan ? "NaN" : "health", d->run.name);
    html_begin(f, title);
    fputs("<h1>", f);
    html_escape(f, title);
    fputs("</h1>\n", f);
    write_run_meta(f, d, db_path);
    fputs("<h2>Verdict</h2>\n", f);
    verdict_card_html(f, verdict, !had_nan);
    fputs("<p class=\"meta\">The same card as plain text: ", f);
    html_link_if_exists(f, dir, "verdict.txt", "verdict.txt");
    fputs(".</p>\n<h2>Supporting evidence</h2>\n<p class=\"meta\">What moved before the NaN and which symptom "
          "rules fired. This is evidence for the card above, ranked by how far each statistic left its own "
          "history; it is not a second cause.</p>\n",
          f);
    verdict_evidence_html(f, verdict);
    write_ranking(f, d, ranking);
    write_rules(f, d, findings);
    report_replay_section(f, dir, db_path, d, trace);
    html_figure_section(f, dir, figs, gnuplot_error,
                        "<p class=\"meta\">Click a figure for its SVG. Every figure's gnuplot script and data "
                        "files are in this directory: edit and re-run <code>gnuplot NAME.gp</code> here to "
                        "restyle.</p>\n");
    write_headroom(f, d);
    write_events(f, d);
    report_video_section(f, video);
    if (table) {
        fprintf(f, "<h2>Layer statistics at steps %d and %d</h2>\n<p class=\"meta\">The main tensors of every "
                   "layer (rows with non-finite values at step %d highlighted); every tensor and column is in "
                   "<a href=\"layer_stats.tsv\">layer_stats.tsv</a>.</p>\n",
                table->step_a, table->step_b, table->step_b);
        /* write_step_table writes that file, or the report fails: the link
         * is not conditional on a file from an earlier report. */
        if (write_step_table(dir, d, table, f, err)) {
            fclose(f);
            return -1;
        }
    }
    fputs("<h2>Files</h2>\n<ul>\n", f);
    for (int i = 0; i < figs->count; i++) {
        const figure *fig = &figs->items[i];
        char gp[96];
        snprintf(gp, sizeof gp, "%s.gp", fig->base);
        fputs("<li>", f);
        html_link_if_exists(f, dir, gp, gp);
        for (int k = 0; k < fig->data_count; k++) {
            fputs(", ", f);
            html_link_if_exists(f, dir, fig->data[k], fig->data[k]);
        }
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
    html_end(f);
    return figure_data_close(f, dir, "index.html", err);
}

static int write_text_file(const char *dir, const char *name, const char *text, error *err)
{
    FILE *f = figure_data_open(dir, name, err);
    if (!f) return -1;
    fputs(text, f);
    return figure_data_close(f, dir, name, err);
}

/* The output directory (out_dir, or next to the database) and the paths
 * the result reports. */
static int report_directory(const char *db_path, const char *out_dir, char *dir, size_t size, report_result *result,
                            error *err)
{
    if (out_dir && *out_dir) snprintf(dir, size, "%s", out_dir);
    else outdir_default(db_path, dir, size);
    if (strlen(dir) + 1 >= size) return error_set(err, "output directory path too long: %.200s...", dir);
    snprintf(result->out_dir, sizeof result->out_dir, "%s", dir);
    return 0;
}

/* The table: the last finite probed step against the NaN step, or the
 * first against the last probed step of a healthy run. */
static int load_step_table(const rundata *d, const event_info *nan, step_table *table, error *err)
{
    if (nan) {
        int before = -1;
        for (int p = 0; p < d->probe_count && d->probe_steps[p] < nan->step; p++) before = p;
        table->step_a = before >= 0 ? d->probe_steps[before] : d->probe_steps[0];
        table->step_b = nan->step;
        table->label_a = "last finite step";
        table->label_b = "NaN step";
    } else {
        table->step_a = d->probe_steps[0];
        table->step_b = d->probe_steps[d->probe_count - 1];
        table->label_a = "first probed step";
        table->label_b = "last probed step";
    }
    if (rundata_step_stats(d, table->step_a, &table->a, &table->count_a, err) ||
        rundata_step_stats(d, table->step_b, &table->b, &table->count_b, err))
        return -1;
    return 0;
}

/* The video section's tables (none for a run on other data) and the
 * causal walk's window (cause_load): the analysis opens nothing itself. */
static int load_tables(const char *db_path, const rundata *d, video_tables *video, cause_window *window, error *err)
{
    memset(video, 0, sizeof *video);
    memset(window, 0, sizeof *window);
    run_reader *r = run_reader_open(db_path, d->run.run_id, err);
    if (!r) return -1;
    int rc = read_video_tables(r, video);
    if (rc) error_set(err, "%s: out of memory reading the video tables", db_path);
    else rc = cause_load(r, d, window, err);
    run_reader_close(r);
    return rc ? -1 : 0;
}

/* The verdict, opening with the causal trace's Cause / Path / Fix lines. */
static int compose_verdict(const rundata *d, const precursor_ranking *ranking, const rule_finding findings[RULE_COUNT],
                           const cause_trace *trace, strbuf *verdict, error *err)
{
    verdict_compose_traced(d, trace, ranking, findings, verdict);
    if (verdict->failed) return error_set(err, "out of memory composing the verdict");
    return 0;
}

/* Load stage, once the trace is known: each chain link's statistic for the
 * culprit figure. */
static int load_chain_series(const rundata *d, const cause_trace *t, chain_series *series, error *err)
{
    memset(series, 0, sizeof *series);
    if (t->klass == MECHANISM_NONE) return 0;
    for (int i = 0; i < t->chain.count; i++) {
        chain_curve *c = &series->curves[i];
        c->n = cause_link_series(d, t, &t->chain.links[i], c->steps, c->values, DRAW_CAUSE_POINTS, err);
        if (c->n < 0) return -1;
    }
    return 0;
}

/* Draw stage: every figure of the report, in memory. */
static int draw_figures(const rundata *d, const precursor_ranking *ranking, const cause_trace *trace,
                        const chain_series *chain, figure_set *figs, error *err)
{
    if (draw_run(d, ranking, figs, err)) return -1;
    draw_cause(d, trace, chain, figs);
    report_replay_draw(d, figs);
    return 0;
}

/* Write stage: verdict.txt, the figures' files rendered by gnuplot, and
 * index.html.  A gnuplot failure still leaves index.html (without the
 * missing figures) and is reported last. */
static int write_files(const char *dir, const char *db_path, const rundata *d, const char *verdict,
                       const cause_trace *trace, figure_set *figs, const precursor_ranking *ranking,
                       const rule_finding findings[RULE_COUNT], const step_table *table, const video_tables *video,
                       report_result *result, error *err)
{
    if (write_text_file(dir, "verdict.txt", verdict, err) || write_figures(dir, figs, err)) return -1;
    result->figures_planned = figs->count;
    error gnuplot_err;
    gnuplot_err.message[0] = '\0';
    int gnuplot_rc = figs->count ? render_figures(dir, figs, &gnuplot_err) : 0;
    for (int i = 0; i < figs->count; i++) result->figures_rendered += figs->items[i].rendered;
    if (write_index(dir, db_path, d, verdict, result->had_nan, trace, figs, ranking, findings, table, video,
                    gnuplot_rc ? gnuplot_err.message : NULL, err))
        return -1;
    if (gnuplot_rc && err) *err = gnuplot_err;
    return gnuplot_rc ? -1 : 0;
}

int report_write(const char *db_path, const char *out_dir, report_result *result, error *err)
{
    report_result local;
    if (!result) result = &local;
    memset(result, 0, sizeof *result);
    if (!db_path || !*db_path) return error_set(err, "no database path given");
    char dir[REPORT_PATH_MAX - 32];
    if (report_directory(db_path, out_dir, dir, sizeof dir, result, err)) return -1;

    rundata d;
    video_tables video;
    cause_window window;
    if (rundata_load(&d, db_path, SERIES_ALL, 1, err)) return -1;
    if (load_tables(db_path, &d, &video, &window, err) || outdir_create(dir, err)) {
        cause_window_free(&window);
        video_tables_free(&video);
        rundata_free(&d);
        return -1;
    }
    /* Only now is there a place where a (partial) report can be. */
    snprintf(result->index_path, sizeof result->index_path, "%s/index.html", dir);
    const event_info *nan = rundata_first_nan(&d);
    int end_step = nan ? nan->step : d.steps[d.step_count - 1].step + 1;
    result->had_nan = nan != NULL;
    result->nan_step = nan ? nan->step : 0;

    precursor_ranking ranking;
    memset(&ranking, 0, sizeof ranking);
    rule_finding findings[RULE_COUNT];
    cause_trace trace;
    strbuf verdict = {0};
    figure_set figs;
    memset(&figs, 0, sizeof figs);
    step_table table;
    memset(&table, 0, sizeof table);
    chain_series *chain = malloc(sizeof *chain);
    int rc = -1;
    if (!chain) {
        error_set(err, "out of memory");
        goto done;
    }
    /* load (with the rundata above) */
    if (d.probe_count > 0 && load_step_table(&d, nan, &table, err)) goto done;
    /* analyse, then load the curves of the chain the trace found */
    if (precursor_rank(&d, end_step, &ranking, err)) goto done;
    rules_evaluate(&d, end_step, findings);
    if (cause_trace_build(&d, &window, &trace, err) || load_chain_series(&d, &trace, chain, err)) goto done;
    /* say */
    if (compose_verdict(&d, &ranking, findings, &trace, &verdict, err)) goto done;
    cause_rows(&d, &trace, &result->chain);
    snprintf(result->verdict, sizeof result->verdict, "%s", strbuf_text(&verdict));
    /* draw */
    if (draw_figures(&d, &ranking, &trace, chain, &figs, err)) goto done;
    /* write */
    rc = write_files(dir, db_path, &d, strbuf_text(&verdict), &trace, &figs, &ranking, findings,
                     d.probe_count > 0 ? &table : NULL, &video, result, err);
done:
    free(chain);
    figure_set_free(&figs);
    free(table.a);
    free(table.b);
    strbuf_free(&verdict);
    precursor_free(&ranking);
    cause_window_free(&window);
    video_tables_free(&video);
    rundata_free(&d);
    return rc;
}
