/* report_bench.c: times report_write on a large synthetic run database.
 *
 *   report_bench [--steps N] [--rebuild] DIR
 *
 * Creates DIR/run.db (unless it exists and --rebuild is not given) shaped like
 * what the trainer writes for ResNet3D-34 probing every step: the real layer
 * list from model_build (124 layers, Keras names and paths), per layer and
 * step the stats rows of every tensor the schema names (output, output_grad,
 * each parameter role with .grad/.l2_grad/.update/.adam_m/.adam_v, the BN
 * batch and moving statistics: ~10 per layer), the derived layer_metrics,
 * input_samples for a batch of 4, epochs of 1000 steps and a 'nan' event at
 * the last step preceded by a planted precursor (the output gradient of
 * conv3d_27 growing 10^6 x over the last 300 steps).  Then times
 * report_write(DIR/run.db, DIR/report) and prints the result.
 *
 * Not part of `make test`; bench/report_bench.sh builds and runs it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "model.h"
#include "report.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* Uniform in [0, 1): xorshift64*, enough for plausible noise. */
static double noise_uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

/* A value around `scale`, +-20 %. */
static double noise_around(double scale)
{
    return scale * (0.8 + 0.4 * noise_uniform());
}

static int exec_sql(sqlite3 *db, const char *sql)
{
    char *message = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK) {
        fprintf(stderr, "report_bench: %s\n  in: %.200s\n", message ? message : "?", sql);
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

typedef struct tensor_plan {
    const char *name;
    double scale;  /* typical absmax */
    int per_kind;  /* 0 every layer, 1 conv/dense, 2 BN */
} tensor_plan;

static const tensor_plan tensor_plans[] = {
    {"output", 4.0, 0},          {"output_grad", 1e-3, 0},
    {"kernel", 0.2, 1},          {"kernel.grad", 1e-3, 1},     {"kernel.l2_grad", 4e-5, 1},
    {"kernel.update", 1e-3, 1},  {"kernel.adam_m", 1e-4, 1},   {"kernel.adam_v", 1e-8, 1},
    {"bias", 1e-2, 1},           {"bias.grad", 1e-5, 1},       {"bias.update", 1e-3, 1},
    {"bias.adam_m", 1e-6, 1},    {"bias.adam_v", 1e-11, 1},
    {"gamma", 1.0, 2},           {"gamma.grad", 1e-3, 2},      {"gamma.update", 1e-3, 2},
    {"gamma.adam_m", 1e-4, 2},   {"gamma.adam_v", 1e-8, 2},
    {"beta", 0.1, 2},            {"beta.grad", 1e-3, 2},       {"beta.update", 1e-3, 2},
    {"beta.adam_m", 1e-4, 2},    {"beta.adam_v", 1e-8, 2},
    {"batch_mean", 0.5, 2},      {"batch_variance", 2.0, 2},   {"moving_mean", 0.5, 2},
    {"moving_variance", 2.0, 2},
};

typedef struct metric_plan {
    const char *name;
    double scale;
    int per_kind; /* 1 conv/dense, 2 BN, 3 dense only */
} metric_plan;

static const metric_plan metric_plans[] = {
    {"kernel.update_ratio", 3e-3, 1}, {"kernel.l2_grad_ratio", 0.05, 1},
    {"kernel.adam_step_size", 1e-3, 1}, {"kernel.adam_min_sqrt_v", 1e-7, 1},
    {"kernel.adam_max_ratio", 3.0, 1}, {"bias.update_ratio", 0.05, 1},
    {"gamma.update_ratio", 1e-3, 2}, {"beta.update_ratio", 1e-2, 2},
    {"bn.min_variance", 0.05, 2}, {"bn.max_variance", 5.0, 2}, {"bn.max_mean2_over_var", 20.0, 2},
    {"bn.max_gamma_over_std", 4.0, 2}, {"bn.count", 0.0, 2},
    {"loss.max_probability", 0.6, 3}, {"loss.min_margin", 0.05, 3},
};

static int kind_matches(int per_kind, layer_kind kind)
{
    switch (per_kind) {
    case 0: return 1;
    case 1: return kind == LAYER_CONV3D || kind == LAYER_DENSE;
    case 2: return kind == LAYER_BATCHNORM;
    case 3: return kind == LAYER_DENSE;
    }
    return 0;
}

static int generate(const char *db_path, int steps)
{
    model m;
    error err;
    model_config config = {.depth = 34, .width = 64, .clip = {16, 112, 112, 3}, .classes = 10, .batch = 4, .threads = 1};
    if (model_build(&m, &config, &err)) {
        fprintf(stderr, "report_bench: %s\n", err.message);
        return -1;
    }
    int planted = model_find_layer(&m, "conv3d_27");
    int nan_step = steps, ramp = 300;
    remove(db_path);
    sqlite3 *db = NULL;
    if (sqlite3_open(db_path, &db) != SQLITE_OK) {
        fprintf(stderr, "report_bench: cannot create %s\n", db_path);
        model_free(&m);
        return -1;
    }
    int rc = -1;
    if (exec_sql(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;") ||
        exec_sql(db, db_schema_sql()) ||
        exec_sql(db, "BEGIN"))
        goto done;
    sqlite3_stmt *run = NULL, *layer_insert = NULL, *step_insert = NULL, *stat_insert = NULL, *metric_insert = NULL,
                 *sample_insert = NULL, *epoch_insert = NULL;
    sqlite3_prepare_v2(db,
                       "INSERT INTO runs VALUES (1, 'bench-resnet34', 'bench', '2024-01-01T00:00:00Z', NULL, 'nan', "
                       "34, 64, '16x112x112x3', 10, 4, 'he_normal', 1e-4, 1e-3, 7, 'synthetic', 'per_clip', 1, "
                       "NULL, '{}')", -1, &run, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO layers VALUES (1, ?, ?, ?, ?, ?, ?, ?)", -1, &layer_insert, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO steps VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, 0)", -1, &step_insert, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO stats VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)", -1, &stat_insert,
                       NULL);
    sqlite3_prepare_v2(db, "INSERT INTO layer_metrics VALUES (1, ?, ?, ?, ?)", -1, &metric_insert, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO input_samples VALUES (1, ?, ?, ?, ?, ?, 1.0, ?, ?, ?, 0, 0)", -1,
                       &sample_insert, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO epochs VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &epoch_insert, NULL);
    sqlite3_step(run);
    sqlite3_finalize(run);
    for (int i = 0; i < m.layer_count; i++) {
        const layer *l = &m.layers[i];
        char inputs[128] = "", shape[96];
        for (int k = 0; k < l->input_count; k++) {
            size_t used = strlen(inputs);
            snprintf(inputs + used, sizeof inputs - used, "%s%s", k ? "," : "", m.layers[l->inputs[k]].name);
        }
        tensor_format_shape(&l->output, 1, shape, sizeof shape);
        sqlite3_bind_int(layer_insert, 1, i);
        sqlite3_bind_text(layer_insert, 2, l->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(layer_insert, 3, l->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(layer_insert, 4, layer_kind_name(l->kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(layer_insert, 5, inputs, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(layer_insert, 6, shape, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(layer_insert, 7, (int)l->param_count);
        sqlite3_step(layer_insert);
        sqlite3_reset(layer_insert);
    }
    long stat_rows = 0, metric_rows = 0;
    for (int s = 1; s <= steps; s++) {
        int epoch = (s - 1) / 1000 + 1;
        double lr = epoch <= 6 ? 1e-3 : 1e-4;
        double loss = 2.3 * exp(-s / 4000.0) + 0.3 + 0.1 * noise_uniform();
        int finite = s < nan_step;
        sqlite3_bind_int(step_insert, 1, s);
        sqlite3_bind_int(step_insert, 2, epoch);
        sqlite3_bind_double(step_insert, 3, lr);
        if (finite) sqlite3_bind_double(step_insert, 4, loss); else sqlite3_bind_null(step_insert, 4);
        sqlite3_bind_double(step_insert, 5, loss - 0.05);
        sqlite3_bind_double(step_insert, 6, 0.05);
        sqlite3_bind_double(step_insert, 7, 0.25 + 0.5 * (double)s / steps);
        sqlite3_bind_double(step_insert, 8, 0.9);
        char ids[64];
        snprintf(ids, sizeof ids, "%d,%d,%d,%d", 4 * s % 9973, (4 * s + 1) % 9973, (4 * s + 2) % 9973,
                 (4 * s + 3) % 9973);
        sqlite3_bind_text(step_insert, 9, ids, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(step_insert, 10, finite);
        sqlite3_step(step_insert);
        sqlite3_reset(step_insert);
        for (int i = 0; i < m.layer_count; i++) {
            const layer *l = &m.layers[i];
            double depth_scale = 1.0 + 0.02 * i;
            for (size_t t = 0; t < sizeof tensor_plans / sizeof tensor_plans[0]; t++) {
                const tensor_plan *p = &tensor_plans[t];
                if (!kind_matches(p->per_kind, l->kind)) continue;
                if (l->kind == LAYER_INPUT && strcmp(p->name, "output_grad") == 0) continue;
                double absmax = noise_around(p->scale * depth_scale);
                if (i == planted && strcmp(p->name, "output_grad") == 0 && s > nan_step - ramp)
                    absmax *= pow(10.0, 6.0 * (s - (nan_step - ramp)) / ramp);
                double count = (double)l->output.count;
                sqlite3_bind_int(stat_insert, 1, s);
                sqlite3_bind_int(stat_insert, 2, i);
                sqlite3_bind_text(stat_insert, 3, p->name, -1, SQLITE_STATIC);
                sqlite3_bind_int64(stat_insert, 4, (sqlite3_int64)count);
                sqlite3_bind_double(stat_insert, 5, 0.01 * absmax);
                sqlite3_bind_double(stat_insert, 6, 0.25 * absmax);
                sqlite3_bind_double(stat_insert, 7, -absmax);
                sqlite3_bind_double(stat_insert, 8, 0.9 * absmax);
                sqlite3_bind_double(stat_insert, 9, absmax);
                sqlite3_bind_double(stat_insert, 10, 0.25 * absmax * sqrt(count));
                sqlite3_bind_double(stat_insert, 11, l->kind == LAYER_RELU ? 0.5 : 0.0);
                sqlite3_bind_int(stat_insert, 12, (!finite && i == planted && strcmp(p->name, "output_grad") == 0));
                sqlite3_step(stat_insert);
                sqlite3_reset(stat_insert);
                stat_rows++;
            }
            for (size_t k = 0; k < sizeof metric_plans / sizeof metric_plans[0]; k++) {
                const metric_plan *p = &metric_plans[k];
                if (!kind_matches(p->per_kind, l->kind)) continue;
                double value = strcmp(p->name, "bn.count") == 0 ? (double)(l->output.count / l->output.shape[4])
                                                                : noise_around(p->scale);
                /* Adam's step, hence the update ratio, scales with the learning rate */
                if (strstr(p->name, "update_ratio")) value *= lr / 1e-3;
                sqlite3_bind_int(metric_insert, 1, s);
                sqlite3_bind_int(metric_insert, 2, i);
                sqlite3_bind_text(metric_insert, 3, p->name, -1, SQLITE_STATIC);
                sqlite3_bind_double(metric_insert, 4, value);
                sqlite3_step(metric_insert);
                sqlite3_reset(metric_insert);
                metric_rows++;
            }
        }
        for (int position = 0; position < 4; position++) {
            sqlite3_bind_int(sample_insert, 1, s);
            sqlite3_bind_int(sample_insert, 2, position);
            sqlite3_bind_int(sample_insert, 3, (4 * s + position) % 9973);
            sqlite3_bind_int(sample_insert, 4, (s + position) % 10);
            sqlite3_bind_double(sample_insert, 5, 0.02 * (noise_uniform() - 0.5));
            sqlite3_bind_double(sample_insert, 6, -3.0);
            sqlite3_bind_double(sample_insert, 7, 3.1);
            sqlite3_bind_double(sample_insert, 8, 3.1);
            sqlite3_step(sample_insert);
            sqlite3_reset(sample_insert);
        }
        if (s % 1000 == 0 || s == steps) {
            sqlite3_bind_int(epoch_insert, 1, epoch);
            sqlite3_bind_int(epoch_insert, 2, s);
            if (finite) sqlite3_bind_double(epoch_insert, 3, loss); else sqlite3_bind_null(epoch_insert, 3);
            sqlite3_bind_double(epoch_insert, 4, 0.25 + 0.5 * (double)s / steps);
            if (finite) sqlite3_bind_double(epoch_insert, 5, loss * 1.2); else sqlite3_bind_null(epoch_insert, 5);
            sqlite3_bind_double(epoch_insert, 6, 0.2 + 0.4 * (double)s / steps);
            sqlite3_bind_double(epoch_insert, 7, lr);
            sqlite3_bind_double(epoch_insert, 8, 600.0);
            sqlite3_step(epoch_insert);
            sqlite3_reset(epoch_insert);
        }
    }
    char event[1024];
    snprintf(event, sizeof event,
             "INSERT INTO events (run_id, step, epoch, kind, layer_id, layer_name, layer_path, pass, tensor, "
             "value_class, element_index, sample, d, h, w, channel, sample_id, is_origin, message) VALUES "
             "(1, %d, %d, 'nan', %d, 'conv3d_27', '%s', 'backward', 'output_grad', '+inf', 1234, 1, 0, 3, 5, "
             "17, 77, 1, 'output_grad of conv3d_27 overflowed to +inf in the backward pass')",
             nan_step, (nan_step - 1) / 1000 + 1, planted, m.layers[planted].path);
    if (exec_sql(db, event)) goto done;
    sqlite3_finalize(layer_insert);
    sqlite3_finalize(step_insert);
    sqlite3_finalize(stat_insert);
    sqlite3_finalize(metric_insert);
    sqlite3_finalize(sample_insert);
    sqlite3_finalize(epoch_insert);
    if (exec_sql(db, "COMMIT")) goto done;
    printf("generated %s: %d steps, %d layers, %ld stats rows, %ld layer_metrics rows\n", db_path, steps,
           m.layer_count, stat_rows, metric_rows);
    rc = 0;
done:
    sqlite3_close(db);
    model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    int steps = 10000, rebuild = 0, generate_only = 0, repeat = 3;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rebuild") == 0) rebuild = 1;
        else if (strcmp(argv[i], "--generate-only") == 0) generate_only = 1;
        else dir = argv[i];
    }
    if (!dir || steps < 10 || repeat < 1) {
        fprintf(stderr, "usage: report_bench [--steps N] [--repeat N] [--rebuild] [--generate-only] DIR\n");
        return 2;
    }
    mkdir(dir, 0777);
    char db_path[4096], out_dir[4096];
    snprintf(db_path, sizeof db_path, "%s/run.db", dir);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    struct stat st;
    if (rebuild || stat(db_path, &st) != 0) {
        double t0 = now_seconds();
        if (generate(db_path, steps)) return 1;
        printf("generation took %.1f s\n", now_seconds() - t0);
    }
    if (generate_only) return 0;
    if (stat(db_path, &st) == 0) printf("database size: %.0f MB\n", (double)st.st_size / 1e6);
    /* The machine may be shared: the best of a few runs is the report's own time. */
    report_result result;
    error err;
    double best = 0;
    for (int r = 0; r < repeat; r++) {
        double t0 = now_seconds();
        int rc = report_write(db_path, out_dir, &result, &err);
        double elapsed = now_seconds() - t0;
        if (rc) {
            fprintf(stderr, "report_write failed after %.2f s: %s\n", elapsed, err.message);
            return 1;
        }
        printf("report_write run %d: %.2f s (%d of %d figures rendered)\n", r + 1, elapsed, result.figures_rendered,
               result.figures_planned);
        if (r == 0 || elapsed < best) best = elapsed;
    }
    printf("report_write best of %d: %.2f s -> %s\n", repeat, best, result.index_path);
    printf("verdict:\n%s\n", result.verdict);
    return 0;
}
