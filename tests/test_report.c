/* test_report.c: the report side (reports/) on run databases built here
 * with a planted cause: a 15-layer network, a few hundred steps, the stats
 * and layer_metrics rows the trainer writes, and a 'nan' event at a known
 * step, layer, pass and tensor.
 *
 * Checks: the verdict names the planted origin and the planted precursor;
 * gnuplot exits 0 and every PNG has the size its script asked for; every
 * file index.html references exists; a health report; compare on a 2x2
 * grid; hostile run and layer names execute nothing and stay escaped; the
 * symptom rules on planted symptoms; errors for bad databases and for a
 * missing or failing gnuplot; figures drawn in memory and written apart
 * are the report's files, byte for byte. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"
#include "draw_run.h"
#include "gnuplot.h"
#include "precursor.h"
#include "report.h"
#include "rules.h"
#include "read_run.h"
#include "test_db.h"
#include "test_util.h"
#include "verdict.h"
#include "write_figure.h"

static char temp_root[512];

/* ------------------------------------------------------------ fixtures */

typedef struct fixture_layer {
    const char *name, *path, *kind, *inputs;
    long long count;  /* elements of the output (batch 2) */
    int channels;
} fixture_layer;

static const fixture_layer base_layers[15] = {
    {"input_1", "input", "InputLayer", "", 2 * 8 * 16 * 16 * 3, 3},
    {"conv3d", "stem.conv", "Conv3D", "input_1", 2 * 4 * 8 * 8 * 16, 16},
    {"batch_normalization", "stem.bn", "BatchNormalization", "conv3d", 2 * 4 * 8 * 8 * 16, 16},
    {"activation", "stem.relu", "Activation", "batch_normalization", 2 * 4 * 8 * 8 * 16, 16},
    {"max_pooling3d", "stem.pool", "MaxPooling3D", "activation", 2 * 2 * 4 * 4 * 16, 16},
    {"conv3d_1", "stage1.block1.conv1", "Conv3D", "max_pooling3d", 2 * 2 * 4 * 4 * 16, 16},
    {"batch_normalization_1", "stage1.block1.bn2", "BatchNormalization", "conv3d_1", 2 * 2 * 4 * 4 * 16, 16},
    {"activation_1", "stage1.block1.relu2", "Activation", "batch_normalization_1", 2 * 2 * 4 * 4 * 16, 16},
    {"conv3d_2", "stage1.block1.conv2", "Conv3D", "activation_1", 2 * 2 * 4 * 4 * 16, 16},
    {"add", "stage1.block1.add", "Add", "max_pooling3d,conv3d_2", 2 * 2 * 4 * 4 * 16, 16},
    {"batch_normalization_2", "head.bn", "BatchNormalization", "add", 2 * 2 * 4 * 4 * 16, 16},
    {"activation_2", "head.relu", "Activation", "batch_normalization_2", 2 * 2 * 4 * 4 * 16, 16},
    {"average_pooling3d", "head.pool", "AveragePooling3D", "activation_2", 2 * 16, 16},
    {"flatten", "head.flatten", "Flatten", "average_pooling3d", 2 * 16, 16},
    {"dense", "head.dense", "Dense", "flatten", 2 * 4, 4},
};

typedef enum plant {
    PLANT_NONE,            /* healthy */
    PLANT_GRAD_EXPLOSION,  /* conv3d_2's output gradient grows until +inf in backward */
    PLANT_BN_COLLAPSE,     /* batch_normalization_1's variance shrinks until NaN in forward */
    PLANT_SYMPTOMS,        /* no NaN, but dead ReLU, L2 kernel collapse, n = 1, cancellation, constant clip */
    PLANT_SUDDEN,          /* a NaN in batch_normalization_2's forward with nothing growing before it */
} plant;

typedef struct fixture {
    plant cause;
    int steps;             /* steps written (the NaN step last, when planted) */
    int nan_step;          /* 0: none */
    const char *run_name;
    const char *init;
    double l2, lr;
    const char *hostile_layer; /* replaces conv3d_2's name and path when set */
} fixture;

static uint64_t noise_state;

static double noise(void) /* uniform [0, 1) */
{
    noise_state = noise_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(noise_state >> 11) * (1.0 / 9007199254740992.0);
}

static double around(double v)
{
    return v * (0.85 + 0.3 * noise());
}

/* The planted multiplier of one (layer, tensor/metric) at one step. */
static double planted_factor(const fixture *fx, int layer, const char *what, int step)
{
    if (fx->cause == PLANT_GRAD_EXPLOSION) {
        if (layer == 8 && strcmp(what, "output_grad.absmax") == 0 && step > 120)
            return pow(10.0, (step - 120) / 20.0); /* 10x per 20 steps: 10^6 by step 240 */
        if (layer == 8 && strcmp(what, "output_grad.l2norm") == 0 && step > 120) return pow(10.0, (step - 120) / 40.0);
        /* the explosion reaches earlier layers in the backward pass, later and weaker */
        if (layer < 8 && strncmp(what, "output_grad", 11) == 0 && step > 170) return pow(10.0, (step - 170) / 40.0);
    }
    if (fx->cause == PLANT_BN_COLLAPSE) {
        if (layer == 6 && strcmp(what, "bn.min_variance") == 0 && step > 100) return pow(10.0, -(step - 100) / 15.0);
        if (layer == 6 && strcmp(what, "bn.max_gamma_over_std") == 0 && step > 100)
            return pow(10.0, (step - 100) / 30.0);
    }
    if (fx->cause == PLANT_SYMPTOMS) {
        /* conv3d_1 feeds batch_normalization_1: its kernel shrinks 5x under L2 */
        if (layer == 5 && strcmp(what, "kernel.l2norm") == 0) return pow(0.2, (double)step / fx->steps);
        if (layer == 5 && strcmp(what, "kernel.update_ratio") == 0) return pow(25.0, (double)step / fx->steps);
    }
    return 1.0;
}

static const char *const conv_tensors[] = {"kernel", "kernel.grad", "kernel.l2_grad", "kernel.update", "kernel.adam_m",
                                           "kernel.adam_v", "bias", "bias.grad", "bias.update"};
static const double conv_scales[] = {1.0, 1e-3, 1e-4, 1e-3, 1e-4, 1e-8, 1e-2, 1e-5, 1e-4};
static const char *const bn_tensors[] = {"gamma", "gamma.grad", "beta", "beta.grad", "batch_mean", "batch_variance",
                                         "moving_mean", "moving_variance"};
static const double bn_scales[] = {1.0, 1e-3, 0.1, 1e-3, 0.5, 2.0, 0.5, 2.0};

static void insert_stat(sqlite3_stmt *st, int step, int layer, const char *tensor, long long count, double absmax,
                        double l2norm, double zero_fraction, long long nan_count)
{
    sqlite3_bind_int(st, 1, step);
    sqlite3_bind_int(st, 2, layer);
    sqlite3_bind_text(st, 3, tensor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, count);
    sqlite3_bind_double(st, 5, 0.01 * absmax);
    sqlite3_bind_double(st, 6, 0.3 * absmax);
    sqlite3_bind_double(st, 7, -absmax);
    sqlite3_bind_double(st, 8, 0.95 * absmax);
    sqlite3_bind_double(st, 9, absmax);
    sqlite3_bind_double(st, 10, l2norm);
    sqlite3_bind_double(st, 11, zero_fraction);
    sqlite3_bind_int64(st, 12, nan_count);
    sqlite3_step(st);
    sqlite3_reset(st);
}

static void insert_metric(sqlite3_stmt *st, int step, int layer, const char *metric, double value)
{
    sqlite3_bind_int(st, 1, step);
    sqlite3_bind_int(st, 2, layer);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, value);
    sqlite3_step(st);
    sqlite3_reset(st);
}

/* Builds path (a fresh file) for the fixture; returns 0 on success. */
static int fixture_write(const char *path, const fixture *fx)
{
    noise_state = 12345 + (uint64_t)fx->cause * 7 + (uint64_t)(fx->l2 * 1e5) + (uint64_t)(fx->init[0]);
    remove(path);
    sqlite3 *db = test_sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db) return -1;
    int ok = test_sql_exec(db, db_schema_sql()) == 0 && test_sql_exec(db, "BEGIN") == 0;
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db,
                       "INSERT INTO runs VALUES (1, ?1, '0.1-test', '2024-05-01T10:00:00Z', NULL, ?2, 18, 16, "
                       "'8x16x16x3', 4, 2, ?3, ?4, ?5, 42, 'synthetic', 'per_clip', 1, NULL, '{}', NULL)",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, fx->run_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fx->nan_step ? "nan" : "completed", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, fx->init, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, fx->l2);
    sqlite3_bind_double(st, 5, fx->lr);
    ok = ok && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "INSERT INTO layers VALUES (1, ?, ?, ?, ?, ?, '(None, ...)', ?)", -1, &st, NULL);
    for (int l = 0; l < 15; l++) {
        const fixture_layer *fl = &base_layers[l];
        int hostile = fx->hostile_layer && l == 8;
        sqlite3_bind_int(st, 1, l);
        sqlite3_bind_text(st, 2, hostile ? fx->hostile_layer : fl->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, hostile ? fx->hostile_layer : fl->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, fl->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, fl->inputs, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, strcmp(fl->kind, "Conv3D") == 0 ? 7000 : 0);
        ok = ok && sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_stmt *step_insert, *stat_insert, *metric_insert, *sample_insert, *epoch_insert;
    sqlite3_prepare_v2(db, "INSERT INTO steps VALUES (1, ?, ?, ?, ?, ?, ?, ?, 0.2, 1, ?, ?, NULL, 0)", -1, &step_insert, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO stats VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)", -1, &stat_insert,
                       NULL);
    sqlite3_prepare_v2(db, "INSERT INTO layer_metrics VALUES (1, ?, ?, ?, ?)", -1, &metric_insert, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO input_samples VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)", -1, &sample_insert,
                       NULL);
    sqlite3_prepare_v2(db, "INSERT INTO epochs VALUES (1, ?, ?, ?, ?, ?, ?, ?, 30.0)", -1, &epoch_insert, NULL);
    for (int s = 1; s <= fx->steps; s++) {
        int is_nan = fx->nan_step && s == fx->nan_step;
        int epoch = (s - 1) / 50 + 1;
        double loss = 1.4 * exp(-s / 150.0) + 0.2 + 0.05 * noise();
        sqlite3_bind_int(step_insert, 1, s);
        sqlite3_bind_int(step_insert, 2, epoch);
        sqlite3_bind_double(step_insert, 3, fx->lr);
        if (is_nan) sqlite3_bind_null(step_insert, 4); else sqlite3_bind_double(step_insert, 4, loss);
        sqlite3_bind_double(step_insert, 5, loss - 0.01);
        sqlite3_bind_double(step_insert, 6, 0.01);
        sqlite3_bind_double(step_insert, 7, 0.25 + 0.6 * s / fx->steps);
        char ids[32];
        snprintf(ids, sizeof ids, "%d,%d", 2 * s, 2 * s + 1);
        sqlite3_bind_text(step_insert, 8, ids, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(step_insert, 9, !is_nan);
        sqlite3_step(step_insert);
        sqlite3_reset(step_insert);
        for (int l = 0; l < 15; l++) {
            const fixture_layer *fl = &base_layers[l];
            double act = around(l == 0 ? 3.0 : 2.0 + 0.2 * l);
            double zero = strcmp(fl->kind, "Activation") == 0 ? 0.5 : 0.0;
            if (fx->cause == PLANT_SYMPTOMS && l == 7) zero = 0.97;
            long long act_nan = is_nan && fx->cause == PLANT_BN_COLLAPSE && l >= 6 ? 3 : 0;
            insert_stat(stat_insert, s, l, "output", fl->count, act, act * 0.4 * sqrt((double)fl->count), zero, act_nan);
            if (l > 0) {
                double g = around(1e-3 * (1.0 + 0.05 * l));
                double gabs = g * planted_factor(fx, l, "output_grad.absmax", s);
                double gnorm = 0.2 * g * sqrt((double)fl->count) * planted_factor(fx, l, "output_grad.l2norm", s);
                long long gnan = is_nan && fx->cause == PLANT_GRAD_EXPLOSION && l <= 8 ? 1 + 8 - l : 0;
                insert_stat(stat_insert, s, l, "output_grad", fl->count, gabs, gnorm, 0.0, gnan);
            }
            if (strcmp(fl->kind, "Conv3D") == 0 || strcmp(fl->kind, "Dense") == 0) {
                for (size_t t = 0; t < sizeof conv_tensors / sizeof conv_tensors[0]; t++) {
                    double v = around(conv_scales[t]);
                    double norm = 10.0 * v;
                    if (t == 0) norm = 5.0 * (0.98 + 0.04 * noise()) * planted_factor(fx, l, "kernel.l2norm", s);
                    insert_stat(stat_insert, s, l, conv_tensors[t], 7000, v, norm, 0.0, 0);
                }
                insert_metric(metric_insert, s, l, "kernel.update_ratio",
                              around(1e-3) * planted_factor(fx, l, "kernel.update_ratio", s));
                insert_metric(metric_insert, s, l, "kernel.l2_grad_ratio", around(fx->l2 > 0 ? 0.05 : 1e-9));
                insert_metric(metric_insert, s, l, "kernel.adam_step_size", fx->lr);
            }
            if (strcmp(fl->kind, "BatchNormalization") == 0) {
                for (size_t t = 0; t < sizeof bn_tensors / sizeof bn_tensors[0]; t++) {
                    double v = around(bn_scales[t]);
                    insert_stat(stat_insert, s, l, bn_tensors[t], fl->channels, v, 3.0 * v, 0.0, 0);
                }
                double n = (double)(fl->count / fl->channels);
                if (fx->cause == PLANT_SYMPTOMS && l == 10) n = 1.0;
                insert_metric(metric_insert, s, l, "bn.count", n);
                insert_metric(metric_insert, s, l, "bn.min_variance",
                              around(0.2) * planted_factor(fx, l, "bn.min_variance", s));
                insert_metric(metric_insert, s, l, "bn.max_variance", around(4.0));
                insert_metric(metric_insert, s, l, "bn.max_mean2_over_var",
                              fx->cause == PLANT_SYMPTOMS && l == 2 ? around(3e7) : around(5.0));
                insert_metric(metric_insert, s, l, "bn.max_gamma_over_std",
                              around(2.0) * planted_factor(fx, l, "bn.max_gamma_over_std", s));
            }
            if (strcmp(fl->kind, "Dense") == 0) {
                insert_metric(metric_insert, s, l, "loss.max_probability", 0.5 + 0.3 * noise());
                insert_metric(metric_insert, s, l, "loss.min_margin", around(0.1));
            }
        }
        for (int position = 0; position < 2; position++) {
            int constant = fx->cause == PLANT_SYMPTOMS && s == 77 && position == 1;
            sqlite3_bind_int(sample_insert, 1, s);
            sqlite3_bind_int(sample_insert, 2, position);
            sqlite3_bind_int(sample_insert, 3, 2 * s + position);
            sqlite3_bind_int(sample_insert, 4, (s + position) % 4);
            sqlite3_bind_double(sample_insert, 5, constant ? 0.0 : 0.02 * (noise() - 0.5));
            sqlite3_bind_double(sample_insert, 6, constant ? 0.0 : around(1.0));
            sqlite3_bind_double(sample_insert, 7, constant ? 0.0 : -3.0);
            sqlite3_bind_double(sample_insert, 8, constant ? 0.0 : 3.0);
            sqlite3_bind_double(sample_insert, 9, constant ? 0.0 : 3.0);
            sqlite3_bind_int(sample_insert, 10, 0);
            sqlite3_step(sample_insert);
            sqlite3_reset(sample_insert);
        }
        if (s % 50 == 0 && !is_nan) {
            sqlite3_bind_int(epoch_insert, 1, epoch);
            sqlite3_bind_int(epoch_insert, 2, s);
            sqlite3_bind_double(epoch_insert, 3, loss);
            sqlite3_bind_double(epoch_insert, 4, 0.3 + 0.1 * epoch);
            sqlite3_bind_double(epoch_insert, 5, loss * 1.15 + (fx->l2 > 0 ? 0.05 : 0.0));
            sqlite3_bind_double(epoch_insert, 6, 0.25 + 0.08 * epoch + (fx->init[0] == 'h' ? 0.03 : 0.0));
            sqlite3_bind_double(epoch_insert, 7, fx->lr);
            sqlite3_step(epoch_insert);
            sqlite3_reset(epoch_insert);
        }
    }
    sqlite3_finalize(step_insert);
    sqlite3_finalize(stat_insert);
    sqlite3_finalize(metric_insert);
    sqlite3_finalize(sample_insert);
    sqlite3_finalize(epoch_insert);
    if (fx->nan_step) {
        sqlite3_prepare_v2(db,
                           "INSERT INTO events (run_id, step, epoch, kind, layer_id, layer_name, layer_path, pass, "
                           "tensor, value_class, element_index, sample, d, h, w, channel, sample_id, is_origin, "
                           "message) VALUES (1, ?1, ?2, 'nan', ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, 0, 2, 3, 5, 4711, 1, "
                           "?10)",
                           -1, &st, NULL);
        int layer = fx->cause == PLANT_BN_COLLAPSE ? 6 : fx->cause == PLANT_SUDDEN ? 10 : 8;
        int hostile = fx->hostile_layer && layer == 8;
        sqlite3_bind_int(st, 1, fx->nan_step);
        sqlite3_bind_int(st, 2, (fx->nan_step - 1) / 50 + 1);
        sqlite3_bind_int(st, 3, layer);
        sqlite3_bind_text(st, 4, hostile ? fx->hostile_layer : base_layers[layer].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, hostile ? fx->hostile_layer : base_layers[layer].path, -1, SQLITE_STATIC);
        int forward = fx->cause == PLANT_BN_COLLAPSE || fx->cause == PLANT_SUDDEN;
        sqlite3_bind_text(st, 6, forward ? "forward" : "backward", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, forward ? "output" : "output_grad", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, forward ? "nan" : "+inf", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, 1 * 512 + 2 * 64 + 3 * 16 + 5);
        sqlite3_bind_text(st, 10, fx->hostile_layer ? fx->hostile_layer : "planted", -1, SQLITE_STATIC);
        ok = ok && sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
    }
    ok = ok && test_sql_exec(db, "COMMIT") == 0;
    sqlite3_close(db);
    return ok ? 0 : -1;
}

/* ----------------------------------------------------------- file checks */

static uint32_t big_endian32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every NAME.gp in dir that asks for a pngcairo size: NAME.png must be a PNG
 * of exactly that size, and NAME.svg must exist.  Returns the figures checked. */
static int check_pngs(const char *dir, const char *const *names, int count)
{
    int checked = 0;
    for (int i = 0; i < count; i++) {
        char gp_path[1024], png_path[1024], svg_path[1024];
        snprintf(gp_path, sizeof gp_path, "%s/%s.gp", dir, names[i]);
        snprintf(png_path, sizeof png_path, "%s/%s.png", dir, names[i]);
        snprintf(svg_path, sizeof svg_path, "%s/%s.svg", dir, names[i]);
        char *script = test_read_file(gp_path, NULL);
        CHECK(script != NULL, "%s: script missing", gp_path);
        if (!script) continue;
        const char *size = strstr(script, "set terminal pngcairo size ");
        int w = 0, h = 0;
        CHECK(size && sscanf(size, "set terminal pngcairo size %d,%d", &w, &h) == 2, "%s: no pngcairo size", gp_path);
        free(script);
        FILE *f = fopen(png_path, "rb");
        CHECK(f != NULL, "%s: missing", png_path);
        if (!f) continue;
        unsigned char header[24];
        size_t n = fread(header, 1, sizeof header, f);
        fclose(f);
        static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        CHECK(n == 24 && memcmp(header, signature, 8) == 0 && memcmp(header + 12, "IHDR", 4) == 0,
              "%s: not a PNG", png_path);
        CHECK(big_endian32(header + 16) == (uint32_t)w && big_endian32(header + 20) == (uint32_t)h,
              "%s: %ux%u, asked for %dx%d", png_path, big_endian32(header + 16), big_endian32(header + 20), w, h);
        char *svg = test_read_file(svg_path, NULL);
        CHECK(svg && strstr(svg, "<svg"), "%s: not an SVG", svg_path);
        free(svg);
        checked++;
    }
    return checked;
}

/* Every src="..." and href="..." of index.html names an existing file of dir
 * (relative, no directories); returns the number of references. */
static int check_index_refs(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = test_read_file(path, NULL);
    CHECK(html != NULL, "%s missing", path);
    if (!html) return 0;
    int refs = 0;
    static const char *const attrs[] = {"src=\"", "href=\""};
    for (int a = 0; a < 2; a++)
        for (const char *p = strstr(html, attrs[a]); p; p = strstr(p + 1, attrs[a])) {
            const char *start = p + strlen(attrs[a]);
            const char *end = strchr(start, '"');
            if (!end) break;
            char name[512];
            snprintf(name, sizeof name, "%.*s", (int)(end - start), start);
            char file[1600];
            snprintf(file, sizeof file, "%s/%s", dir, name);
            CHECK(strchr(name, '/') == NULL && strstr(name, "..") == NULL, "index.html references %s", name);
            CHECK(test_is_file(file), "index.html references %s, which does not exist", name);
            refs++;
        }
    CHECK(strstr(html, "</html>") != NULL, "%s is not complete", path);
    free(html);
    return refs;
}

static int contains(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

/* The verdict reads at a glance: the card (Cause, Path, Fix, Origin) comes
 * first, then the evidence heading, the precursor and the rules; the page's
 * card holds the same rows in that order, the ranking below it is labelled
 * as evidence, and the path is one list item per link. */
static void check_card(const char *dir, const char *v)
{
    const char *heading = strstr(v, VERDICT_EVIDENCE_HEADING);
    const char *top = strstr(v, "Precursor: "), *rules = strstr(v, "Symptom rules: ");
    const char *fix = strstr(v, "\nFix: "), *origin = strstr(v, "\nOrigin: ");
    CHECK(heading && fix && origin && fix < origin && origin < heading && top > heading && rules > heading,
          "the verdict is not card, heading, evidence:\n%s", v);
    CHECK(heading && heading[-1] == '\n' && heading[-2] == '\n', "no blank line before the evidence heading");
    char path[REPORT_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = test_read_file(path, NULL);
    const char *card = html ? strstr(html, "id=\"verdict-card\"") : NULL;
    const char *cause = card ? strstr(card, "<tr class=\"Cause\"><th>Cause</th>") : NULL;
    const char *row_path = cause ? strstr(cause, "<tr class=\"Path\">") : NULL;
    const char *row_fix = row_path ? strstr(row_path, "<tr class=\"Fix\">") : NULL;
    const char *row_origin = row_fix ? strstr(row_fix, "<tr class=\"Origin\">") : NULL;
    const char *card_end = card ? strstr(card, "</table>") : NULL;
    CHECK(row_origin && card_end && row_origin < card_end, "index.html lacks the card's Cause, Path, Fix, Origin rows");
    const char *ranking = html ? strstr(html, "Precursor ranking (supporting evidence, not a second cause)") : NULL;
    const char *evidence = html ? strstr(html, "<h2>Supporting evidence</h2>") : NULL;
    CHECK(evidence && ranking && card_end && card_end < evidence && evidence < ranking,
          "the ranking is not below the card, labelled as evidence");
    const char *list = row_path ? strstr(row_path, "<ol class=\"path\">") : NULL;
    int links = 0;
    for (const char *li = list; li && row_fix && (li = strstr(li + 1, "<li>")) && li < row_fix;) links++;
    /* links in the text: one, plus one per " -> " that starts a name (not a number) */
    int expected = 1;
    const char *line = strstr(v, "Path: "), *line_end = line ? strchr(line, '\n') : NULL;
    for (const char *a = line; a && (a = strstr(a, " -> ")) && a < line_end; a += 4)
        expected += (a[4] >= 'a' && a[4] <= 'z') || (a[4] >= 'A' && a[4] <= 'Z' && strncmp(a + 4, "Inf", 3) && strncmp(a + 4, "NaN", 3));
    CHECK(line && links == expected, "the card's path has %d list items, the verdict %d links", links, expected);
    CHECK(!(card && strstr(card, "Precursor:") && strstr(card, "Precursor:") < card_end), "the precursor is inside the card");
    free(html);
}

/* ----------------------------------------------------------------- tests */

static const char *const run_figures[] = {"loss", "culprit", "heat_activation", "heat_gradient", "weights",
                                          "batchnorm", "headroom"};

static void test_gradient_explosion(void)
{
    char dir[600], db[700];
    snprintf(dir, sizeof dir, "%s/explosion", temp_root);
    test_make_dirs(dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    fixture fx = {PLANT_GRAD_EXPLOSION, 240, 240, "explosion", "he_normal", 1e-4, 1e-3, NULL};
    CHECK(fixture_write(db, &fx) == 0, "writing %s", db);
    report_result result;
    error err = {{0}};
    int rc = report_write(db, NULL, &result, &err);
    CHECK(rc == 0, "report_write: %s", err.message);
    CHECK(result.had_nan == 1 && result.nan_step == 240, "had_nan %d step %d", result.had_nan, result.nan_step);
    char expected_dir[800];
    snprintf(expected_dir, sizeof expected_dir, "%s/report", dir);
    CHECK(strcmp(result.out_dir, expected_dir) == 0, "default out_dir %s", result.out_dir);
    const char *v = result.verdict;
    printf("--- verdict of the planted gradient explosion ---\n%s---\n", v);
    /* the origin, exactly as planted */
    CHECK(contains(v, "step 240 (epoch 5)"), "verdict lacks the step/epoch");
    CHECK(contains(v, "+inf in output_grad of conv3d_2 (stage1.block1.conv2) during the backward pass"),
          "verdict lacks origin layer/pass/tensor");
    CHECK(contains(v, "sample 1, d 0, h 2, w 3, channel 5"), "verdict lacks the element");
    CHECK(contains(v, "sample id 4711"), "verdict lacks the clip id");
    CHECK(contains(v, "Origin: every input"), "verdict lacks origin/propagation");
    /* the precursor: conv3d_2's gradient absmax, from about step 120 */
    CHECK(contains(v, "Precursor: gradient absmax of conv3d_2 (stage1.block1.conv2) grew 10^"),
          "precursor does not name conv3d_2's gradient absmax");
    int span = 0;
    const char *over = strstr(v, "grew 10^");
    CHECK(over && sscanf(strstr(over, " over the ") ? strstr(over, " over the ") : "", " over the %d steps", &span) == 1 &&
              span >= 100 && span <= 125,
          "precursor onset span %d, planted 120", span);
    CHECK(contains(v, "Next candidates: 2."), "no ranked candidates after the precursor");
    /* the cause: planted as 10x every 20 steps, i.e. 10^0.05 x per step */
    CHECK(strncmp(v, "Cause: gradual growth to overflow at conv3d_2: ", 47) == 0 && contains(v, "10^0.05 x per step"),
          "the cause is not conv3d_2's steady gradient growth at 10^0.05 x per step");
    CHECK(result.figures_rendered == result.figures_planned && result.figures_planned == 7,
          "figures %d of %d", result.figures_rendered, result.figures_planned);
    CHECK(check_pngs(result.out_dir, run_figures, 7) == 7, "not every figure was checked");
    CHECK(check_index_refs(result.out_dir) >= 14, "index.html references too few files");
    char path[REPORT_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/layer_stats.tsv", result.out_dir);
    char *tsv = test_read_file(path, NULL);
    CHECK(contains(tsv, "conv3d_2\tstage1.block1.conv2\toutput_grad"), "layer_stats.tsv lacks the NaN row");
    free(tsv);
    /* The page of a first report (a fresh directory) links the table too. */
    snprintf(path, sizeof path, "%s/index.html", result.out_dir);
    char *page = test_read_file(path, NULL);
    CHECK(contains(page, "<a href=\"layer_stats.tsv\">"), "a fresh report's index.html does not link layer_stats.tsv");
    free(page);
    snprintf(path, sizeof path, "%s/verdict.txt", result.out_dir);
    char *text = test_read_file(path, NULL);
    CHECK(text && strcmp(text, v) == 0, "verdict.txt differs from the result");
    free(text);
    check_card(result.out_dir, v);
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s.gp", result.out_dir, run_figures[i]);
        CHECK(test_is_file(path), "%s missing", path);
    }
}

static void test_bn_collapse(void)
{
    char dir[600], db[700], out[700];
    snprintf(dir, sizeof dir, "%s/bn", temp_root);
    test_make_dirs(dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    snprintf(out, sizeof out, "%s/elsewhere/deeper", temp_root);
    fixture fx = {PLANT_BN_COLLAPSE, 220, 220, "bn-collapse", "glorot_uniform", 1e-4, 1e-3, NULL};
    CHECK(fixture_write(db, &fx) == 0, "writing %s", db);
    report_result result;
    error err = {{0}};
    CHECK(report_write(db, out, &result, &err) == 0, "report_write: %s", err.message);
    CHECK(strcmp(result.out_dir, out) == 0, "out_dir %s", result.out_dir);
    CHECK(contains(result.verdict, "nan in output of batch_normalization_1 (stage1.block1.bn2) during the forward"),
          "verdict lacks the planted forward NaN:\n%s", result.verdict);
    CHECK(contains(result.verdict, "Precursor: BN minimum batch variance of batch_normalization_1"),
          "precursor does not name the BN variance:\n%s", result.verdict);
    CHECK(contains(result.verdict, "shrank"), "variance should have shrunk");
    check_index_refs(out);
}

/* A NaN with no warning: the verdict must say so rather than invent a
 * precursor, and the culprit figure falls back to the NaN layer. */
static void test_sudden_nan(void)
{
    char dir[600], db[700];
    snprintf(dir, sizeof dir, "%s/sudden", temp_root);
    test_make_dirs(dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    fixture fx = {PLANT_SUDDEN, 200, 200, "sudden", "he_normal", 1e-4, 1e-3, NULL};
    CHECK(fixture_write(db, &fx) == 0, "writing %s", db);
    report_result result;
    error err = {{0}};
    CHECK(report_write(db, NULL, &result, &err) == 0, "report_write: %s", err.message);
    CHECK(contains(result.verdict, "nan in output of batch_normalization_2 (head.bn) during the forward pass"),
          "sudden NaN origin:\n%s", result.verdict);
    CHECK(contains(result.verdict, "Precursor: none."), "a precursor was invented:\n%s", result.verdict);
    CHECK(result.figures_rendered == 7, "sudden: %d figures", result.figures_rendered);
    char path[REPORT_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/culprit.dat", result.out_dir);
    char *dat = test_read_file(path, NULL);
    /* the culprit figure follows the causal chain: here only the origin */
    CHECK(dat && strncmp(dat, "batch_normalization_2.output\n", 29) == 0, "culprit figure does not show the NaN layer");
    free(dat);
    check_index_refs(result.out_dir);
}

/* The draw stage computes the figures in memory; the write stage writes
 * them: drawn and written apart, every .dat and .gp equals, byte for byte,
 * the table in memory and the file report_write made in report_dir. */
static void check_draw_then_write(const rundata *d, const char *report_dir)
{
    char out[700], path[REPORT_PATH_MAX + 128];
    snprintf(out, sizeof out, "%s/drawn", temp_root);
    test_make_dirs(out);
    precursor_ranking ranking;
    error err = {{0}};
    CHECK(precursor_rank(d, d->steps[d->step_count - 1].step + 1, &ranking, &err) == 0, "rank: %s", err.message);
    figure_set set;
    memset(&set, 0, sizeof set);
    CHECK(draw_run(d, &ranking, &set, &err) == 0 && set.count == 6, "draw_run: %d figures, %s", set.count,
          err.message);
    CHECK(write_figures(out, &set, &err) == 0, "write_figures: %s", err.message);
    int compared = 0;
    for (int i = 0; i < set.count; i++) {
        const figure *fig = &set.items[i];
        for (int k = 0; k <= fig->data_count; k++) {
            char name[96]; /* the data tables, then the script */
            if (k < fig->data_count) snprintf(name, sizeof name, "%s", fig->data[k]);
            else snprintf(name, sizeof name, "%s.gp", fig->base);
            snprintf(path, sizeof path, "%s/%s", out, name);
            char *written = test_read_file(path, NULL);
            snprintf(path, sizeof path, "%s/%s", report_dir, name);
            char *reported = test_read_file(path, NULL);
            int same = written && reported && strcmp(written, reported) == 0 &&
                       (k == fig->data_count || strcmp(written, strbuf_text(&fig->data_text[k])) == 0);
            CHECK(same, "%s: drawn then written differs from the table in memory or the report's", name);
            compared += same;
            free(written);
            free(reported);
        }
    }
    CHECK(compared >= 16, "only %d files compared", compared);
    figure_set_free(&set);
    precursor_free(&ranking);
}

static void test_health(void)
{
    char dir[600], db[700];
    snprintf(dir, sizeof dir, "%s/healthy", temp_root);
    test_make_dirs(dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    fixture fx = {PLANT_NONE, 300, 0, "healthy", "he_normal", 0.0, 1e-3, NULL};
    CHECK(fixture_write(db, &fx) == 0, "writing %s", db);
    report_result result;
    error err = {{0}};
    CHECK(report_write(db, NULL, &result, &err) == 0, "report_write: %s", err.message);
    CHECK(!result.had_nan && result.nan_step == 0, "healthy run reported a NaN");
    CHECK(contains(result.verdict, "No NaN or Inf recorded: 300 steps"), "health verdict:\n%s", result.verdict);
    CHECK(contains(result.verdict, "Closest approach to overflow: |x| = "), "no overflow approach");
    CHECK(contains(result.verdict, "Riskiest layers"), "no riskiest layers");
    CHECK(contains(result.verdict, "Symptom rules: 0 failed"), "a healthy run failed a rule:\n%s", result.verdict);
    /* no culprit figure without a precursor or a NaN */
    static const char *const figures[] = {"loss", "heat_activation", "heat_gradient", "weights", "batchnorm",
                                          "headroom"};
    CHECK(result.figures_rendered == 6, "health figures %d", result.figures_rendered);
    CHECK(check_pngs(result.out_dir, figures, 6) == 6, "health figures not all valid");
    check_index_refs(result.out_dir);

    /* The rules directly: nothing but passes (or no data) on the healthy run. */
    rundata d;
    CHECK(rundata_load(&d, db, SERIES_ALL, 1, &err) == 0, "rundata_load: %s", err.message);
    rule_finding findings[RULE_COUNT];
    rules_evaluate(&d, d.steps[d.step_count - 1].step + 1, findings);
    for (int i = 0; i < RULE_COUNT; i++)
        CHECK(findings[i].level == RULE_PASS || findings[i].level == RULE_NO_DATA, "healthy run: %s is %s: %s",
              findings[i].key, rule_level_name(findings[i].level), findings[i].detail);
    CHECK(findings[RULE_DEAD_RELU].level == RULE_PASS, "dead_relu not evaluated");
    CHECK(findings[RULE_BN_SMALL_COUNT].level == RULE_PASS, "bn_small_count not evaluated");
    check_draw_then_write(&d, result.out_dir);
    rundata_free(&d);
}

static void test_rules_on_symptoms(void)
{
    char db[700];
    snprintf(db, sizeof db, "%s/symptoms.db", temp_root);
    fixture fx = {PLANT_SYMPTOMS, 300, 0, "symptoms", "he_normal", 1e-4, 1e-3, NULL};
    CHECK(fixture_write(db, &fx) == 0, "writing %s", db);
    rundata d;
    error err = {{0}};
    CHECK(rundata_load(&d, db, SERIES_ALL, 1, &err) == 0, "rundata_load: %s", err.message);
    if (d.layer_count == 0) return;
    rule_finding f[RULE_COUNT];
    rules_evaluate(&d, 301, f);
    CHECK(f[RULE_DEAD_RELU].level == RULE_WARN && f[RULE_DEAD_RELU].layer == 7, "dead_relu: %s %s",
          rule_level_name(f[RULE_DEAD_RELU].level), f[RULE_DEAD_RELU].detail);
    CHECK(f[RULE_WEIGHT_NORM_COLLAPSE].level == RULE_FAIL && f[RULE_WEIGHT_NORM_COLLAPSE].layer == 5,
          "weight_norm_collapse: %s %s", rule_level_name(f[RULE_WEIGHT_NORM_COLLAPSE].level),
          f[RULE_WEIGHT_NORM_COLLAPSE].detail);
    CHECK(contains(f[RULE_WEIGHT_NORM_COLLAPSE].detail, "1 of them feed BatchNorm"), "conv3d_1 feeds BN: %s",
          f[RULE_WEIGHT_NORM_COLLAPSE].detail);
    CHECK(f[RULE_BN_SMALL_COUNT].level == RULE_FAIL && f[RULE_BN_SMALL_COUNT].layer == 10, "bn_small_count: %s",
          f[RULE_BN_SMALL_COUNT].detail);
    CHECK(f[RULE_BN_CANCELLATION].level == RULE_FAIL && f[RULE_BN_CANCELLATION].layer == 2, "bn_cancellation: %s",
          f[RULE_BN_CANCELLATION].detail);
    CHECK(f[RULE_INPUT_DATA].level == RULE_WARN && contains(f[RULE_INPUT_DATA].detail, "constant clip") &&
              contains(f[RULE_INPUT_DATA].detail, "sample id 155"),
          "input_data: %s", f[RULE_INPUT_DATA].detail);
    CHECK(f[RULE_UPDATE_RATIO].level == RULE_WARN && f[RULE_UPDATE_RATIO].layer == 5, "update_ratio: %s",
          f[RULE_UPDATE_RATIO].detail);
    CHECK(f[RULE_NONFINITE].level == RULE_PASS, "nonfinite: %s", f[RULE_NONFINITE].detail);
    CHECK(f[RULE_EXPLODING_GRADIENT].level == RULE_PASS, "exploding: %s", f[RULE_EXPLODING_GRADIENT].detail);
    rundata_free(&d);

    /* and on the planted explosion: exploding gradients fail at conv3d_2 */
    snprintf(db, sizeof db, "%s/explosion/run.db", temp_root);
    CHECK(rundata_load(&d, db, SERIES_ALL, 1, &err) == 0, "rundata_load: %s", err.message);
    if (d.layer_count == 0) return;
    rules_evaluate(&d, 240, f);
    CHECK(f[RULE_NONFINITE].level == RULE_FAIL && f[RULE_NONFINITE].step == 240, "nonfinite: %s",
          f[RULE_NONFINITE].detail);
    CHECK(f[RULE_EXPLODING_GRADIENT].level == RULE_FAIL && f[RULE_EXPLODING_GRADIENT].layer == 8, "exploding: %s",
          f[RULE_EXPLODING_GRADIENT].detail);
    precursor_ranking r;
    CHECK(precursor_rank(&d, 240, &r, &err) == 0, "precursor_rank: %s", err.message);
    CHECK(r.candidates > 0 && r.items[0].layer == 8 && r.items[0].series == SERIES_GRAD_ABSMAX,
          "top precursor layer %d series %d", r.candidates ? r.items[0].layer : -1,
          r.candidates ? (int)r.items[0].series : -1);
    CHECK(r.candidates > 0 && r.items[0].departure > 5.0 && r.items[0].departure < 7.0,
          "planted 10^6 growth, measured 10^%.2f", r.candidates ? r.items[0].departure : 0.0);
    precursor_free(&r);
    rundata_free(&d);
}

static void test_compare(void)
{
    const char *inits[2] = {"he_normal", "glorot_uniform"};
    double l2s[2] = {0.0, 1e-4};
    char paths[4][700];
    const char *list[4];
    for (int i = 0; i < 4; i++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/arm%d", temp_root, i);
        test_make_dirs(dir);
        snprintf(paths[i], sizeof paths[i], "%s/run.db", dir);
        int nan_arm = i == 1; /* he_normal + L2, as in the seed */
        fixture fx = {nan_arm ? PLANT_GRAD_EXPLOSION : PLANT_NONE, nan_arm ? 240 : 300, nan_arm ? 240 : 0, "arm",
                      inits[i / 2], l2s[i % 2], 1e-3, NULL};
        CHECK(fixture_write(paths[i], &fx) == 0, "writing %s", paths[i]);
        list[i] = paths[i];
    }
    char out[700];
    snprintf(out, sizeof out, "%s/compare", temp_root);
    error err = {{0}};
    CHECK(compare_write(list, 4, out, &err) == 0, "compare_write: %s", err.message);
    static const char *const figures[] = {"compare_val_loss", "compare_val_accuracy", "compare_trajectories"};
    CHECK(check_pngs(out, figures, 3) == 3, "compare figures");
    check_index_refs(out);
    char path[800];
    snprintf(path, sizeof path, "%s/compare_val_loss.dat", out);
    char *dat = test_read_file(path, NULL);
    CHECK(contains(dat, "\"init=he_normal l2=0.0001 lr=0.001\"") && contains(dat, "\"init=glorot_uniform l2=0 lr=0.001\""),
          "arm labels missing from compare_val_loss.dat");
    free(dat);
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = test_read_file(path, NULL);
    CHECK(contains(html, "step 240 (epoch 5)"), "compare page lacks the first NaN of arm 2");
    CHECK(contains(html, "conv3d_2"), "compare page lacks the culprit layer");
    free(html);
    snprintf(path, sizeof path, "%s/compare_layer1.dat", out);
    CHECK(test_is_file(path), "no trajectory data for the culprit layer");
    CHECK(compare_write(list, 4, NULL, &err) == -1 && contains(err.message, "output directory"),
          "compare without -o: %s", err.message);
}

static void test_hostile_names(void)
{
    char marker[600];
    snprintf(marker, sizeof marker, "%s/pwned", temp_root);
    char run_name[2000], layer_name[2000];
    snprintf(run_name, sizeof run_name,
             "evil`touch %s`$(touch %s)'\"\n<script>alert(1)</script> system(\"touch %s\") | < ! @x \\ %%s",
             marker, marker, marker);
    snprintf(layer_name, sizeof layer_name, "conv`touch %s`<b>&$(touch %s)\n' system(\"touch %s\")", marker, marker,
             marker);
    /* The run directory's name is hostile too (it is the default out_dir's
     * parent); a relative `touch` there would land in gnuplot's working
     * directory, the report directory. */
    char dir[2000], db[2100];
    snprintf(dir, sizeof dir, "%s/run `touch pwned-dir` $(touch pwned-dir) 'q\"", temp_root);
    test_make_dirs(dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    fixture fx = {PLANT_GRAD_EXPLOSION, 240, 240, run_name, "he_normal", 1e-4, 1e-3, layer_name};
    CHECK(fixture_write(db, &fx) == 0, "writing %s", db);
    report_result result;
    error err = {{0}};
    CHECK(report_write(db, NULL, &result, &err) == 0, "report_write with hostile names: %s", err.message);
    char relative_marker[REPORT_PATH_MAX + 64];
    snprintf(relative_marker, sizeof relative_marker, "%s/pwned-dir", result.out_dir);
    CHECK(!test_is_file(marker) && !test_is_file(relative_marker) && !test_is_file("pwned-dir"),
          "a hostile name executed a command (%s exists)", marker);
    CHECK(result.figures_rendered == 7, "hostile: %d figures rendered", result.figures_rendered);
    CHECK(check_pngs(result.out_dir, run_figures, 7) == 7, "hostile figures");
    check_index_refs(result.out_dir);
    char path[REPORT_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/index.html", result.out_dir);
    char *html = test_read_file(path, NULL);
    CHECK(html && !contains(html, "<script") && !contains(html, "<b>&"), "raw markup from the database in index.html");
    CHECK(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), "run name not shown escaped");
    CHECK(contains(html, "conv`touch"), "layer name not shown");
    free(html);
    /* No script may carry a backquote, a double quote or a command substitution. */
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s.gp", result.out_dir, run_figures[i]);
        char *gp = test_read_file(path, NULL);
        CHECK(gp && !strchr(gp, '`') && !contains(gp, "$(") && !strchr(gp, '"') && !strchr(gp, '!'),
              "%s holds shell-active characters", path);
        free(gp);
    }
    CHECK(contains(result.verdict, "conv`touch"), "the verdict names the layer as stored");
    CHECK(contains(result.verdict, "pwned)?' system") && !contains(result.verdict, "pwned)\n'"),
          "control characters of a name must not reach the plain-text verdict");
    /* compare with a hostile arm */
    char out[2000];
    snprintf(out, sizeof out, "%s/compare `touch pwned-dir` $(touch pwned-dir)", temp_root);
    const char *list[2] = {db, db};
    CHECK(compare_write(list, 2, out, &err) == 0, "compare with hostile names: %s", err.message);
    check_index_refs(out);
    snprintf(relative_marker, sizeof relative_marker, "%s/pwned-dir", out);
    CHECK(!test_is_file(marker) && !test_is_file(relative_marker), "compare executed a hostile name");
}

static void test_quoting(void)
{
    char out[256];
    gnuplot_quote("a'b`c\"d$(e)\\f\ng@h!i|j<k", out, sizeof out);
    CHECK(strcmp(out, "'a_b_c_d_(e)_f_g_h_i_j_k'") == 0, "gnuplot_quote gave %s", out);
    gnuplot_quote("", out, sizeof out);
    CHECK(strcmp(out, "''") == 0, "empty quote %s", out);
    char tiny[6];
    gnuplot_quote("abcdefgh", tiny, sizeof tiny);
    CHECK(strcmp(tiny, "'abc'") == 0, "cut quote %s", tiny);
    gnuplot_data_label("conv 3d#x\"y", out, sizeof out);
    CHECK(strcmp(out, "conv_3d_x_y") == 0, "data label %s", out);
    gnuplot_data_label("", out, sizeof out);
    CHECK(strcmp(out, "_") == 0, "empty data label %s", out);
    gnuplot_data_text("init=he l2=1e-4 \"x\"", out, sizeof out);
    CHECK(strcmp(out, "\"init=he l2=1e-4 _x_\"") == 0, "data text %s", out);
}

static void test_errors(void)
{
    report_result result;
    error err = {{0}};
    char path[700];
    snprintf(path, sizeof path, "%s/missing/run.db", temp_root);
    CHECK(report_write(path, NULL, &result, &err) == -1 && contains(err.message, path) &&
              contains(err.message, "no such file"),
          "missing db: %s", err.message);

    snprintf(path, sizeof path, "%s/other.db", temp_root);
    sqlite3 *db = test_sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    test_sql_exec(db, "CREATE TABLE photos (id INTEGER, caption TEXT); INSERT INTO photos VALUES (1, 'x');");
    sqlite3_close(db);
    CHECK(report_write(path, NULL, &result, &err) == -1 && contains(err.message, "not one written by nanprobe"),
          "foreign SQLite file: %s", err.message);

    snprintf(path, sizeof path, "%s/text.db", temp_root);
    const char *text = "this is not a database, just some text that is long enough to have a header page\n";
    test_write_file(path, text, strlen(text));
    CHECK(report_write(path, NULL, &result, &err) == -1 && contains(err.message, path), "text file: %s",
          err.message);

    snprintf(path, sizeof path, "%s/empty.db", temp_root);
    db = test_sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    test_sql_exec(db, db_schema_sql());
    test_sql_exec(db, "INSERT INTO runs VALUES (1, 'empty', 'v', 't', NULL, 'running', 18, 16, '8x16x16x3', 4, 2, "
                      "'he_normal', 0.0001, 0.001, 1, 'synthetic', 'per_clip', 1, NULL, '{}', NULL);"
                      "INSERT INTO layers VALUES (1, 0, 'input_1', 'input', 'InputLayer', '', '(None, 8)', 0);");
    sqlite3_close(db);
    CHECK(report_write(path, NULL, &result, &err) == -1 && contains(err.message, "no steps"), "empty run: %s",
          err.message);

    snprintf(path, sizeof path, "%s/norun.db", temp_root);
    db = test_sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    test_sql_exec(db, db_schema_sql());
    sqlite3_close(db);
    CHECK(report_write(path, NULL, &result, &err) == -1 && contains(err.message, path), "no run row: %s",
          err.message);

    const char *list[2] = {path, path};
    CHECK(compare_write(list, 2, temp_root, &err) == -1 && contains(err.message, path), "compare of bad dbs: %s",
          err.message);
}

static void test_gnuplot_missing_and_failing(void)
{
    char db[700];
    snprintf(db, sizeof db, "%s/healthy/run.db", temp_root);
    const char *old_path = getenv("PATH");
    char *saved = old_path ? strdup(old_path) : NULL;
    char empty_bin[600], out[700];
    snprintf(empty_bin, sizeof empty_bin, "%s/empty-bin", temp_root);
    test_make_dirs(empty_bin);
    snprintf(out, sizeof out, "%s/no-gnuplot", temp_root);
    setenv("PATH", empty_bin, 1);
    report_result result;
    error err = {{0}};
    int rc = report_write(db, out, &result, &err);
    CHECK(rc == -1 && contains(err.message, "gnuplot was not found") && contains(err.message, out),
          "missing gnuplot: rc %d, %s", rc, err.message);
    CHECK(result.figures_planned == 6 && result.figures_rendered == 0, "planned %d rendered %d",
          result.figures_planned, result.figures_rendered);
    char path[900];
    static const char *const kept[] = {"loss.gp", "loss_steps.dat", "heat_gradient.gp", "heat_gradient.dat",
                                       "headroom.dat", "index.html", "verdict.txt"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", out, kept[i]);
        CHECK(test_is_file(path), "without gnuplot, %s should still be written", kept[i]);
    }
    snprintf(path, sizeof path, "%s/loss.png", out);
    CHECK(!test_is_file(path), "loss.png without gnuplot?");
    check_index_refs(out);

    /* A gnuplot that fails: its exit status and stderr reach the error. */
    snprintf(path, sizeof path, "%s/gnuplot", empty_bin);
    const char *script = "#!/bin/sh\necho \"fake gnuplot: boom in $1\" >&2\nexit 3\n";
    test_write_file(path, script, strlen(script));
    chmod(path, 0755);
    rc = report_write(db, out, &result, &err);
    CHECK(rc == -1 && contains(err.message, "exit status 3") && contains(err.message, "fake gnuplot: boom in"),
          "failing gnuplot: %s", err.message);
    check_index_refs(out);
    if (saved) setenv("PATH", saved, 1);
    free(saved);
}

int main(void)
{
    if (test_temp_dir(temp_root, sizeof temp_root, "report")) {
        perror("mkdtemp");
        return 1;
    }
    test_quoting();
    test_gradient_explosion();
    test_bn_collapse();
    test_sudden_nan();
    test_health();
    test_rules_on_symptoms();
    test_compare();
    test_hostile_names();
    test_errors();
    test_gnuplot_missing_and_failing();
    int status = test_finish();
    const char *keep = getenv("NANPROBE_KEEP_TEST_FILES");
    if (keep && *keep && strcmp(keep, "0") != 0) {
        fprintf(stderr, "kept the test databases and reports in %s\n", temp_root);
    } else if (status == 0) {
        test_remove_tree(temp_root);
    } else {
        fprintf(stderr, "left the test databases and reports in %s\n", temp_root);
    }
    return status;
}
