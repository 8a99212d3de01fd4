/* run_open.c: opening a run (a new one, a resumed one, or one to replay)
 * and closing it: the locked directory, data, model, the checkpoint, the
 * database with the run's settings, probes and replay; the defaults of
 * train_options (train.h). */
#include "run_state.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "callbacks.h"
#include "db_validation.h"
#include "keras.h"
#include "model_precision.h"
#include "version.h"

void train_options_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->model.depth = 34;
    o->model.width = 64;
    o->data.clip[0] = 16;
    o->data.clip[1] = 112;
    o->data.clip[2] = 112;
    o->data.clip[3] = 3;
    o->model.classes = 10;
    o->data.batch = 8;
    o->threads = 0; /* all cores */
    o->model.init = INIT_HE_NORMAL;
    o->model.l2 = 1e-4;
    o->fit.lr = 1e-3;
    o->fit.epochs = 5;
    o->data.source = "synthetic";
    o->data.train_clips = 320;
    o->data.val_clips = 64;
    o->data.normalize = NORMALIZE_SCALE;
    o->seed = 1;
    o->fit.plateau_factor = 0.1;
    o->fit.plateau_patience = 1;
    o->fit.plateau_min_lr = 1e-4;
    o->fit.plateau_min_delta = 1e-4;
    o->fit.early_stopping = -1;
    o->out = NULL;
    o->probes.statistics = 1;
    o->probes.probe_every = 1;
    o->probes.ring_steps = 32;
    o->probes.on_nan_continue = -1;
    o->replay.snapshot_every = TRAIN_SNAPSHOT_EVERY;
    o->max_steps = -1; /* no limit */
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
    const train_model_options *m = &o->model;
    const train_data_options *d = &o->data;
    const train_fit_options *f = &o->fit;
    const train_probe_options *p = &o->probes;
    json_t *c = json_pack(
        "{s:i, s:i, s:[i,i,i,i], s:i, s:i, s:i, s:s, s:f, s:f, s:i, s:I, s:o, s:I, s:I, s:s, s:I, "
        "s:{s:f, s:i, s:f, s:f}, s:i, s:i, s:i, s:i, s:I, s:i, s:o, s:{s:f, s:f, s:f}, s:s, s:s}",
        "depth", m->depth, "width", m->width, "clip", d->clip[0], d->clip[1], d->clip[2], d->clip[3], "classes",
        m->classes, "batch", d->batch, "threads", o->threads, "init",
        initializer_names[m->init], "l2", m->l2, "lr", f->lr, "epochs", f->epochs,
        "steps_per_epoch", (json_int_t)f->steps_per_epoch, "data", json_text(d->source), "train_clips",
        (json_int_t)d->train_clips, "val_clips", (json_int_t)d->val_clips, "normalize",
        normalize_name((normalize_kind)d->normalize), "seed", (json_int_t)o->seed, "reduce_lr", "factor",
        f->plateau_factor, "patience", f->plateau_patience, "min_lr", f->plateau_min_lr, "min_delta",
        f->plateau_min_delta, "early_stopping", f->early_stopping, "probes", p->statistics, "probe_every",
        p->probe_every, "ring_steps", p->ring_steps, "on_nan_continue", (json_int_t)p->on_nan_continue,
        "injections", p->injection_count, "name", json_text(o->name ? o->name : ""), "adam", "beta1", 0.9, "beta2", 0.999,
        "epsilon", 1e-07, "precision", precision_names[m->precision], "bn_variance",
        bn_variance_names[m->bn_variance]);
    json_t *blas = o->blas_json ? json_loads(o->blas_json, 0, NULL) : NULL;
    if (c && blas) json_object_set_new(c, "blas", blas);
    else json_decref(blas);
    char *text = c ? json_dumps(c, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(c);
    return text;
}

void run_note(run *r, const char *format, ...)
{
    if (!r->cb->note) return;
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    r->cb->note(r->cb->context, text);
}

int run_write_event(run *r, event_kind kind, const char *message, double old_value, double new_value, error *err)
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

/* --from-keras: the file's weights, moving statistics and Adam state in
 * place of model_init_weights.  Keras' iterations become Adam's t and the
 * step count, so run.db's steps continue the Keras run's. */
static int init_from_keras(run *r, error *err)
{
    keras_load_result k;
    if (keras_load(r->o->model.from_keras, &r->m, &k, err)) return -1;
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
    snprintf(message, sizeof message, "initialised from the Keras checkpoint %s at iteration %ld",
             r->o->model.from_keras, r->state.step);
    if (run_write_event(r, EVENT_KERAS_IMPORT, message, NAN, NAN, err)) return -1;
    return probe_check_loaded(r->probes, r->state.step, r->state.epoch + 1, err);
}

void run_init(run *r, const train_options *o, const train_callbacks *callbacks)
{
    static const train_callbacks silent;
    if (o->threads > 0) omp_set_num_threads(o->threads);
    openblas_set_num_threads(omp_get_max_threads());
    memset(r, 0, sizeof *r);
    r->o = o;
    r->cb = callbacks ? callbacks : &silent;
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
    dataset_config dc = {.source = o->data.source, .classes = o->model.classes, .train_clips = o->data.train_clips,
                         .val_clips = o->data.val_clips, .seed = (uint64_t)o->seed,
                         .normalize = (normalize_kind)o->data.normalize, .video = &o->data.video};
    memcpy(dc.clip, o->data.clip, sizeof dc.clip);
    if (dataset_open(&r->data, &dc, err)) return -1;
    r->train_size = dataset_size(r->data, SPLIT_TRAIN);
    r->val_size = dataset_size(r->data, SPLIT_VALIDATION);
    if (r->train_size < 1) return error_set(err, "--data %s: no training clips", o->data.source);
    r->steps_per_epoch =
        o->fit.steps_per_epoch ? o->fit.steps_per_epoch : (r->train_size + o->data.batch - 1) / o->data.batch;
    if (data_parallel_check(&r->dp, o->data.batch, o->fit.steps_per_epoch, r->train_size, err)) return -1;

    model_config mc = {.depth = o->model.depth, .width = o->model.width, .classes = o->model.classes,
                       .batch = data_parallel_capacity(&r->dp, o->data.batch), .threads = omp_get_max_threads()};
    dataset_clip_shape(r->data, mc.clip);
    if (model_build(&r->m, &mc, err)) return -1;
    r->model_built = 1;
    if (model_set_precision(&r->m, (precision_kind)o->model.precision, err)) return -1;
    model_set_bn_variance(&r->m, (bn_variance_kind)o->model.bn_variance);
    loss_scale_init(&r->ls);
    /* --inject sample=K is a position in the global batch, which under
     * mpirun is larger than this rank's model batch: check it against that. */
    r->m.config.batch = o->data.batch;
    for (int i = 0; i < o->probes.injection_count; i++)
        if (injection_parse(o->probes.injections[i], &r->m, &r->injections[i], err)) {
            r->bad_option = 1;
            return -1;
        }
    r->m.config.batch = mc.batch;

    r->order = malloc(sizeof(long) * (size_t)r->train_size);
    r->batch_ids = malloc(sizeof(long) * (size_t)o->data.batch);
    r->next_ids = malloc(sizeof(long) * (size_t)o->data.batch);
    r->labels = malloc(sizeof(int) * (size_t)o->data.batch);
    r->sample_text = malloc((size_t)o->data.batch * 21 + 1);
    r->param_stats = o->probes.statistics ? calloc((size_t)r->m.param_count, sizeof(parameter_step_stats)) : NULL;
    if (!r->order || !r->batch_ids || !r->next_ids || !r->labels || !r->sample_text ||
        (o->probes.statistics && !r->param_stats))
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
    if (o->model.from_keras) {
        if (init_from_keras(r, err)) return -1;
    } else {
        model_init_weights(&r->m, o->model.init, (uint64_t)o->seed);
    }
    r->state.epoch = o->fit.initial_epoch;
    r->state.learning_rate = (float)o->fit.lr;
    r->state.kernel_squares = model_l2_penalty(&r->m, 1.0f);
    reduce_lr_init(&r->state.plateau, o->fit.plateau_factor, o->fit.plateau_patience, o->fit.plateau_min_lr,
                   o->fit.plateau_min_delta);
    early_stopping_init(&r->state.early, o->fit.early_stopping, 0.0);
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
                   .clip = clip, .init = initializer_names[o->model.init],
                   .data = o->data.source, .normalize = normalize_name((normalize_kind)o->data.normalize),
                   .config_json = config, .depth = o->model.depth, .width = o->model.width, .classes = o->model.classes,
                   .batch = o->data.batch, .probe_every = o->probes.probe_every, .l2 = o->model.l2, .lr = o->fit.lr,
                   .seed = o->seed, .identity = r->state.identity};
    int rc = db_writer_create(&r->db, database, &row, &r->m, err);
    free(config);
    return rc;
}

int run_open(run *r, int resume, error *err)
{
    const train_options *o = r->o;
    const int writer = data_parallel_writer(&r->dp); /* under mpirun the others write nothing */
    if (open_place(r, resume, err) || open_data_and_model(r, err)) return -1;
    const char *database = r->place.database;
    if (resume) {
        if (checkpoint_load(r->dir, &r->state, &r->m, err)) return -1;
        if (o->fit.lr_overrides_checkpoint) r->state.learning_rate = (float)o->fit.lr;
        if (writer && db_writer_resume(&r->db, database, r->state.step, r->state.identity, err)) return -1;
        /* the epoch in progress is validated again (unless it had ended) */
        if (writer && db_validation_resume(&r->db, r->state.step, r->state.epoch_step > 0, err)) return -1;
    } else if (start_new_run(r, writer ? database : NULL, err)) {
        return -1;
    }
    if (clip_provenance_open(&r->provenance, r->data, writer ? &r->db : NULL, o->data.batch, resume, err)) return -1;
    probe_config pc = {.statistics = o->probes.statistics, .probe_every = o->probes.probe_every,
                       .ring_steps = o->probes.ring_steps, .l2 = (float)o->model.l2, .injections = r->injections,
                       .injection_count = o->probes.injection_count, .input_capacity = o->data.batch};
    if (probe_open(&r->probes, &r->m, writer ? &r->db : NULL, &pc, err) ||
        probe_split_kernel_taps(r->probes, r->param_stats, err))
        return -1;
    if (data_parallel_open(&r->dp, &o->dist, o->data.batch, &r->m, r->probes, r->injections,
                           o->probes.injection_count, err))
        return -1;
    if (!resume && o->model.from_keras && log_keras_start(r, err)) return -1;
    if (run_replay_open(r, err)) return -1;
    char message[128];
    if (resume) snprintf(message, sizeof message, "resumed from the checkpoint at step %ld", r->state.step);
    else snprintf(message, sizeof message, "checkpoint at step %ld (the initial weights)", r->state.step);
    return run_write_event(r, resume ? EVENT_RESUMED : EVENT_CHECKPOINT, message, NAN, NAN, err);
}

void run_close(run *r)
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

void run_announce_setup(run *r, const char *database, int resume)
{
    const train_options *o = r->o;
    if (!r->cb->setup) return;
    train_setup s = {.depth = o->model.depth, .width = o->model.width, .batch = o->data.batch,
                     .threads = omp_get_max_threads(),
                     .trainable_count = r->m.trainable_count, .data = dataset_describe(r->data),
                     .init = initializer_names[o->model.init], .database = database,
                     .blas = o->blas, .resumed = resume};
    r->cb->setup(r->cb->context, &s);
}

/* The run, its data and model, the checkpoint's state and the database,
 * opened for a replay (nothing of the run is changed). */
int run_open_for_replay(run *r, error *err)
{
    if (open_place(r, 1, err) || open_data_and_model(r, err)) return -1;
    if (checkpoint_load(r->dir, &r->state, &r->m, err)) return -1;
    if (db_writer_attach(&r->db, r->place.database, r->state.identity, err)) return -1;
    return run_replay_open(r, err);
}

/* A failed run (a full disk) may have left committed steps in run.db-wal
 * that closing could not fold back for want of space: the message says
 * so, and how to recover them, instead of leaving the user to guess. */
void run_wal_left_behind(const char *dir, error *err)
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
