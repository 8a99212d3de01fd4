/* probe.h: the probes hooked into every layer, every step, and the sentinel
 * that names the first non-finite value.
 *
 * A probe session attaches to a model as its layer hook.  Each training step
 * it takes the statistics of the input batch (per clip too), every layer's
 * output and the gradient reaching it, BatchNorm's batch and moving
 * statistics, and (through the fused optimizer pass) every parameter's value,
 * gradient, applied update and Adam moments, under the names of
 * run_names.h.  Each tensor's statistics are also the sentinel's check
 * (sentinel.h), so it costs nothing extra.  With --probe-every K the last W
 * steps are kept in a ring (probe_ring.h) and written in full when a
 * non-finite value appears, so the run-up to a NaN is always complete. */
#ifndef NANPROBE_PROBE_H
#define NANPROBE_PROBE_H

#include "db.h"
#include "error.h"
#include "inject.h"
#include "model.h"
#include "optimizer.h"
#include "sentinel.h"

typedef struct probe_config {
    int statistics;   /* 0: probes off (only the loss is checked; for benchmarks) */
    int probe_every;  /* write statistics every K steps (K >= 1) */
    int ring_steps;   /* W: steps kept for the flush on a non-finite value */
    float l2;         /* lambda, for the L2 part of kernel gradients */
    const injection *injections;
    int injection_count;
    int input_capacity; /* clips per step the records hold (0: the model's batch); a data-parallel
                           run's rank 0 holds the whole global batch's */
} probe_config;

typedef struct probe_session probe_session;

/* Attaches to m (as its hook) and writes through db (may be NULL in tests). */
int probe_open(probe_session **out, model *m, db_writer *db, const probe_config *config, error *err);
void probe_close(probe_session *ps);

/* The batch is in model_input(); ids and labels are per position.  Applies
 * the step's weight and input injections, then probes the input. */
void probe_step_begin(probe_session *ps, long step, int epoch, const long *sample_ids, const int *labels, int batch);
void probe_loss(probe_session *ps, double data_loss, const int *labels);
/* After the optimizer: parameter statistics (one per model parameter, or
 * NULL when statistics are off) and their checks. */
void probe_after_update(probe_session *ps, const parameter_step_stats *stats, long t);
/* Tells the fused Adam pass which taps of each kernel meet data and which
 * only meet 'same' padding (stats[i].taps), so that the mechanism metrics
 * need no pass of their own.  Once, after probe_open, with the array that
 * probe_after_update will get.  Returns -1 only when out of memory. */
int probe_split_kernel_taps(probe_session *ps, parameter_step_stats *stats, error *err);

/* Writes the step (its statistics now, later from the ring, or not at all)
 * in one transaction.  row->probed is filled in here. */
int probe_step_end(probe_session *ps, step_row *row, error *err);
/* Writes every step still pending in the ring (with --probe-every K > 1).
 * Called before each checkpoint: a run resumed from it starts with an
 * empty ring, and the lead-up to a NaN soon after the resume reaches back
 * into steps only the previous process held. */
int probe_flush_ring(probe_session *ps, error *err);

/* Validation runs in inference mode (probe_validation.c): per batch,
 * begin before the forward pass and end after it; around the whole pass,
 * epoch_begin (the last training step, the epoch from 1) and epoch_end,
 * which writes its rows and, when a non-finite value appeared, its 'nan'
 * event (pass validation, with val_batch), and gives that event (else NULL).
 * Each validation has its own sentinel: the training sentinel
 * (probe_first_event) still names the first training NaN afterwards. */
void probe_validation_epoch_begin(probe_session *ps, long step, int epoch);
void probe_validation_begin(probe_session *ps, const long *sample_ids, int batch);
void probe_validation_end(probe_session *ps);
int probe_validation_epoch_end(probe_session *ps, const nonfinite_event **event, error *err);
/* Seconds the validation probes took (statistics, BatchNorm comparison, rows). */
double probe_validation_seconds(const probe_session *ps);

/* Checks every parameter value and Adam moment as loaded from a checkpoint
 * (--from-keras), before any step: a non-finite value becomes the run's
 * first event (pass "loaded", at step `step`) and is written at once.
 * Returns -1 only when the database write fails. */
int probe_check_loaded(probe_session *ps, long step, int epoch, error *err);

/* Dynamic loss scaling (mixed_float16): with `on`, this step's non-finite
 * gradients in the backward pass are absorbed, not the run's event (the
 * step is skipped); probe_absorbed is the first of them, NULL if none. */
void probe_absorb_backward(probe_session *ps, int on);
const nonfinite_event *probe_absorbed(const probe_session *ps);

/* The first non-finite event of the run, NULL while there is none. */
const nonfinite_event *probe_first_event(const probe_session *ps);

/* Data-parallel runs (src/dist): before probe_step_end, the ranks merge
 * the current step's record into rank 0's and agree on the sentinel.
 * probe_current_record is NULL while statistics are off; probe_new_event
 * is this process's first event when it was found in the current step (or
 * the validation since); probe_adopt_event makes the event the ranks agreed
 * on the run's first, to be written with this step. */
struct step_record *probe_current_record(probe_session *ps);
const nonfinite_event *probe_new_event(const probe_session *ps);
void probe_adopt_event(probe_session *ps, const nonfinite_event *event);

/* Seconds spent in probes (statistics, checks) and in database writes. */
double probe_seconds(const probe_session *ps);
double probe_db_seconds(const probe_session *ps);

#endif
