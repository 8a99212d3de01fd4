/* replay_driver.c: the run's side of a replay (replay.h, ladder.h): the
 * stepper (run_step, unwatched), snapshots before steps, --shadow-every,
 * the first non-finite value's step replayed during training, and the
 * `nanprobe replay` entry points. */
#include "run_state.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_ladder.h"
#include "db_read.h"
#include "finite.h"
#include "ladder.h"

/* The loss scale step `step` ran with (steps.loss_scale), else Keras' initial one. */
static float replay_loss_scale(run *r, long step)
{
    double scale;
    if (db_read_step_value(&r->db, step, DB_STEP_LOSS_SCALE, &scale) && scale > 0)
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

int run_replay_open(run *r, error *err)
{
    const train_options *o = r->o;
    r->snap.step = -1;
    if (data_parallel_active(&r->dp)) return 0;
    if (o->replay.snapshot_every > 0 && snapshot_init(&r->snap, &r->m, err)) return -1;
    r->stepper = (replay_stepper){.context = r, .run_step = replay_run_step, .explain_input = replay_explain_input};
    r->replay = (replay_session){.m = &r->m, .state = &r->state, .snap = &r->snap, .stepper = &r->stepper,
                                 .adam = r->adam, .l2 = (float)o->model.l2, .threads = omp_get_max_threads(),
                                 .db = data_parallel_writer(&r->dp) ? &r->db : NULL};
    return 0;
}

/* Before a step: keep the state every --snapshot-every steps and at every
 * epoch start (so a replay never reruns across validation and callbacks). */
void run_keep_snapshot(run *r)
{
    if (!r->snap.weights) return;
    if (r->snap.step < 0 || r->state.epoch_step == 0 || r->state.step % r->o->replay.snapshot_every == 0) {
        double start = omp_get_wtime();
        snapshot_take(&r->snap, &r->m, &r->state);
        r->snapshot_seconds += omp_get_wtime() - start;
    }
}

/* --shadow-every N: steps N, 2N, ... also run in float64; not once the
 * run has a non-finite value (no float32 value to compare with), nor at a
 * step with a planted fault (the float64 model loads the state before the
 * probes plant it). */
int run_shadow_due(run *r)
{
    const train_options *o = r->o;
    const long step = r->state.step + 1;
    if (o->replay.shadow_every <= 0 || data_parallel_active(&r->dp) || probe_first_event(r->probes) ||
        step % o->replay.shadow_every != 0)
        return 0;
    for (int i = 0; i < o->probes.injection_count; i++)
        if (r->injections[i].step == step) return 0;
    return 1;
}

int run_shadow_end(run *r, int samples, error *err)
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
        ladder_row row = {.step = step, .precision = g->precision, .failed = g->failed,
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
void run_replay_first_event(run *r, const nonfinite_event *e)
{
    if (!r->snap.weights || r->snap.step < 0 || r->snap.step >= e->step) return;
    replay_request q = {.step = e->step, .trigger = REPLAY_TRIGGER_NAN, .precision = REPLAY_BOTH, .original = e,
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
    if (r->o->model.precision != PRECISION_FLOAT32 && !data_parallel_active(&r->dp)) ladder_first_event(r, e->step);
}

/* The run of o->out opened for a replay of *step (0: the first NaN's, else the last step). */
static int open_replay_step(run *r, const train_options *o, const train_callbacks *callbacks, long *step, error *err)
{
    run_init(r, o, callbacks);
    if (run_open_for_replay(r, err)) return -1;
    if (!r->snap.weights) return error_set(err, "replay: --snapshot-every 0 leaves no state to replay from");
    long first_nan = db_read_first_nan_step(&r->db), last = db_read_last_step(&r->db);
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
        int have = db_read_nan_event(&r.db, step, r.m.layer_count, &e);
        replay_request q = {.step = step, .trigger = REPLAY_TRIGGER_COMMAND, .precision = (replay_precision)precision,
                            .original = have ? &e : NULL, .directory = r.dir};
        q.has_original_loss = db_read_step_value(&r.db, step, DB_STEP_DATA_LOSS, &q.original_loss);
        replay_outcome out;
        rc = replay_step(&r.replay, &q, &out, err);
        if (rc == 0) {
            snprintf(message, message_size, "%s", out.message);
            if (out.note[0] && r.cb->warning) r.cb->warning(r.cb->context, out.note);
            *replayed = step;
        }
    }
    run_close(&r);
    return rc;
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
    run_close(&r);
    return rc;
}
