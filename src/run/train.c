/* train.c: the training loop (see train.h). */
#include "train.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "callbacks.h"
#include "checkpoint.h"
#include "dataset.h"
#include "db.h"
#include "loss.h"
#include "optimizer.h"
#include "probe.h"
#include "progress.h"
#include "report.h"
#include "rundir.h"
#include "version.h"

static volatile sig_atomic_t stop_requested;

void train_request_stop(void)
{
    stop_requested = 1;
}

const char *train_status_name(train_status status)
{
    static const char *const names[] = {"completed", "early_stopped", "nan", "interrupted", "completed"};
    return names[status];
}

void train_options_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->depth = 34;
    o->width = 64;
    o->clip[0] = 16;
    o->clip[1] = 112;
    o->clip[2] = 112;
    o->clip[3] = 3;
    o->classes = 10;
    o->batch = 8;
    o->threads = 0; /* all cores */
    o->init = INIT_HE_NORMAL;
    o->l2 = 1e-4;
    o->lr = 1e-3;
    o->epochs = 5;
    o->data = "synthetic";
    o->train_clips = 320;
    o->val_clips = 64;
    o->normalize = NORMALIZE_SCALE;
    o->seed = 1;
    o->plateau_factor = 0.1;
    o->plateau_patience = 1;
    o->plateau_min_lr = 1e-4;
    o->plateau_min_delta = 1e-4;
    o->early_stopping = -1;
    o->out = NULL;
    o->report = 1;
    o->probes = 1;
    o->probe_every = 1;
    o->ring_steps = 32;
    o->on_nan_continue = -1;
}

/* Everything one run holds, freed in one place. */
typedef struct run {
    const train_options *o;
    char dir[4096];
    dataset *data;
    model m;
    int model_built;
    db_writer db;
    probe_session *probes;
    injection injections[TRAIN_MAX_INJECTIONS];
    parameter_step_stats *param_stats;
    adam_config adam;
    checkpoint_state state;
    progress console;
    long train_size, val_size, steps_per_epoch;
    long *order;        /* permutation of the training ids for the current (epoch, cycle) */
    long order_epoch, order_cycle;
    long *batch_ids;
    int *labels;
    char *sample_text;  /* the batch ids as "3,17,..." for the steps table */
    int argc;
    char *const *argv;
    double optimizer_seconds, data_seconds;
    long steps_this_process;
    /* The accumulators after the warm-up steps, so that --timing reports
     * the steady state (the first steps fault in a gigabyte of buffers). */
    struct {
        step_timing model;
        double optimizer, data, probes, logging;
    } warm;
} run;

#define TIMING_WARMUP_STEPS 2

static long long now_microseconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void iso_time(char *out, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int make_directory(const char *path, error *err)
{
    char partial[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof partial) return error_set(err, "--out '%s': not a usable directory name", path);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        memcpy(partial, path, i);
        partial[i] = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST)
            return error_set(err, "--out '%s': cannot create %s: %s", path, partial, strerror(errno));
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return error_set(err, "--out '%s': not a directory", path);
    return 0;
}

/* The run's settings as JSON for runs.config_json (every value a number or
 * a string that JSON-escapes trivially, except names, which are escaped). */
static void options_json(const train_options *o, char *out, size_t size)
{
    char data[1024], name[512];
    size_t k = 0;
    for (const char *s = o->data; *s && k + 7 < sizeof data; s++) {
        if (*s == '"' || *s == '\\') data[k++] = '\\';
        if ((unsigned char)*s < 0x20) continue;
        data[k++] = *s;
    }
    data[k] = '\0';
    k = 0;
    for (const char *s = o->name ? o->name : ""; *s && k + 7 < sizeof name; s++) {
        if (*s == '"' || *s == '\\') name[k++] = '\\';
        if ((unsigned char)*s < 0x20) continue;
        name[k++] = *s;
    }
    name[k] = '\0';
    snprintf(out, size,
             "{\"depth\": %d, \"width\": %d, \"clip\": [%d, %d, %d, %d], \"classes\": %d, \"batch\": %d, "
             "\"threads\": %d, \"init\": \"%s\", \"l2\": %.9g, \"lr\": %.9g, \"epochs\": %d, "
             "\"steps_per_epoch\": %ld, \"data\": \"%s\", \"train_clips\": %ld, \"val_clips\": %ld, "
             "\"normalize\": \"%s\", \"seed\": %lld, \"reduce_lr\": {\"factor\": %g, \"patience\": %d, "
             "\"min_lr\": %g, \"min_delta\": %g}, \"early_stopping\": %d, \"probes\": %d, \"probe_every\": %d, "
             "\"ring_steps\": %d, \"on_nan_continue\": %ld, \"injections\": %d, \"name\": \"%s\", "
             "\"adam\": {\"beta1\": 0.9, \"beta2\": 0.999, \"epsilon\": 1e-07}}",
             o->depth, o->width, o->clip[0], o->clip[1], o->clip[2], o->clip[3], o->classes, o->batch, o->threads,
             o->init == INIT_HE_NORMAL ? "he_normal" : "glorot_uniform", o->l2, o->lr, o->epochs,
             o->steps_per_epoch, data, o->train_clips, o->val_clips, normalize_name((normalize_kind)o->normalize),
             o->seed, o->plateau_factor, o->plateau_patience, o->plateau_min_lr, o->plateau_min_delta,
             o->early_stopping, o->probes, o->probe_every, o->ring_steps, o->on_nan_continue, o->injection_count,
             name);
}

static int write_event(run *r, const char *kind, const char *message, double old_value, double new_value,
                       error *err)
{
    event_row e;
    memset(&e, 0, sizeof e);
    e.step = r->state.step;
    e.epoch = r->state.epoch + 1;
    e.kind = kind;
    e.layer = -1;
    e.element_index = e.sample = e.d = e.h = e.w = e.channel = -1;
    e.sample_id = -1;
    e.is_origin = -1;
    e.old_value = old_value;
    e.new_value = new_value;
    e.message = message;
    if (db_writer_begin(&r->db, err) || db_write_event(&r->db, &e, err) || db_writer_commit(&r->db, err))
        return -1;
    return 0;
}

/* A checkpoint that cannot be written (a full disk) costs the ability to
 * resume from here, not the run: the previous checkpoint stays in place, a
 * warning is printed and the failure is logged; training goes on.  Only the
 * database failing stops the run. */
static int save_checkpoint(run *r, const char *why, error *err)
{
    char message[1200];
    error failure;
    if (checkpoint_save(r->dir, &r->state, &r->m, r->argc, r->argv, &failure)) {
        fprintf(stderr, "nanprobe train: warning: %s\n", failure.message);
        snprintf(message, sizeof message, "checkpoint at step %ld (%s) FAILED: %s", r->state.step, why,
                 failure.message);
        return write_event(r, "checkpoint_failed", message, NAN, NAN, err);
    }
    snprintf(message, sizeof message, "checkpoint at step %ld (%s)", r->state.step, why);
    return write_event(r, "checkpoint", message, NAN, NAN, err);
}

/* ------------------------------------------------------------ batches */

static void shuffle_order(run *r, long epoch, long cycle)
{
    rng g;
    /* One stream per (epoch, pass over the data): any batch of any epoch
     * can be regenerated, which is what makes --resume exact. */
    rng_seed(&g, (uint64_t)r->o->seed ^ ((uint64_t)epoch << 32) ^ (uint64_t)cycle, RNG_STREAM_SHUFFLE);
    for (long i = 0; i < r->train_size; i++) r->order[i] = i;
    for (long i = r->train_size - 1; i > 0; i--) {
        long j = (long)rng_below(&g, (uint64_t)i + 1);
        long t = r->order[i];
        r->order[i] = r->order[j];
        r->order[j] = t;
    }
    r->order_epoch = epoch;
    r->order_cycle = cycle;
}

/* The ids of step `index` of `epoch`; returns the batch size (the last
 * batch of a full pass is partial, as in Keras). */
static int batch_for_step(run *r, long epoch, long index)
{
    const int batch = r->o->batch;
    int n = batch;
    if (r->o->steps_per_epoch == 0) {
        long remaining = r->train_size - index * batch;
        if (remaining < n) n = (int)remaining;
    }
    for (int i = 0; i < n; i++) {
        long position = index * batch + i;
        long cycle = position / r->train_size;
        if (r->order_epoch != epoch || r->order_cycle != cycle) shuffle_order(r, epoch, cycle);
        r->batch_ids[i] = r->order[position % r->train_size];
    }
    return n;
}

static void format_sample_ids(run *r, int n)
{
    size_t used = 0, size = (size_t)r->o->batch * 21 + 1;
    r->sample_text[0] = '\0';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(r->sample_text + used, size - used, "%s%ld", i ? "," : "", r->batch_ids[i]);
}

/* ---------------------------------------------------------- validation */

typedef struct validation_result {
    double loss, accuracy;
} validation_result;

static int validate(run *r, validation_result *out, error *err)
{
    const int classes = r->o->classes;
    double loss_sum = 0.0;
    long correct = 0;
    for (long start = 0; start < r->val_size; start += r->o->batch) {
        int n = (int)(r->val_size - start < r->o->batch ? r->val_size - start : r->o->batch);
        for (int i = 0; i < n; i++) r->batch_ids[i] = start + i;
        model_set_batch(&r->m, n);
        if (dataset_read_batch(r->data, SPLIT_VALIDATION, r->batch_ids, n, model_input(&r->m), r->labels, err))
            return -1;
        probe_validation_begin(r->probes, r->batch_ids, n);
        model_forward(&r->m, 0);
        probe_validation_end(r->probes);
        loss_result lr = loss_from_logits(n, classes, model_logits(&r->m), r->labels, NULL);
        loss_sum += lr.loss * n;
        correct += lr.correct;
    }
    /* Keras: evaluate() adds the regularization losses of the current weights. */
    out->loss = loss_sum / (double)r->val_size + r->o->l2 * r->state.kernel_squares;
    out->accuracy = (double)correct / (double)r->val_size;
    return 0;
}

/* ------------------------------------------------------------------ run */

static int open_run(run *r, int resume, error *err)
{
    const train_options *o = r->o;
    snprintf(r->dir, sizeof r->dir, "%s", o->out);
    if (make_directory(r->dir, err)) return -1;
    char database[4200];
    snprintf(database, sizeof database, "%s/run.db", r->dir);
    struct stat st;
    if (!resume && stat(database, &st) == 0)
        return error_set(err, "--out %s already holds a run (run.db); choose another directory, or continue it "
                              "with --resume %s",
                         r->dir, r->dir);

    dataset_config dc = {.source = o->data, .classes = o->classes, .train_clips = o->train_clips,
                         .val_clips = o->val_clips, .seed = (uint64_t)o->seed,
                         .normalize = (normalize_kind)o->normalize};
    memcpy(dc.clip, o->clip, sizeof dc.clip);
    if (dataset_open(&r->data, &dc, err)) return -1;
    r->train_size = dataset_size(r->data, SPLIT_TRAIN);
    r->val_size = dataset_size(r->data, SPLIT_VALIDATION);
    if (r->train_size < 1) return error_set(err, "--data %s: no training clips", o->data);
    r->steps_per_epoch = o->steps_per_epoch ? o->steps_per_epoch : (r->train_size + o->batch - 1) / o->batch;

    model_config mc = {.depth = o->depth, .width = o->width, .classes = o->classes, .batch = o->batch,
                       .threads = omp_get_max_threads()};
    dataset_clip_shape(r->data, mc.clip);
    if (model_build(&r->m, &mc, err)) return -1;
    r->model_built = 1;
    for (int i = 0; i < o->injection_count; i++)
        if (injection_parse(o->injections[i], &r->m, &r->injections[i], err)) return -1;

    r->order = malloc(sizeof(long) * (size_t)r->train_size);
    r->batch_ids = malloc(sizeof(long) * (size_t)o->batch);
    r->labels = malloc(sizeof(int) * (size_t)o->batch);
    r->sample_text = malloc((size_t)o->batch * 21 + 1);
    r->param_stats = o->probes ? calloc((size_t)r->m.param_count, sizeof(parameter_step_stats)) : NULL;
    if (!r->order || !r->batch_ids || !r->labels || !r->sample_text || (o->probes && !r->param_stats))
        return error_set(err, "out of memory for %ld training ids", r->train_size);
    r->order_epoch = r->order_cycle = -1;
    r->adam = ADAM_KERAS_DEFAULTS;

    if (resume) {
        if (checkpoint_load(r->dir, &r->state, &r->m, err)) return -1;
        if (o->lr_overrides_checkpoint) r->state.learning_rate = (float)o->lr;
        if (db_writer_resume(&r->db, database, r->state.step, r->state.identity, err)) return -1;
    } else {
        memset(&r->state, 0, sizeof r->state);
        if (rundir_identity_new(r->state.identity, err)) return -1;
        model_init_weights(&r->m, o->init, (uint64_t)o->seed);
        r->state.learning_rate = (float)o->lr;
        r->state.kernel_squares = model_l2_penalty(&r->m, 1.0f);
        reduce_lr_init(&r->state.plateau, o->plateau_factor, o->plateau_patience, o->plateau_min_lr,
                       o->plateau_min_delta);
        early_stopping_init(&r->state.early, o->early_stopping, 0.0);
        char started[32], clip[64], config[4096];
        iso_time(started, sizeof started);
        snprintf(clip, sizeof clip, "%dx%dx%dx%d", mc.clip[0], mc.clip[1], mc.clip[2], mc.clip[3]);
        options_json(o, config, sizeof config);
        const char *base = strrchr(r->dir, '/');
        base = base && base[1] ? base + 1 : r->dir;
        run_row row = {.name = o->name ? o->name : base, .version = NANPROBE_VERSION, .started_at = started,
                       .clip = clip, .init = o->init == INIT_HE_NORMAL ? "he_normal" : "glorot_uniform",
                       .data = o->data, .normalize = normalize_name((normalize_kind)o->normalize),
                       .config_json = config, .depth = o->depth, .width = o->width, .classes = o->classes,
                       .batch = o->batch, .probe_every = o->probe_every, .l2 = o->l2, .lr = o->lr,
                       .seed = o->seed, .identity = r->state.identity};
        if (db_writer_create(&r->db, database, &row, &r->m, err)) return -1;
    }
    probe_config pc = {.statistics = o->probes, .probe_every = o->probe_every, .ring_steps = o->ring_steps,
                       .l2 = (float)o->l2, .injections = r->injections, .injection_count = o->injection_count};
    if (probe_open(&r->probes, &r->m, &r->db, &pc, err)) return -1;
    if (resume) {
        char message[128];
        snprintf(message, sizeof message, "resumed from the checkpoint at step %ld", r->state.step);
        if (write_event(r, "resumed", message, NAN, NAN, err)) return -1;
    }
    return 0;
}

static void close_run(run *r)
{
    probe_close(r->probes);
    db_writer_close(&r->db);
    if (r->model_built) model_free(&r->m);
    dataset_close(r->data);
    free(r->order);
    free(r->batch_ids);
    free(r->labels);
    free(r->sample_text);
    free(r->param_stats);
}

/* One training step on the batch of (epoch, index). */
static int train_step(run *r, int epoch, long index, double *objective, int *correct, int *samples, error *err)
{
    const train_options *o = r->o;
    long long start = now_microseconds();
    int n = batch_for_step(r, epoch, index);
    model_set_batch(&r->m, n);
    double data_start = omp_get_wtime();
    if (dataset_read_batch(r->data, SPLIT_TRAIN, r->batch_ids, n, model_input(&r->m), r->labels, err)) return -1;
    r->data_seconds += omp_get_wtime() - data_start;
    long step = r->state.step + 1;
    probe_step_begin(r->probes, step, epoch + 1, r->batch_ids, r->labels, n);
    model_forward(&r->m, 1);
    loss_result lr = loss_from_logits(n, o->classes, model_logits(&r->m), r->labels, model_logits_gradient(&r->m));
    probe_loss(r->probes, lr.loss, r->labels);
    model_backward(&r->m);
    /* The step's penalty uses the weights its forward pass used. */
    double penalty = o->l2 * r->state.kernel_squares;
    double optimizer_start = omp_get_wtime();
    r->state.kernel_squares =
        optimizer_step(&r->m, &r->adam, r->state.learning_rate, ++r->state.adam_t, (float)o->l2, r->param_stats);
    r->optimizer_seconds += omp_get_wtime() - optimizer_start;
    probe_after_update(r->probes, r->param_stats, r->state.adam_t);
    r->state.step = step;

    *objective = lr.loss + penalty;
    *correct = lr.correct;
    *samples = n;
    format_sample_ids(r, n);
    step_row row = {.step = step, .epoch = epoch + 1, .lr = r->state.learning_rate, .loss = *objective,
                    .data_loss = lr.loss, .l2_penalty = penalty, .accuracy = (double)lr.correct / n,
                    .seconds = (double)(now_microseconds() - start) * 1e-6, .sample_ids = r->sample_text};
    return probe_step_end(r->probes, &row, err);
}

/* The report is a by-product of the run: when gnuplot is missing or fails
 * the data, scripts and page are still there, so this only warns. */
static void write_report(const train_options *o, train_result *result)
{
    report_result report;
    error err;
    int rc = report_write(result->database, NULL, &report, &err);
    if (report.index_path[0]) snprintf(result->report, sizeof result->report, "%s", report.index_path);
    if (rc) fprintf(stderr, "nanprobe train: warning: the report is incomplete: %s\n", err.message);
    if (!o->quiet && rc == 0 && report.had_nan) printf("\n%s\n", report.verdict);
}

static void print_timing(run *r, FILE *out)
{
    const long measured = r->steps_this_process - TIMING_WARMUP_STEPS;
    const double steps = measured > 0 ? (double)measured : 1.0;
    double by_kind[LAYER_KIND_COUNT];
    for (int k = 0; k < LAYER_KIND_COUNT; k++)
        by_kind[k] = r->m.timing.seconds[k][0] + r->m.timing.seconds[k][1] - r->warm.model.seconds[k][0] -
                     r->warm.model.seconds[k][1];
    double conv_f = r->m.timing.seconds[LAYER_CONV3D][0] - r->warm.model.seconds[LAYER_CONV3D][0];
    double conv_b = r->m.timing.seconds[LAYER_CONV3D][1] - r->warm.model.seconds[LAYER_CONV3D][1];
    double other = 0.0;
    for (int k = 0; k < LAYER_KIND_COUNT; k++)
        if (k != LAYER_CONV3D && k != LAYER_BATCHNORM && k != LAYER_MAXPOOL3D && k != LAYER_AVGPOOL3D)
            other += by_kind[k];
    fprintf(out,
            "{\"steps\": %ld, \"conv_forward\": %.4f, \"conv_backward\": %.4f, \"batchnorm\": %.4f, "
            "\"pooling\": %.4f, \"relu_add_dense\": %.4f, \"optimizer\": %.4f, \"probes\": %.4f, "
            "\"logging\": %.4f, \"data\": %.4f}\n",
            measured, conv_f / steps, conv_b / steps, by_kind[LAYER_BATCHNORM] / steps,
            (by_kind[LAYER_MAXPOOL3D] + by_kind[LAYER_AVGPOOL3D]) / steps, other / steps,
            (r->optimizer_seconds - r->warm.optimizer) / steps, (probe_seconds(r->probes) - r->warm.probes) / steps,
            (probe_db_seconds(r->probes) - r->warm.logging) / steps, (r->data_seconds - r->warm.data) / steps);
}

int train_run(const train_options *o, int argc, char *const *argv, int resume, train_result *result, error *err)
{
    memset(result, 0, sizeof *result);
    stop_requested = 0;
    if (o->threads > 0) omp_set_num_threads(o->threads);
    openblas_set_num_threads(omp_get_max_threads());

    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.argc = argc;
    r.argv = argv;
    progress_init(&r.console, stdout, o->quiet);
    if (open_run(&r, resume, err)) {
        close_run(&r);
        return -1;
    }
    snprintf(result->database, sizeof result->database, "%s/run.db", r.dir);
    if (!o->quiet) {
        printf("nanprobe %s: ResNet3D-%d (width %d, %zu trainable parameters), %s, %s, batch %d, %d threads\n",
               NANPROBE_VERSION, o->depth, o->width, r.m.trainable_count, dataset_describe(r.data),
               o->init == INIT_HE_NORMAL ? "he_normal" : "glorot_uniform", o->batch, omp_get_max_threads());
        printf("writing %s%s\n", result->database, resume ? " (resumed)" : "");
        fflush(stdout);
    }

    train_status status = TRAIN_COMPLETED;
    long nan_budget = -1; /* steps still to run after the first non-finite value */
    long long run_start = now_microseconds();
    int rc = 0;
    for (; r.state.epoch < o->epochs && rc == 0; ) {
        const int epoch = r.state.epoch;
        progress_epoch_begin(&r.console, epoch + 1, o->epochs, r.steps_per_epoch);
        long long epoch_start = now_microseconds();
        int stop = 0;
        while (r.state.epoch_step < r.steps_per_epoch) {
            double objective;
            int correct, samples;
            if (train_step(&r, epoch, r.state.epoch_step, &objective, &correct, &samples, err)) {
                rc = -1;
                break;
            }
            r.steps_this_process++;
            if (r.steps_this_process == TIMING_WARMUP_STEPS) {
                r.warm.model = r.m.timing;
                r.warm.optimizer = r.optimizer_seconds;
                r.warm.data = r.data_seconds;
                r.warm.probes = probe_seconds(r.probes);
                r.warm.logging = probe_db_seconds(r.probes);
            }
            r.state.epoch_step++;
            r.state.epoch_loss_sum += objective * samples;
            r.state.epoch_correct += correct;
            r.state.epoch_seen += samples;
            progress_step(&r.console, r.state.epoch_step, r.state.epoch_loss_sum / r.state.epoch_seen,
                          r.state.epoch_correct / r.state.epoch_seen);
            if (probe_first_event(r.probes) && nan_budget < 0) {
                const nonfinite_event *e = probe_first_event(r.probes);
                progress_note(&r.console, "NaN sentinel: %s", e->message);
                status = TRAIN_NAN;
                nan_budget = o->on_nan_continue < 0 ? 0 : o->on_nan_continue;
            } else if (nan_budget > 0) {
                nan_budget--;
            }
            if (nan_budget == 0) {
                stop = 1;
                break;
            }
            if (stop_requested) {
                status = TRAIN_INTERRUPTED;
                stop = 1;
                break;
            }
            if (o->max_steps > 0 && r.state.step >= o->max_steps) {
                status = TRAIN_MAX_STEPS;
                stop = 1;
                break;
            }
            if (o->checkpoint_every > 0 && r.state.step % o->checkpoint_every == 0 &&
                save_checkpoint(&r, "periodic", err)) {
                rc = -1;
                break;
            }
        }
        r.state.epoch_seconds += (double)(now_microseconds() - epoch_start) * 1e-6;
        if (rc) break;
        if (stop) {
            /* A clean stop keeps a checkpoint to resume from, unless the
             * weights are no longer finite (the last good one is kept). */
            if (status != TRAIN_NAN) {
                rc = save_checkpoint(&r, status == TRAIN_INTERRUPTED ? "interrupted" : "--max-steps", err);
                if (rc == 0 && status == TRAIN_INTERRUPTED)
                    rc = write_event(&r, "interrupted", "interrupted (SIGINT/SIGTERM) after the current step", NAN,
                                     NAN, err);
                if (!o->quiet)
                    progress_note(&r.console, "stopped after step %ld; continue with: nanprobe train --resume %s",
                                  r.state.step, r.dir);
            }
            break;
        }

        /* End of epoch: validation, callbacks, checkpoint. */
        validation_result val = {NAN, NAN};
        int has_validation = r.val_size > 0;
        if (has_validation && validate(&r, &val, err)) {
            rc = -1;
            break;
        }
        double epoch_loss = r.state.epoch_loss_sum / r.state.epoch_seen;
        double epoch_accuracy = r.state.epoch_correct / r.state.epoch_seen;
        progress_epoch_end(&r.console, r.state.epoch_step, epoch_loss, epoch_accuracy, has_validation, val.loss,
                           val.accuracy, r.state.learning_rate);
        epoch_row row = {.epoch = epoch + 1, .last_step = r.state.step, .loss = epoch_loss,
                         .accuracy = epoch_accuracy, .val_loss = val.loss, .val_accuracy = val.accuracy,
                         .lr = r.state.learning_rate, .seconds = r.state.epoch_seconds,
                         .has_validation = has_validation};
        int stop_early = 0;
        if (has_validation) {
            float old_lr = r.state.learning_rate;
            if (reduce_lr_update(&r.state.plateau, val.loss, &r.state.learning_rate)) {
                char message[160];
                snprintf(message, sizeof message, "ReduceLROnPlateau reducing learning rate from %g to %g",
                         old_lr, r.state.learning_rate);
                progress_note(&r.console, "Epoch %d: %s.", epoch + 1, message);
                if (write_event(&r, "lr_reduced", message, old_lr, r.state.learning_rate, err)) {
                    rc = -1;
                    break;
                }
            }
            row.lr = r.state.learning_rate;
            stop_early = early_stopping_update(&r.state.early, val.loss, epoch);
        }
        if (db_writer_begin(&r.db, err) || db_write_epoch(&r.db, &row, err) || db_writer_commit(&r.db, err)) {
            rc = -1;
            break;
        }
        r.state.epoch++;
        r.state.epoch_step = 0;
        r.state.epoch_loss_sum = r.state.epoch_correct = r.state.epoch_seen = r.state.epoch_seconds = 0.0;
        if (stop_early) {
            char message[128];
            snprintf(message, sizeof message, "EarlyStopping: val_loss did not improve for %d epochs", o->early_stopping);
            progress_note(&r.console, "Epoch %d: early stopping.", epoch + 1);
            status = TRAIN_EARLY_STOPPED;
            if (write_event(&r, "early_stop", message, NAN, NAN, err)) rc = -1;
        }
        if (rc == 0 && status != TRAIN_NAN) rc = save_checkpoint(&r, "end of epoch", err);
        if (stop_early) break;
    }

    if (rc == 0 && probe_first_event(r.probes)) status = TRAIN_NAN;
    result->status = status;
    result->steps = r.state.step;
    result->seconds_per_step =
        r.steps_this_process ? (double)(now_microseconds() - run_start) * 1e-6 / (double)r.steps_this_process : 0.0;
    error ignored;
    db_set_status(&r.db, rc ? "failed" : train_status_name(status), rc ? &ignored : err);
    if (o->timing) print_timing(&r, stderr);
    close_run(&r);
    if (rc == 0 && o->report) write_report(o, result);
    return rc;
}
