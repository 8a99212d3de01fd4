/* train.c: the training loop (see train.h). */
#include "train.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "callbacks.h"
#include "checkpoint.h"
#include "clip_provenance.h"
#include "data_parallel.h"
#include "dataset.h"
#include "db_validation.h"
#include "finite.h"
#include "db.h"
#include "db_ladder.h"
#include "keras.h"
#include "loss.h"
#include "optimizer.h"
#include "probe.h"
#include "model_precision.h"
#include "precision_run.h"
#include "replay.h"
#include "rundir.h"
#include "snapshot.h"
#include "version.h"

static volatile sig_atomic_t stop_requested;

void train_request_stop(void)
{
    stop_requested = 1;
}

const char *train_status_name(train_status status)
{
    static const char *const names[] = {"completed", "early_stopped", "nan", "interrupted", "completed"};
    _Static_assert(sizeof names / sizeof names[0] == TRAIN_STATUS_COUNT, "one name per train_status");
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
    o->snapshot_every = TRAIN_SNAPSHOT_EVERY;
    o->max_steps = -1; /* no limit */
}

/* Everything one run holds, freed in one place. */
typedef struct run {
    const train_options *o;
    rundir place;       /* the locked run directory */
    char dir[4096];     /* its path */
    dataset *data;
    model m;
    int model_built;
    db_writer db;
    probe_session *probes;
    data_parallel dp;   /* under mpirun: this rank's part (data_parallel.h) */
    injection injections[TRAIN_MAX_INJECTIONS]; /* as this rank applies them in the current step */
    parameter_step_stats *param_stats;
    adam_config adam;
    checkpoint_state state;
    const train_callbacks *cb; /* never NULL */
    train_status status;
    long nan_budget;           /* steps still to run after the first non-finite value; -1 before it */
    int train_nan_noted;       /* the first training NaN was announced (a validation NaN may come first) */
    long train_size, val_size, steps_per_epoch;
    long *order;        /* permutation of the training ids for the current (epoch, cycle) */
    long order_epoch, order_cycle;
    long *batch_ids;
    long *next_ids;     /* the batch after this one, announced to the data layer */
    clip_provenance provenance;
    snapshot snap;          /* the state at the start of a recent step (replay.h) */
    replay_stepper stepper;
    replay_session replay;
    int *labels;
    char *sample_text;  /* the batch ids as "3,17,..." for the steps table */
    int argc;
    char *const *argv;
    double optimizer_seconds, data_seconds, agreement_seconds, snapshot_seconds, shadow_seconds, validation_seconds;
    double last_data_loss; /* of the last step, for its replay */
    long steps_this_process;
    /* The accumulators after the warm-up steps, so that --timing reports
     * the steady state (the first steps fault in a gigabyte of buffers). */
    struct {
        step_timing model;
        double optimizer, data, probes, logging, allreduce, agreement, snapshot, shadow;
    } warm;
    int bad_option;     /* the open failed on an option's value (--inject), not on the data or disk */
    loss_scale ls; /* --precision mixed_float16 */
} run;

/* Who watches a step besides the model; every member may be NULL or 0.
 * Training passes them all; the replay passes only `ready` (it reruns the
 * step exactly as training ran it, unwatched: replay.h). */
typedef struct step_observers {
    probe_session *probes;             /* the sentinel, statistics, planted faults, the steps row */
    parameter_step_stats *param_stats; /* Adam's per-parameter statistics, for the probes */
    data_parallel *dp;                 /* under mpirun: the shard, the gradient allreduce, the agreement */
    clip_provenance *provenance;       /* the file and frames each clip came from */
    int prefetch;                      /* the next batch announced to a video source */
    int precision_events;              /* skipped steps, loss-scale growth, negative one-pass variances */
    int timed;                         /* --timing's data and optimizer seconds */
    void (*ready)(void *context, const replay_batch *batch); /* the batch read, before the forward */
    void *ready_context;
} step_observers;

/* What one step used and gave. */
typedef struct step_outcome {
    replay_batch batch;       /* this rank's clips, their rate and t, their mean data loss */
    dist_shard shard;         /* this rank's part of the batch */
    int global_batch;         /* the whole batch, all ranks */
    int samples, correct;     /* over all ranks once agreed */
    double data_loss;         /* mean over all ranks once agreed */
    double penalty;           /* L2 of the weights the forward pass used */
    precision_step precision; /* the loss scale's part (precision_run.h) */
} step_outcome;

static int run_step(run *r, loss_scale *ls, const step_observers *obs, step_outcome *out, error *err);

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

/* A user's text as a JSON string: a path need not be UTF-8, JSON must be, so
 * bytes past ASCII become '?' when the whole is not valid UTF-8. */
static json_t *json_text(const char *text)
{
    json_t *j = json_string(text);
    if (j) return j;
    char *copy = strdup(text);
    if (!copy) return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

/* The run's settings as JSON for runs.config_json, or NULL when memory runs
 * out (free() it).  jansson escapes; the blas object arrives as JSON already
 * (blas_selection_json). */
static char *options_json(const train_options *o)
{
    json_t *c = json_pack(
        "{s:i, s:i, s:[i,i,i,i], s:i, s:i, s:i, s:s, s:f, s:f, s:i, s:I, s:o, s:I, s:I, s:s, s:I, "
        "s:{s:f, s:i, s:f, s:f}, s:i, s:i, s:i, s:i, s:I, s:i, s:o, s:{s:f, s:f, s:f}, s:s, s:s}",
        "depth", o->depth, "width", o->width, "clip", o->clip[0], o->clip[1], o->clip[2], o->clip[3], "classes",
        o->classes, "batch", o->batch, "threads", o->threads, "init",
        o->init == INIT_HE_NORMAL ? "he_normal" : "glorot_uniform", "l2", o->l2, "lr", o->lr, "epochs", o->epochs,
        "steps_per_epoch", (json_int_t)o->steps_per_epoch, "data", json_text(o->data), "train_clips",
        (json_int_t)o->train_clips, "val_clips", (json_int_t)o->val_clips, "normalize",
        normalize_name((normalize_kind)o->normalize), "seed", (json_int_t)o->seed, "reduce_lr", "factor",
        o->plateau_factor, "patience", o->plateau_patience, "min_lr", o->plateau_min_lr, "min_delta",
        o->plateau_min_delta, "early_stopping", o->early_stopping, "probes", o->probes, "probe_every",
        o->probe_every, "ring_steps", o->ring_steps, "on_nan_continue", (json_int_t)o->on_nan_continue,
        "injections", o->injection_count, "name", json_text(o->name ? o->name : ""), "adam", "beta1", 0.9, "beta2", 0.999,
        "epsilon", 1e-07, "precision", precision_names[o->precision], "bn_variance",
        bn_variance_names[o->bn_variance]);
    json_t *blas = o->blas_json ? json_loads(o->blas_json, 0, NULL) : NULL;
    if (c && blas) json_object_set_new(c, "blas", blas);
    else json_decref(blas);
    char *text = c ? json_dumps(c, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(c);
    return text;
}

static void run_note(run *r, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void run_note(run *r, const char *format, ...)
{
    if (!r->cb->note) return;
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    r->cb->note(r->cb->context, text);
}

static int write_event(run *r, const char *kind, const char *message, double old_value, double new_value,
                       error *err)
{
    if (!data_parallel_writer(&r->dp)) return 0; /* rank 0 writes the database */
    event_row e;
    memset(&e, 0, sizeof e);
    e.step = r->state.step;
    /* The epoch of the step the event follows: right after an epoch ends
     * (state.epoch already counts the next one) that is the one that ended. */
    e.epoch = r->state.epoch_step == 0 && r->state.step > 0 ? r->state.epoch : r->state.epoch + 1;
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
 * warning goes to the callbacks and the failure is logged; training goes on.  Only the
 * database failing stops the run. */
static int save_checkpoint(run *r, const char *why, error *err)
{
    char message[1200];
    error failure;
    if (data_parallel_check_replicas(&r->dp, &r->m, r->state.step, err)) return -1;
    if (!data_parallel_writer(&r->dp)) return 0; /* rank 0 writes the checkpoints */
    if (probe_flush_ring(r->probes, err)) return -1;
    if (checkpoint_save(r->dir, &r->state, &r->m, r->argc, r->argv, &failure)) {
        if (r->cb->warning) r->cb->warning(r->cb->context, failure.message);
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
static int batch_for_step(run *r, long epoch, long index, long *ids)
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
        ids[i] = r->order[position % r->train_size];
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
    const nonfinite_event *nan; /* this validation's first non-finite value (issue 22), NULL if none */
} validation_result;

/* Under mpirun each rank validates its contiguous share of the clips (in
 * chunks of its model's batch) and the sums are added over the ranks, which
 * also lets them agree on a non-finite value met here. */
static int validate(run *r, validation_result *out, error *err)
{
    const int classes = r->o->classes, chunk = r->m.config.batch;
    dist_shard part = {0, (int)r->val_size};
    if (data_parallel_active(&r->dp)) part = dist_shard_of((int)r->val_size, r->dp.comm->rank, r->dp.comm->size);
    double loss_sum = 0.0;
    long correct = 0;
    probe_validation_epoch_begin(r->probes, r->state.step, r->state.epoch + 1);
    for (long start = part.start; start < part.start + part.count; start += chunk) {
        long left = part.start + part.count - start;
        int n = (int)(left < chunk ? left : chunk);
        for (int i = 0; i < n; i++) r->batch_ids[i] = start + i;
        model_set_batch(&r->m, n);
        if (dataset_read_epoch(r->data, SPLIT_VALIDATION, r->state.epoch + 1, r->batch_ids, n, model_input(&r->m),
                               r->labels, clip_provenance_buffer(&r->provenance), err) ||
            clip_provenance_record(&r->provenance, SPLIT_VALIDATION, r->state.epoch + 1, r->state.step, r->batch_ids,
                                   n, err))
            return -1;
        probe_validation_begin(r->probes, r->batch_ids, n);
        model_forward(&r->m, 0);
        probe_validation_end(r->probes);
        loss_result lr = loss_from_logits(n, classes, model_logits(&r->m), r->labels, NULL);
        loss_sum += lr.loss * n;
        correct += lr.correct;
    }
    if (probe_validation_epoch_end(r->probes, &out->nan, err)) return -1;
    if (data_parallel_active(&r->dp)) {
        dist_step_totals totals = {.loss_sum = loss_sum, .correct = (double)correct, .samples = part.count};
        dist_shard none = {0, 0};
        if (dist_replicas_step(&r->dp.replicas, r->probes, &none, 0, &totals, err)) return -1;
        loss_sum = totals.loss_sum;
        correct = (long)totals.correct;
    }
    /* Keras: evaluate() adds the regularization losses of the current weights. */
    out->loss = loss_sum / (double)r->val_size + r->o->l2 * r->state.kernel_squares;
    out->accuracy = (double)correct / (double)r->val_size;
    return 0;
}

/* ------------------------------------------------------------------ run */

/* --from-keras: the file's weights, moving statistics and Adam state in
 * place of model_init_weights.  Keras' iterations become Adam's t and the
 * step count, so run.db's steps continue the Keras run's. */
static int init_from_keras(run *r, error *err)
{
    keras_load_result k;
    if (keras_load(r->o->from_keras, &r->m, &k, err)) return -1;
    r->state.adam_t = r->state.step = k.info.iterations;
    if (k.converted)
        run_note(r, "--from-keras: %d variables were not float32 and were converted (%s, ...)", k.converted,
                 k.converted_example);
    if (k.nonfinite[0]) run_note(r, "--from-keras: the file holds NaN or Inf: %s", k.nonfinite);
    if (k.renamed)
        run_note(r, "--from-keras: %d layers carry other names in the file, mapped by topology (%s, ...)", k.renamed,
                 k.renamed_example);
    return 0;
}

/* The import as an event, then the sentinel over the loaded values: NaN
 * or Inf already in the file is named before any step runs. */
static int log_keras_start(run *r, error *err)
{
    char message[4300];
    snprintf(message, sizeof message, "initialised from the Keras checkpoint %s at iteration %ld", r->o->from_keras,
             r->state.step);
    if (write_event(r, "keras_import", message, NAN, NAN, err)) return -1;
    return probe_check_loaded(r->probes, r->state.step, r->state.epoch + 1, err);
}

/* The run directory, locked (a second trainer is refused), and what it
 * must hold: nothing for a new run, a run for --resume. */
static int open_place(run *r, int resume, error *err)
{
    const train_options *o = r->o;
    /* Under mpirun only rank 0 owns (and locks) the directory; the others
     * read the checkpoint from it and write nothing. */
    if (!data_parallel_writer(&r->dp)) {
        snprintf(r->dir, sizeof r->dir, "%s", o->out);
        return 0;
    }
    if (rundir_open(&r->place, o->out, resume ? "--resume" : "--out", err)) return -1;
    snprintf(r->dir, sizeof r->dir, "%s", r->place.path);
    rundir_state state = rundir_state_get(&r->place);
    if (!resume && state == RUNDIR_RUN)
        return error_set(err, "--out %s already holds a run (run.db); choose another directory, or continue it "
                              "with --resume %s",
                         r->dir, r->dir);
    if (resume && state != RUNDIR_RUN)
        return error_set(err, "--resume %s: no run.db in this directory, so there is no run to continue (start one "
                              "with --out %s)",
                         r->dir, r->dir);
    return 0;
}

static int open_data_and_model(run *r, error *err)
{
    const train_options *o = r->o;
    dataset_config dc = {.source = o->data, .classes = o->classes, .train_clips = o->train_clips,
                         .val_clips = o->val_clips, .seed = (uint64_t)o->seed,
                         .normalize = (normalize_kind)o->normalize, .video = &o->video};
    memcpy(dc.clip, o->clip, sizeof dc.clip);
    if (dataset_open(&r->data, &dc, err)) return -1;
    r->train_size = dataset_size(r->data, SPLIT_TRAIN);
    r->val_size = dataset_size(r->data, SPLIT_VALIDATION);
    if (r->train_size < 1) return error_set(err, "--data %s: no training clips", o->data);
    r->steps_per_epoch = o->steps_per_epoch ? o->steps_per_epoch : (r->train_size + o->batch - 1) / o->batch;
    if (data_parallel_check(&r->dp, o, r->train_size, err)) return -1;

    model_config mc = {.depth = o->depth, .width = o->width, .classes = o->classes,
                       .batch = data_parallel_capacity(&r->dp, o->batch), .threads = omp_get_max_threads()};
    dataset_clip_shape(r->data, mc.clip);
    if (model_build(&r->m, &mc, err)) return -1;
    r->model_built = 1;
    if (model_set_precision(&r->m, (precision_kind)o->precision, err)) return -1;
    model_set_bn_variance(&r->m, (bn_variance_kind)o->bn_variance);
    loss_scale_init(&r->ls);
    /* --inject sample=K is a position in the global batch, which under
     * mpirun is larger than this rank's model batch: check it against that. */
    r->m.config.batch = o->batch;
    for (int i = 0; i < o->injection_count; i++)
        if (injection_parse(o->injections[i], &r->m, &r->injections[i], err)) {
            r->bad_option = 1;
            return -1;
        }
    r->m.config.batch = mc.batch;

    r->order = malloc(sizeof(long) * (size_t)r->train_size);
    r->batch_ids = malloc(sizeof(long) * (size_t)o->batch);
    r->next_ids = malloc(sizeof(long) * (size_t)o->batch);
    r->labels = malloc(sizeof(int) * (size_t)o->batch);
    r->sample_text = malloc((size_t)o->batch * 21 + 1);
    r->param_stats = o->probes ? calloc((size_t)r->m.param_count, sizeof(parameter_step_stats)) : NULL;
    if (!r->order || !r->batch_ids || !r->next_ids || !r->labels || !r->sample_text || (o->probes && !r->param_stats))
        return error_set(err, "out of memory for %ld training ids", r->train_size);
    r->order_epoch = r->order_cycle = -1;
    r->adam = ADAM_KERAS_DEFAULTS;
    return 0;
}

/* A new run: initial weights, their checkpoint, then the database.  The
 * checkpoint comes first, so a run.db that exists can always be resumed
 * (from step 0 if need be); run.db itself appears only complete (db.c). */
static int start_new_run(run *r, const char *database, error *err)
{
    const train_options *o = r->o;
    memset(&r->state, 0, sizeof r->state);
    if (rundir_identity_new(r->state.identity, err)) return -1;
    if (o->from_keras) {
        if (init_from_keras(r, err)) return -1;
    } else {
        model_init_weights(&r->m, o->init, (uint64_t)o->seed);
    }
    r->state.epoch = o->initial_epoch;
    r->state.learning_rate = (float)o->lr;
    r->state.kernel_squares = model_l2_penalty(&r->m, 1.0f);
    reduce_lr_init(&r->state.plateau, o->plateau_factor, o->plateau_patience, o->plateau_min_lr,
                   o->plateau_min_delta);
    early_stopping_init(&r->state.early, o->early_stopping, 0.0);
    if (!database) return 0; /* under mpirun, a rank that writes nothing */
    if (checkpoint_save(r->dir, &r->state, &r->m, r->argc, r->argv, err)) return -1;
    char started[32], clip[64];
    iso_time(started, sizeof started);
    snprintf(clip, sizeof clip, "%dx%dx%dx%d", r->m.config.clip[0], r->m.config.clip[1], r->m.config.clip[2],
             r->m.config.clip[3]);
    char *config = options_json(o);
    if (!config) return error_set(err, "out of memory writing the run's settings as JSON");
    const char *base = strrchr(r->dir, '/');
    base = base && base[1] ? base + 1 : r->dir;
    run_row row = {.name = o->name ? o->name : base, .version = NANPROBE_VERSION, .started_at = started,
                   .clip = clip, .init = o->init == INIT_HE_NORMAL ? "he_normal" : "glorot_uniform",
                   .data = o->data, .normalize = normalize_name((normalize_kind)o->normalize),
                   .config_json = config, .depth = o->depth, .width = o->width, .classes = o->classes,
                   .batch = o->batch, .probe_every = o->probe_every, .l2 = o->l2, .lr = o->lr,
                   .seed = o->seed, .identity = r->state.identity};
    int rc = db_writer_create(&r->db, database, &row, &r->m, err);
    free(config);
    return rc;
}

/* ------------------------------------------------------------ replay */

static int query_double(sqlite3 *db, const char *sql, long long run_id, long step, double *out);

/* The loss scale step `step` ran with (steps.loss_scale), else Keras' initial one. */
static float replay_loss_scale(run *r, long step)
{
    double scale;
    if (r->db.db && query_double(r->db.db, "SELECT loss_scale FROM steps WHERE run_id = ?1 AND step = ?2", r->db.run_id,
                                 step, &scale) && scale > 0)
        return (float)scale;
    return LOSS_SCALE_INITIAL;
}

/* The replay's stepper: the next step as training runs it (run_step),
 * watched by nothing: no probes, no database, no transient injections
 * (replay.h).  The run's own loss scale is not the replay's to move: the
 * step runs with the scale it had (steps.loss_scale). */
static int replay_run_step(void *context, long step, void (*ready)(void *, const replay_batch *), void *ready_context,
                           replay_batch *b, error *err)
{
    run *r = context;
    if (step != r->state.step + 1 || r->state.epoch_step >= r->steps_per_epoch)
        return error_set(err, "replay: step %ld is not the next step of epoch %d", step, r->state.epoch + 1);
    loss_scale ls = r->ls;
    if (r->m.precision != PRECISION_FLOAT32) ls.scale = replay_loss_scale(r, step);
    const step_observers none = {.ready = ready, .ready_context = ready_context};
    step_outcome out;
    if (run_step(r, &ls, &none, &out, err)) return -1;
    *b = out.batch;
    r->state.epoch_step++;
    return 0;
}

/* Why clip `sample` of the batch is not finite: in the file, or 0/0 from
 * standardizing a constant clip. */
static int replay_explain_input(void *context, const replay_batch *b, int sample, char *out, size_t size)
{
    run *r = context;
    const size_t n = (size_t)r->m.config.clip[0] * r->m.config.clip[1] * r->m.config.clip[2] * r->m.config.clip[3];
    float *clip = malloc(n * sizeof *clip);
    error ignored;
    long id = b->sample_ids[sample];
    if (!clip || dataset_read_raw(r->data, SPLIT_TRAIN, id, clip, &ignored)) {
        free(clip);
        return 0;
    }
    size_t bad = 0, bad_at = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!float_is_finite(clip[i])) {
            if (!bad++) bad_at = i;
        } else {
            lo = clip[i] < lo ? clip[i] : lo;
            hi = clip[i] > hi ? clip[i] : hi;
        }
    }
    free(clip);
    normalize_kind kind = dataset_normalize(r->data);
    if (bad)
        snprintf(out, size, "the data itself: clip %ld holds %zu non-finite values as stored (the first at element %zu)",
                 id, bad, bad_at);
    else if (kind == NORMALIZE_STANDARDIZE && lo == hi)
        snprintf(out, size, "0/0 in --normalize standardize: clip %ld is constant (every value %g), so (x - mean) / std "
                 "divides 0 by a standard deviation of 0", id, (double)lo);
    else
        return 0;
    return 1;
}

static int open_replay(run *r, error *err)
{
    const train_options *o = r->o;
    r->snap.step = -1;
    if (data_parallel_active(&r->dp)) return 0;
    if (o->snapshot_every > 0 && snapshot_init(&r->snap, &r->m, err)) return -1;
    r->stepper = (replay_stepper){.context = r, .run_step = replay_run_step, .explain_input = replay_explain_input};
    r->replay = (replay_session){.m = &r->m, .state = &r->state, .snap = &r->snap, .stepper = &r->stepper,
                                 .adam = r->adam, .l2 = (float)o->l2, .threads = omp_get_max_threads(),
                                 .db = data_parallel_writer(&r->dp) ? &r->db : NULL};
    return 0;
}

/* Before a step: keep the state every --snapshot-every steps and at every
 * epoch start (so a replay never reruns across validation and callbacks). */
static void keep_snapshot(run *r)
{
    if (!r->snap.weights) return;
    if (r->snap.step < 0 || r->state.epoch_step == 0 || r->state.step % r->o->snapshot_every == 0) {
        double start = omp_get_wtime();
        snapshot_take(&r->snap, &r->m, &r->state);
        r->snapshot_seconds += omp_get_wtime() - start;
    }
}

/* --shadow-every N: steps N, 2N, ... also run in float64; not once the
 * run has a non-finite value (no float32 value to compare with), nor at a
 * step with a planted fault (the float64 model loads the state before the
 * probes plant it). */
static int shadow_step_due(run *r)
{
    const train_options *o = r->o;
    const long step = r->state.step + 1;
    if (o->shadow_every <= 0 || data_parallel_active(&r->dp) || probe_first_event(r->probes) ||
        step % o->shadow_every != 0)
        return 0;
    for (int i = 0; i < o->injection_count; i++)
        if (r->injections[i].step == step) return 0;
    return 1;
}

static int shadow_step_end(run *r, int samples, error *err)
{
    replay_batch b = {.batch = samples, .epoch = r->state.epoch + 1, .labels = r->labels,
                      .sample_ids = r->batch_ids, .learning_rate = r->state.learning_rate,
                      .adam_t = r->state.adam_t};
    return replay_shadow_end(&r->replay, r->state.step, &b, err);
}

static int write_ladder(run *r, long step, const ladder_rung *rungs, int n, error *err)
{
    for (int i = 0; i < n; i++) {
        const ladder_rung *g = &rungs[i];
        ladder_row row = {.step = step, .precision = precision_names[g->precision], .failed = g->failed,
                          .skipped = g->skipped, .loss_scale = g->loss_scale, .loss = g->loss,
                          .first_bad_layer = g->bad_layer, .first_bad_tensor = g->bad_tensor,
                          .first_bad_value = g->bad_value, .first_lost_layer = g->lost_layer,
                          .first_lost_tensor = g->lost_tensor, .message = g->message};
        if (db_write_ladder(&r->db, &row, err)) return -1;
    }
    return 0;
}

/* A run in an emulated precision: the failing step on the precision
 * ladder too, so the verdict can say which precisions would have held it. */
static void ladder_first_event(run *r, long step)
{
    static const precision_kind all[] = {PRECISION_TF32, PRECISION_MIXED_BFLOAT16, PRECISION_MIXED_FLOAT16};
    ladder_rung rungs[LADDER_MAX_RUNGS];
    error failure;
    int n = ladder_run(&r->replay, step, all, 3, replay_loss_scale(r, step), rungs, &failure);
    if (n < 0 || write_ladder(r, step, rungs, n, &failure)) {
        if (r->cb->warning) r->cb->warning(r->cb->context, failure.message);
        return;
    }
    for (int i = 0; i < n; i++) run_note(r, "Precision ladder: %s", rungs[i].message);
}

/* The first non-finite value's step, run again (its rows go to run.db). */
static void replay_first_event(run *r, const nonfinite_event *e)
{
    if (!r->snap.weights || r->snap.step < 0 || r->snap.step >= e->step) return;
    replay_request q = {.step = e->step, .trigger = "nan", .precision = REPLAY_BOTH, .original = e,
                        .has_original_loss = 1, .original_loss = r->last_data_loss,
                        .have_original_tensors = 1, .directory = r->dir};
    replay_outcome out;
    error failure;
    if (replay_step(&r->replay, &q, &out, &failure)) {
        if (r->cb->warning) r->cb->warning(r->cb->context, failure.message);
        return;
    }
    run_note(r, "Replay: %s", out.message);
    if (out.note[0] && r->cb->warning) r->cb->warning(r->cb->context, out.note);
    if (r->o->precision != PRECISION_FLOAT32 && !data_parallel_active(&r->dp)) ladder_first_event(r, e->step);
}

static int open_run(run *r, int resume, error *err)
{
    const train_options *o = r->o;
    const int writer = data_parallel_writer(&r->dp); /* under mpirun the others write nothing */
    if (open_place(r, resume, err) || open_data_and_model(r, err)) return -1;
    const char *database = r->place.database;
    if (resume) {
        if (checkpoint_load(r->dir, &r->state, &r->m, err)) return -1;
        if (o->lr_overrides_checkpoint) r->state.learning_rate = (float)o->lr;
        if (writer && db_writer_resume(&r->db, database, r->state.step, r->state.identity, err)) return -1;
        /* the epoch in progress is validated again (unless it had ended) */
        if (writer && db_validation_resume(&r->db, r->state.step, r->state.epoch_step > 0, err)) return -1;
    } else if (start_new_run(r, writer ? database : NULL, err)) {
        return -1;
    }
    if (clip_provenance_open(&r->provenance, r->data, writer ? &r->db : NULL, o->batch, resume, err)) return -1;
    probe_config pc = {.statistics = o->probes, .probe_every = o->probe_every, .ring_steps = o->ring_steps,
                       .l2 = (float)o->l2, .injections = r->injections, .injection_count = o->injection_count,
                       .input_capacity = o->batch};
    if (probe_open(&r->probes, &r->m, writer ? &r->db : NULL, &pc, err)) return -1;
    if (data_parallel_open(&r->dp, o, &r->m, r->probes, r->injections, o->injection_count, err)) return -1;
    if (!resume && o->from_keras && log_keras_start(r, err)) return -1;
    if (open_replay(r, err)) return -1;
    char message[128];
    if (resume) snprintf(message, sizeof message, "resumed from the checkpoint at step %ld", r->state.step);
    else snprintf(message, sizeof message, "checkpoint at step %ld (the initial weights)", r->state.step);
    return write_event(r, resume ? "resumed" : "checkpoint", message, NAN, NAN, err);
}

static void close_run(run *r)
{
    data_parallel_close(&r->dp, &r->m);
    probe_close(r->probes);
    replay_session_free(&r->replay);
    snapshot_free(&r->snap);
    clip_provenance_close(&r->provenance);
    db_writer_close(&r->db);
    /* Last: the lock covers everything above.  A start refused before its
     * run.db appeared removes the directory it created. */
    rundir_close(&r->place, 0);
    if (r->model_built) model_free(&r->m);
    dataset_close(r->data);
    free(r->order);
    free(r->batch_ids);
    free(r->next_ids);
    free(r->labels);
    free(r->sample_text);
    free(r->param_stats);
}

/* Announces the batch after (epoch, index) so that a video source decodes
 * it on its prefetch thread while this step computes (a no-op for the other
 * sources).  The ids are those batch_for_step will give that step. */
static int prefetch_next(run *r, int epoch, long index, error *err)
{
    if (!dataset_video(r->data)) return 0;
    long next = index + 1;
    int next_epoch = epoch;
    if (next >= r->steps_per_epoch) {
        next = 0;
        next_epoch++;
    }
    if (next_epoch >= r->o->epochs || (r->o->max_steps > 0 && r->state.step + 1 >= r->o->max_steps)) return 0;
    int n = batch_for_step(r, next_epoch, next, r->next_ids);
    return dataset_prefetch(r->data, SPLIT_TRAIN, next_epoch + 1, r->next_ids, n, err);
}

/* Under mpirun: the ranks' sums of the step, the sentinel agreed on and
 * the statistics merged into rank 0's record; a stop asked of any rank
 * (SIGINT/SIGTERM) stops them all after this step. */
static int agree_step(run *r, const dist_shard *shard, loss_result *lr, int *samples, error *err)
{
    if (!data_parallel_active(&r->dp)) return 0;
    double start = omp_get_wtime();
    dist_step_totals totals = {.loss_sum = lr->loss * shard->count, .correct = lr->correct,
                               .samples = shard->count, .stop = stop_requested};
    if (dist_replicas_step(&r->dp.replicas, r->probes, shard, 1, &totals, err)) return -1;
    lr->loss = totals.loss_sum / totals.samples;
    lr->correct = (int)totals.correct;
    *samples = (int)totals.samples;
    if (totals.stop > 0) stop_requested = 1;
    r->agreement_seconds += omp_get_wtime() - start;
    return 0;
}

/* The step's loss-scale and one-pass BatchNorm events (precision_run.h). */
static int write_precision_events(run *r, long step, const precision_step *ps, const loss_scale *ls, error *err)
{
    char message[900];
    if (ps->skipped && write_event(r, "step_skipped", ps->message, ps->scale, ls->scale, err)) return -1;
    if (!ps->skipped && ps->change == LOSS_SCALE_GREW &&
        write_event(r, "loss_scale_grew", ps->message, ps->scale, ls->scale, err))
        return -1;
    if (r->o->bn_variance == BN_VARIANCE_ONE_PASS && precision_bn_variance_message(&r->m, step, message, sizeof message))
        return write_event(r, "bn_variance_negative", message, NAN, NAN, err);
    return 0;
}

/* The step's clips into the model's input: this rank's shard of the batch
 * of the loop state's next step. */
static int step_read(run *r, const step_observers *obs, step_outcome *out, error *err)
{
    const int epoch = r->state.epoch;
    const long index = r->state.epoch_step, step = r->state.step + 1;
    const int n = batch_for_step(r, epoch, index, r->batch_ids);
    dist_shard shard = {0, n};
    if (obs->dp) shard = data_parallel_begin_step(obs->dp, n, r->injections, r->o->injection_count);
    const long *ids = r->batch_ids + shard.start;
    model_set_batch(&r->m, shard.count);
    double data_start = omp_get_wtime();
    if (dataset_read_epoch(r->data, SPLIT_TRAIN, epoch + 1, ids, shard.count, model_input(&r->m), r->labels,
                           obs->provenance ? clip_provenance_buffer(obs->provenance) : NULL, err))
        return -1;
    if (obs->timed) r->data_seconds += omp_get_wtime() - data_start;
    if (obs->provenance &&
        clip_provenance_record(obs->provenance, SPLIT_TRAIN, epoch + 1, step, ids, shard.count, err))
        return -1;
    if (obs->prefetch && prefetch_next(r, epoch, index, err)) return -1;
    out->shard = shard;
    out->global_batch = n;
    out->batch = (replay_batch){.batch = shard.count, .epoch = epoch + 1, .labels = r->labels, .sample_ids = ids,
                                .learning_rate = r->state.learning_rate, .adam_t = r->state.adam_t + 1};
    return 0;
}

/* The planted faults of the step: the probes plant them all (and log
 * them); unwatched, only the weight scaling, which is the state the step
 * starts from, not a transient fault (replay.h). */
static void step_plant(run *r, const step_observers *obs, long step, const replay_batch *b)
{
    if (obs->probes) {
        probe_step_begin(obs->probes, step, b->epoch, b->sample_ids, b->labels, b->batch);
        return;
    }
    for (int i = 0; i < r->o->injection_count; i++)
        if (r->injections[i].kind == INJECT_SCALE_WEIGHTS && r->injections[i].step == step)
            injection_apply_scaling(&r->injections[i], &r->m);
}

/* After the update: the precision events, the ranks' agreement, the steps row. */
static int step_record(run *r, const loss_scale *ls, const step_observers *obs, loss_result lr, long long start,
                       step_outcome *out, error *err)
{
    const long step = r->state.step;
    if (obs->precision_events && write_precision_events(r, step, &out->precision, ls, err)) return -1;
    out->samples = out->shard.count;
    if (obs->dp && agree_step(r, &out->shard, &lr, &out->samples, err)) return -1;
    out->data_loss = lr.loss;
    out->correct = lr.correct;
    if (!obs->probes) return 0;
    format_sample_ids(r, out->global_batch);
    step_row row = {.step = step, .epoch = out->batch.epoch, .lr = r->state.learning_rate,
                    .loss = lr.loss + out->penalty, .data_loss = lr.loss, .l2_penalty = out->penalty,
                    .accuracy = (double)lr.correct / out->global_batch,
                    .seconds = (double)(now_microseconds() - start) * 1e-6, .sample_ids = r->sample_text,
                    .loss_scale = out->precision.scale, .skipped = out->precision.skipped};
    return probe_step_end(obs->probes, &row, err);
}

/* The one training step: the next step's batch read, forward, loss (scaled
 * under an emulated precision), backward, Adam + L2; state.step advanced
 * (state.epoch_step is the caller's to count).  ls is the loss scale the
 * step uses and moves.  Training and the replay both run this. */
static int run_step(run *r, loss_scale *ls, const step_observers *obs, step_outcome *out, error *err)
{
    const train_options *o = r->o;
    const long step = r->state.step + 1;
    long long start = now_microseconds();
    memset(out, 0, sizeof *out);
    if (step_read(r, obs, out, err)) return -1;
    step_plant(r, obs, step, &out->batch);
    if (obs->ready) obs->ready(obs->ready_context, &out->batch);
    model_forward(&r->m, 1);
    const int n = out->batch.batch;
    real *logits_gradient = model_logits_gradient(&r->m);
    loss_result lr = loss_from_logits(n, o->classes, model_logits(&r->m), r->labels, logits_gradient);
    out->batch.loss = lr.loss;
    if (obs->probes) probe_loss(obs->probes, lr.loss, r->labels);
    if (obs->dp) data_parallel_weight_gradient(obs->dp, logits_gradient, o->classes, out->global_batch);
    const int emulated = r->m.precision != PRECISION_FLOAT32;
    if (emulated) precision_before_backward(&r->m, obs->probes, ls, &out->precision);
    model_backward(&r->m);
    if (obs->dp && data_parallel_after_backward(obs->dp, &r->m, err)) return -1;
    /* The step's penalty uses the weights its forward pass used. */
    out->penalty = o->l2 * r->state.kernel_squares;
    double optimizer_start = omp_get_wtime();
    int update = !emulated || precision_after_backward(&r->m, obs->probes, ls, step, &out->precision);
    if (update)
        r->state.kernel_squares = optimizer_step(&r->m, &r->adam, r->state.learning_rate, ++r->state.adam_t,
                                                 (float)o->l2, obs->param_stats);
    if (obs->timed) r->optimizer_seconds += omp_get_wtime() - optimizer_start;
    if (obs->probes) probe_after_update(obs->probes, update ? obs->param_stats : NULL, r->state.adam_t);
    r->state.step = step;
    return step_record(r, ls, obs, lr, start, out, err);
}

/* One training step, watched by everything: under mpirun on this rank's
 * shard of the batch (data_parallel.h). */
static int train_step(run *r, step_outcome *out, error *err)
{
    const step_observers all = {.probes = r->probes, .param_stats = r->param_stats, .dp = &r->dp,
                                .provenance = &r->provenance, .prefetch = 1, .precision_events = 1, .timed = 1};
    if (run_step(r, &r->ls, &all, out, err)) return -1;
    r->last_data_loss = out->data_loss;
    return 0;
}

/* The steady-state time split: everything after the warm-up steps. */
static void measure_timing(run *r, train_timing *t)
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
    t->steps = measured;
    t->conv_forward = conv_f / steps;
    t->conv_backward = conv_b / steps;
    t->batchnorm = by_kind[LAYER_BATCHNORM] / steps;
    t->pooling = (by_kind[LAYER_MAXPOOL3D] + by_kind[LAYER_AVGPOOL3D]) / steps;
    t->relu_add_dense = other / steps;
    t->optimizer = (r->optimizer_seconds - r->warm.optimizer) / steps;
    t->probes = (probe_seconds(r->probes) - r->warm.probes) / steps;
    t->logging = (probe_db_seconds(r->probes) - r->warm.logging) / steps;
    t->data = (r->data_seconds - r->warm.data) / steps;
    t->allreduce_wait = (r->dp.buckets.wait_seconds - r->warm.allreduce) / steps;
    t->agreement = (r->agreement_seconds - r->warm.agreement) / steps;
    t->snapshot = (r->snapshot_seconds - r->warm.snapshot) / steps;
    t->shadow = (r->shadow_seconds - r->warm.shadow) / steps;
    t->validation = r->validation_seconds;
    t->validation_probes = probe_validation_seconds(r->probes);
}

/* ------------------------------------------------------------ the loop */

static void announce_setup(run *r, const char *database, int resume)
{
    const train_options *o = r->o;
    if (!r->cb->setup) return;
    train_setup s = {.depth = o->depth, .width = o->width, .batch = o->batch, .threads = omp_get_max_threads(),
                     .trainable_count = r->m.trainable_count, .data = dataset_describe(r->data),
                     .init = o->init == INIT_HE_NORMAL ? "he_normal" : "glorot_uniform", .database = database,
                     .blas = o->blas, .resumed = resume};
    r->cb->setup(r->cb->context, &s);
}

/* Adds a finished step to the epoch's running loss and accuracy. */
static void count_step(run *r, double objective, int correct, int samples)
{
    r->steps_this_process++;
    if (r->steps_this_process == TIMING_WARMUP_STEPS) {
        r->warm.model = r->m.timing;
        r->warm.optimizer = r->optimizer_seconds;
        r->warm.data = r->data_seconds;
        r->warm.probes = probe_seconds(r->probes);
        r->warm.logging = probe_db_seconds(r->probes);
        r->warm.allreduce = r->dp.buckets.wait_seconds;
        r->warm.agreement = r->agreement_seconds;
        r->warm.snapshot = r->snapshot_seconds;
        r->warm.shadow = r->shadow_seconds;
    }
    r->state.epoch_step++;
    r->state.epoch_loss_sum += objective * samples;
    r->state.epoch_correct += correct;
    r->state.epoch_seen += samples;
    if (r->cb->step)
        r->cb->step(r->cb->context, r->state.epoch_step, r->state.epoch_loss_sum / r->state.epoch_seen,
                    r->state.epoch_correct / r->state.epoch_seen);
}

/* The stop logic after each step: at the first non-finite value stop, or
 * (--on-nan continue=N) run N more steps; an interruption; --max-steps.
 * Returns 1 when the run stops here. */
static int should_stop(run *r)
{
    const train_options *o = r->o;
    const nonfinite_event *e = probe_first_event(r->probes);
    /* The first training NaN is announced even after a validation NaN
     * started the budget (--on-nan continue=N). */
    int starts = r->nan_budget < 0;
    if (e && !r->train_nan_noted) {
        r->train_nan_noted = 1;
        run_note(r, "NaN sentinel: %s", e->message);
        replay_first_event(r, e);
        r->status = TRAIN_NAN;
        if (starts) r->nan_budget = o->on_nan_continue < 0 ? 0 : o->on_nan_continue;
    }
    if (!starts && r->nan_budget > 0) r->nan_budget--;
    if (r->nan_budget == 0) return 1;
    if (stop_requested) {
        r->status = TRAIN_INTERRUPTED;
        return 1;
    }
    if (o->max_steps >= 0 && r->state.step >= o->max_steps) {
        r->status = TRAIN_MAX_STEPS;
        return 1;
    }
    return 0;
}

/* A clean stop keeps a checkpoint to resume from, unless the weights are
 * no longer finite (then the last good one is kept). */
static int stop_run(run *r, error *err)
{
    /* Stopped before a step of this process (--max-steps 0, or a resume at
     * its limit already): the checkpoint in place is this very state. */
    if (r->status == TRAIN_NAN || r->steps_this_process == 0) return 0;
    int interrupted = r->status == TRAIN_INTERRUPTED;
    int rc = save_checkpoint(r, interrupted ? "interrupted" : "--max-steps", err);
    if (rc == 0 && interrupted)
        rc = write_event(r, "interrupted", "interrupted (SIGINT/SIGTERM) after the current step", NAN, NAN, err);
    run_note(r, "stopped after step %ld; continue with: nanprobe train --resume %s", r->state.step, r->dir);
    return rc;
}

/* The rest of the current epoch's steps.  Returns -1 on failure, 1 when
 * the run stops inside the epoch, 0 at the epoch's end. */
static int run_epoch_steps(run *r, error *err)
{
    const train_options *o = r->o;
    if (o->max_steps >= 0 && r->state.step >= o->max_steps) {
        r->status = TRAIN_MAX_STEPS;
        return 1;
    }
    while (r->state.epoch_step < r->steps_per_epoch) {
        step_outcome out;
        keep_snapshot(r);
        const int shadowed = shadow_step_due(r);
        double shadow_start = omp_get_wtime();
        if (shadowed && replay_shadow_begin(&r->replay, err)) return -1;
        double step_start = omp_get_wtime();
        if (train_step(r, &out, err)) return -1;
        double step_end = omp_get_wtime();
        if (shadowed && shadow_step_end(r, out.samples, err)) return -1;
        if (shadowed) r->shadow_seconds += (step_start - shadow_start) + (omp_get_wtime() - step_end);
        count_step(r, out.data_loss + out.penalty, out.correct, out.samples);
        if (should_stop(r)) return 1;
        /* The last step of the epoch is checkpointed by end_epoch, with
         * the epoch's end in the state: once, not twice. */
        if (o->checkpoint_every > 0 && r->state.step % o->checkpoint_every == 0 &&
            r->state.epoch_step < r->steps_per_epoch && save_checkpoint(r, "periodic", err))
            return -1;
    }
    return 0;
}

/* Keras' callbacks on val_loss: ReduceLROnPlateau, then EarlyStopping. */
static int apply_callbacks(run *r, double val_loss, int *stop_early, error *err)
{
    float old_lr = r->state.learning_rate;
    if (reduce_lr_update(&r->state.plateau, val_loss, &r->state.learning_rate)) {
        char message[160];
        snprintf(message, sizeof message, "ReduceLROnPlateau reducing learning rate from %g to %g", old_lr,
                 r->state.learning_rate);
        run_note(r, "Epoch %d: %s.", r->state.epoch + 1, message);
        if (write_event(r, "lr_reduced", message, old_lr, r->state.learning_rate, err)) return -1;
    }
    *stop_early = early_stopping_update(&r->state.early, val_loss, r->state.epoch);
    return 0;
}

/* End of epoch: validation, the callbacks, the epoch row, the checkpoint.
 * Returns -1 on failure, 1 when early stopping ends the run. */
static int end_epoch(run *r, error *err)
{
    const int epoch = r->state.epoch;
    validation_result val = {NAN, NAN, NULL};
    int has_validation = r->val_size > 0, stop_early = 0;
    double validation_start = omp_get_wtime();
    if (has_validation && validate(r, &val, err)) return -1;
    r->validation_seconds += omp_get_wtime() - validation_start;
    /* issue 22: a NaN met in validation stops the run too (or starts --on-nan's budget).  Under mpirun the
     * ranks decide on the summed val_loss, which they all hold: a rank's own sentinel sees only its shard. */
    int val_failed = data_parallel_active(&r->dp) ? has_validation && !isfinite(val.loss) : val.nan != NULL;
    if (val_failed) {
        if (val.nan) run_note(r, "NaN sentinel: %s", val.nan->message);
        else run_note(r, "NaN sentinel: val_loss is non-finite after epoch %d", epoch + 1);
        r->status = TRAIN_NAN;
        if (r->nan_budget < 0) r->nan_budget = r->o->on_nan_continue < 0 ? 0 : r->o->on_nan_continue;
    }
    train_epoch_summary summary = {.steps = r->state.epoch_step,
                                   .loss = r->state.epoch_loss_sum / r->state.epoch_seen,
                                   .accuracy = r->state.epoch_correct / r->state.epoch_seen,
                                   .has_validation = has_validation, .val_loss = val.loss,
                                   .val_accuracy = val.accuracy, .lr = r->state.learning_rate};
    if (r->cb->epoch_end) r->cb->epoch_end(r->cb->context, &summary);
    if (has_validation && apply_callbacks(r, val.loss, &stop_early, err)) return -1;
    epoch_row row = {.epoch = epoch + 1, .last_step = r->state.step, .loss = summary.loss,
                     .accuracy = summary.accuracy, .val_loss = val.loss, .val_accuracy = val.accuracy,
                     .lr = r->state.learning_rate, .seconds = r->state.epoch_seconds,
                     .has_validation = has_validation};
    if (data_parallel_writer(&r->dp) &&
        (db_writer_begin(&r->db, err) || db_write_epoch(&r->db, &row, err) || db_writer_commit(&r->db, err)))
        return -1;
    r->state.epoch++;
    r->state.epoch_step = 0;
    r->state.epoch_loss_sum = r->state.epoch_correct = r->state.epoch_seen = r->state.epoch_seconds = 0.0;
    if (stop_early) {
        char message[128];
        snprintf(message, sizeof message, "EarlyStopping: val_loss did not improve for %d epochs",
                 r->o->early_stopping);
        run_note(r, "Epoch %d: early stopping.", epoch + 1);
        r->status = TRAIN_EARLY_STOPPED;
        if (write_event(r, "early_stop", message, NAN, NAN, err)) return -1;
    }
    if (r->status != TRAIN_NAN && save_checkpoint(r, "end of epoch", err)) return -1;
    return stop_early || r->nan_budget == 0;
}

/* One epoch (or what is left of it after a resume).  Returns -1 on
 * failure, 1 when the run ends here, 0 to go on with the next epoch. */
static int run_epoch(run *r, error *err)
{
    if (r->cb->epoch_begin) r->cb->epoch_begin(r->cb->context, r->state.epoch + 1, r->o->epochs, r->steps_per_epoch);
    long long epoch_start = now_microseconds();
    int rc = run_epoch_steps(r, err);
    r->state.epoch_seconds += (double)(now_microseconds() - epoch_start) * 1e-6;
    if (rc < 0) return -1;
    if (rc > 0) return stop_run(r, err) ? -1 : 1;
    return end_epoch(r, err);
}

static void finish_run(run *r, int rc, long long run_start, train_result *result, error *err)
{
    if (rc == 0 && probe_first_event(r->probes)) r->status = TRAIN_NAN;
    result->status = r->status;
    result->steps = r->state.step;
    result->seconds_per_step = r->steps_this_process
                                   ? (double)(now_microseconds() - run_start) * 1e-6 / (double)r->steps_this_process
                                   : 0.0;
    measure_timing(r, &result->timing);
    error ignored;
    if (data_parallel_writer(&r->dp))
        db_set_status(&r->db, rc ? "failed" : train_status_name(r->status), rc ? &ignored : err);
}

/* ------------------------------------------------------------ nanprobe replay */

static long query_long(sqlite3 *db, const char *sql, long long run_id, long fallback)
{
    sqlite3_stmt *st = NULL;
    long value = fallback;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
            value = (long)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return value;
}

/* A REAL of one row; 0 when there is none (a NaN was stored as NULL). */
static int query_double(sqlite3 *db, const char *sql, long long run_id, long step, double *out)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, step);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_FLOAT) {
            *out = sqlite3_column_double(st, 0);
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

static void copy_text(sqlite3_stmt *st, int column, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, column);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

/* The run's first non-finite value if it is at `step` (the database is
 * untrusted: a layer out of range or an unknown class is no event). */
static int load_event(run *r, long step, nonfinite_event *e)
{
    static const char *const classes[] = {"nan", "+inf", "-inf"};
    sqlite3_stmt *st = NULL;
    int found = 0;
    const char *sql = "SELECT layer_id, tensor, value_class, element_index, sample, d, h, w, channel, pass, message, "
                      "epoch FROM events WHERE run_id = ?1 AND kind = 'nan' AND step = ?2 ORDER BY event_id LIMIT 1";
    if (sqlite3_prepare_v2(r->db.db, sql, -1, &st, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_int64(st, 1, r->db.run_id);
    sqlite3_bind_int64(st, 2, step);
    if (sqlite3_step(st) == SQLITE_ROW) {
        memset(e, 0, sizeof *e);
        e->step = step;
        e->layer = sqlite3_column_int(st, 0);
        copy_text(st, 1, e->tensor, sizeof e->tensor);
        char cls[8], pass[32];
        copy_text(st, 2, cls, sizeof cls);
        copy_text(st, 9, pass, sizeof pass);
        for (int k = 0; k < 3; k++)
            if (strcmp(cls, classes[k]) == 0) e->value_class = classes[k], found = 1;
        e->element = sqlite3_column_int64(st, 3);
        int *axes[] = {&e->sample, &e->d, &e->h, &e->w, &e->channel};
        for (int k = 0; k < 5; k++)
            *axes[k] = sqlite3_column_type(st, 4 + k) == SQLITE_INTEGER ? sqlite3_column_int(st, 4 + k) : -1;
        e->pass = PASS_FORWARD;
        for (int k = 0; k < PASS_COUNT; k++)
            if (strcmp(pass, probe_pass_name((probe_pass)k)) == 0) e->pass = (probe_pass)k;
        copy_text(st, 10, e->message, sizeof e->message);
        e->epoch = sqlite3_column_int(st, 11);
        found = found && e->layer >= 0 && e->layer < r->m.layer_count && e->element >= 0;
    }
    sqlite3_finalize(st);
    return found;
}

/* The run, its data and model, the checkpoint's state and the database,
 * opened for a replay (nothing of the run is changed). */
static int open_for_replay(run *r, error *err)
{
    if (open_place(r, 1, err) || open_data_and_model(r, err)) return -1;
    if (checkpoint_load(r->dir, &r->state, &r->m, err)) return -1;
    if (db_writer_attach(&r->db, r->place.database, r->state.identity, err)) return -1;
    return open_replay(r, err);
}

/* The run of o->out opened for a replay of *step (0: the first NaN's, else the last step). */
static int open_replay_step(run *r, const train_options *o, const train_callbacks *callbacks, long *step, error *err)
{
    static const train_callbacks silent;
    if (o->threads > 0) omp_set_num_threads(o->threads);
    openblas_set_num_threads(omp_get_max_threads());
    memset(r, 0, sizeof *r);
    r->o = o;
    r->cb = callbacks ? callbacks : &silent;
    if (open_for_replay(r, err)) return -1;
    if (!r->snap.weights) return error_set(err, "replay: --snapshot-every 0 leaves no state to replay from");
    long first_nan = query_long(r->db.db, "SELECT MIN(step) FROM events WHERE run_id = ?1 AND kind = 'nan'",
                                r->db.run_id, -1);
    long last = query_long(r->db.db, "SELECT MAX(step) FROM steps WHERE run_id = ?1", r->db.run_id, 0);
    if (*step == 0) *step = first_nan > 0 ? first_nan : last;
    if (*step <= r->state.step || *step > last)
        return error_set(err, "replay: step %ld is not covered: the checkpoint holds the state after step %ld and the "
                              "run's last step is %ld, so steps %ld..%ld can be replayed", *step, r->state.step, last,
                         r->state.step + 1, last);
    snapshot_take(&r->snap, &r->m, &r->state);
    return 0;
}

int train_replay(const train_options *o, long step, int precision, const train_callbacks *callbacks, long *replayed,
                 char *message, size_t message_size, error *err)
{
    run r;
    int rc = open_replay_step(&r, o, callbacks, &step, err);
    if (rc == 0) {
        nonfinite_event e;
        int have = load_event(&r, step, &e);
        replay_request q = {.step = step, .trigger = "command", .precision = (replay_precision)precision,
                            .original = have ? &e : NULL, .directory = r.dir};
        q.has_original_loss = query_double(r.db.db, "SELECT data_loss FROM steps WHERE run_id = ?1 AND step = ?2",
                                           r.db.run_id, step, &q.original_loss);
        replay_outcome out;
        rc = replay_step(&r.replay, &q, &out, err);
        if (rc == 0) {
            snprintf(message, message_size, "%s", out.message);
            if (out.note[0] && r.cb->warning) r.cb->warning(r.cb->context, out.note);
            *replayed = step;
        }
    }
    close_run(&r);
    return rc;
}

/* A failed run (a full disk) may have left committed steps in run.db-wal
 * that closing could not fold back for want of space: the message says
 * so, and how to recover them, instead of leaving the user to guess. */
static void wal_left_behind(const char *dir, error *err)
{
    char wal[4200];
    struct stat st;
    snprintf(wal, sizeof wal, "%s/run.db-wal", dir);
    if (!dir[0] || stat(wal, &st) != 0 || st.st_size == 0) return;
    size_t n = strlen(err->message);
    snprintf(err->message + n, sizeof err->message - n,
             "; the last committed steps are in %s: keep it beside run.db (nanprobe report reads both, and "
             "`sqlite3 %s/run.db 'PRAGMA wal_checkpoint(TRUNCATE)'` folds it in once there is space)", wal, dir);
}

int train_ladder(const train_options *o, long step, const precision_kind *precisions, int count,
                 const train_callbacks *callbacks, long *replayed, ladder_rung *rungs, int *rung_count, error *err)
{
    run r;
    int rc = open_replay_step(&r, o, callbacks, &step, err);
    if (rc == 0) {
        int n = ladder_run(&r.replay, step, precisions, count, replay_loss_scale(&r, step), rungs, err);
        rc = n < 0 ? -1 : write_ladder(&r, step, rungs, n, err);
        *rung_count = n;
        *replayed = step;
    }
    close_run(&r);
    return rc;
}

int train_run(const train_options *o, int argc, char *const *argv, int resume, const train_callbacks *callbacks,
              train_result *result, error *err)
{
    static const train_callbacks silent;
    memset(result, 0, sizeof *result);
    stop_requested = 0;
    if (o->threads > 0) omp_set_num_threads(o->threads);
    openblas_set_num_threads(omp_get_max_threads());

    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.argc = argc;
    r.argv = argv;
    r.cb = callbacks ? callbacks : &silent;
    r.status = TRAIN_COMPLETED;
    r.nan_budget = -1;
    r.dp.comm = o->comm;
    if (open_run(&r, resume, err)) {
        result->bad_option = r.bad_option;
        close_run(&r);
        return -1;
    }
    snprintf(result->database, sizeof result->database, "%s/run.db", r.dir);
    announce_setup(&r, result->database, resume);

    long long run_start = now_microseconds();
    int rc = 0;
    /* A non-finite value before any step came with the checkpoint. */
    const int loaded_nonfinite = probe_first_event(r.probes) != NULL;
    if (loaded_nonfinite) {
        run_note(&r, "NaN sentinel: %s", probe_first_event(r.probes)->message);
        r.status = TRAIN_NAN;
    }
    while (rc == 0 && !loaded_nonfinite && r.state.epoch < o->epochs) rc = run_epoch(&r, err);
    rc = rc < 0 ? -1 : 0;
    finish_run(&r, rc, run_start, result, err);
    close_run(&r);
    if (rc) wal_left_behind(r.dir, err);
    return rc;
}
