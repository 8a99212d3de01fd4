/* train.c: the training loop (see train.h) and its one step, run_step,
 * which the replay runs too (replay_driver.c). */
#include "run_state.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callbacks.h"
#include "loss.h"

static volatile sig_atomic_t stop_requested;

void train_request_stop(void)
{
    stop_requested = 1;
}

run_status train_run_status(train_status status)
{
    static const run_status stored[] = {
        [TRAIN_COMPLETED] = RUN_COMPLETED,     [TRAIN_EARLY_STOPPED] = RUN_EARLY_STOPPED, [TRAIN_NAN] = RUN_NAN,
        [TRAIN_INTERRUPTED] = RUN_INTERRUPTED, [TRAIN_MAX_STEPS] = RUN_COMPLETED,
    };
    _Static_assert(sizeof stored / sizeof stored[0] == TRAIN_STATUS_COUNT, "one run_status per train_status");
    return stored[status];
}

const char *train_status_name(train_status status)
{
    return run_status_names[train_run_status(status)];
}

#define TIMING_WARMUP_STEPS 2

static long long now_microseconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
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
        return run_write_event(r, EVENT_CHECKPOINT_FAILED, message, NAN, NAN, err);
    }
    snprintf(message, sizeof message, "checkpoint at step %ld (%s)", r->state.step, why);
    return run_write_event(r, EVENT_CHECKPOINT, message, NAN, NAN, err);
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
    const int batch = r->o->data.batch;
    int n = batch;
    if (r->o->fit.steps_per_epoch == 0) {
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
    size_t used = 0, size = (size_t)r->o->data.batch * 21 + 1;
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
    const int classes = r->o->model.classes, chunk = r->m.config.batch;
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
    out->loss = loss_sum / (double)r->val_size + r->o->model.l2 * r->state.kernel_squares;
    out->accuracy = (double)correct / (double)r->val_size;
    return 0;
}

/* ------------------------------------------- the step (the replay runs it too) */

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
    if (next_epoch >= r->o->fit.epochs || (r->o->max_steps > 0 && r->state.step + 1 >= r->o->max_steps)) return 0;
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
    if (ps->skipped && run_write_event(r, EVENT_STEP_SKIPPED, ps->message, ps->scale, ls->scale, err)) return -1;
    if (!ps->skipped && ps->change == LOSS_SCALE_GREW &&
        run_write_event(r, EVENT_LOSS_SCALE_GREW, ps->message, ps->scale, ls->scale, err))
        return -1;
    if (r->o->model.bn_variance == BN_VARIANCE_ONE_PASS && precision_bn_variance_message(&r->m, step, message, sizeof message))
        return run_write_event(r, EVENT_BN_VARIANCE_NEGATIVE, message, NAN, NAN, err);
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
    if (obs->dp) shard = data_parallel_begin_step(obs->dp, n, r->injections, r->o->probes.injection_count);
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
    for (int i = 0; i < r->o->probes.injection_count; i++)
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
int run_step(run *r, loss_scale *ls, const step_observers *obs, step_outcome *out, error *err)
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
    loss_result lr = loss_from_logits(n, o->model.classes, model_logits(&r->m), r->labels, logits_gradient);
    out->batch.loss = lr.loss;
    if (obs->probes) probe_loss(obs->probes, lr.loss, r->labels);
    if (obs->dp) data_parallel_weight_gradient(obs->dp, logits_gradient, o->model.classes, out->global_batch);
    const int emulated = r->m.precision != PRECISION_FLOAT32;
    if (emulated) precision_before_backward(&r->m, obs->probes, ls, &out->precision);
    model_backward(&r->m);
    if (obs->dp && data_parallel_after_backward(obs->dp, &r->m, err)) return -1;
    /* The step's penalty uses the weights its forward pass used. */
    out->penalty = o->model.l2 * r->state.kernel_squares;
    double optimizer_start = omp_get_wtime();
    int update = !emulated || precision_after_backward(&r->m, obs->probes, ls, step, &out->precision);
    if (update)
        r->state.kernel_squares = optimizer_step(&r->m, &r->adam, r->state.learning_rate, ++r->state.adam_t,
                                                 (float)o->model.l2, obs->param_stats);
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
        run_replay_first_event(r, e);
        r->status = TRAIN_NAN;
        if (starts) r->nan_budget = o->probes.on_nan_continue < 0 ? 0 : o->probes.on_nan_continue;
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
        rc = run_write_event(r, EVENT_INTERRUPTED, "interrupted (SIGINT/SIGTERM) after the current step", NAN, NAN,
                             err);
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
        run_keep_snapshot(r);
        const int shadowed = run_shadow_due(r);
        double shadow_start = omp_get_wtime();
        if (shadowed && replay_shadow_begin(&r->replay, err)) return -1;
        double step_start = omp_get_wtime();
        if (train_step(r, &out, err)) return -1;
        double step_end = omp_get_wtime();
        if (shadowed && run_shadow_end(r, out.samples, err)) return -1;
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
        if (run_write_event(r, EVENT_LR_REDUCED, message, old_lr, r->state.learning_rate, err)) return -1;
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
        if (r->nan_budget < 0) r->nan_budget = r->o->probes.on_nan_continue < 0 ? 0 : r->o->probes.on_nan_continue;
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
                 r->o->fit.early_stopping);
        run_note(r, "Epoch %d: early stopping.", epoch + 1);
        r->status = TRAIN_EARLY_STOPPED;
        if (run_write_event(r, EVENT_EARLY_STOP, message, NAN, NAN, err)) return -1;
    }
    if (r->status != TRAIN_NAN && save_checkpoint(r, "end of epoch", err)) return -1;
    return stop_early || r->nan_budget == 0;
}

/* One epoch (or what is left of it after a resume).  Returns -1 on
 * failure, 1 when the run ends here, 0 to go on with the next epoch. */
static int run_epoch(run *r, error *err)
{
    if (r->cb->epoch_begin)
        r->cb->epoch_begin(r->cb->context, r->state.epoch + 1, r->o->fit.epochs, r->steps_per_epoch);
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
        db_set_status(&r->db, rc ? RUN_FAILED : train_run_status(r->status), rc ? &ignored : err);
}

int train_run(const train_options *o, int argc, char *const *argv, int resume, const train_callbacks *callbacks,
              train_result *result, error *err)
{
    memset(result, 0, sizeof *result);
    stop_requested = 0;
    run r;
    run_init(&r, o, callbacks);
    r.argc = argc;
    r.argv = argv;
    r.status = TRAIN_COMPLETED;
    r.nan_budget = -1;
    r.dp.comm = o->dist.comm;
    if (run_open(&r, resume, err)) {
        result->bad_option = r.bad_option;
        run_close(&r);
        return -1;
    }
    snprintf(result->database, sizeof result->database, "%s/run.db", r.dir);
    run_announce_setup(&r, result->database, resume);

    long long run_start = now_microseconds();
    int rc = 0;
    /* A non-finite value before any step came with the checkpoint. */
    const int loaded_nonfinite = probe_first_event(r.probes) != NULL;
    if (loaded_nonfinite) {
        run_note(&r, "NaN sentinel: %s", probe_first_event(r.probes)->message);
        r.status = TRAIN_NAN;
    }
    while (rc == 0 && !loaded_nonfinite && r.state.epoch < o->fit.epochs) rc = run_epoch(&r, err);
    rc = rc < 0 ? -1 : 0;
    finish_run(&r, rc, run_start, result, err);
    run_close(&r);
    if (rc) run_wal_left_behind(r.dir, err);
    return rc;
}
