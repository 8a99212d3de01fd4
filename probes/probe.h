/* probe.h: the probes hooked into every layer, every step, and the sentinel
 * that names the first non-finite value.
 *
 * A probe session attaches to a model as its layer hook.  Each training step
 * it takes the statistics of the input batch (per clip too), every layer's
 * output and the gradient reaching it, BatchNorm's batch and moving
 * statistics, and (through the fused optimizer pass) every parameter's value,
 * gradient, applied update and Adam moments.  Each tensor's statistics are
 * also its non-finite check, so the sentinel costs nothing extra: the first
 * tensor, in execution order, that holds a NaN or Inf becomes the event,
 * with the step, layer, pass, tensor, first bad element and whether every
 * input of that tensor was finite (the origin) or not (propagation).
 *
 * With --probe-every K the statistics of every step are still computed (the
 * sentinel needs them) but written only every K steps; the last W steps are
 * kept in a ring and written in full when a non-finite value appears, so the
 * run-up to a NaN is always complete in the database. */
#ifndef NANPROBE_PROBE_H
#define NANPROBE_PROBE_H

#include "db.h"
#include "error.h"
#include "inject.h"
#include "model.h"
#include "optimizer.h"

typedef enum probe_pass {
    PASS_INPUT,
    PASS_FORWARD,
    PASS_MOVING_STATISTICS,
    PASS_LOSS,
    PASS_BACKWARD,
    PASS_OPTIMIZER_STATE,
    PASS_UPDATE,
    PASS_VALIDATION,
} probe_pass;

const char *probe_pass_name(probe_pass pass);

/* The first non-finite value of a run. */
typedef struct nonfinite_event {
    long step;
    int epoch;
    int layer;
    probe_pass pass;
    char tensor[32];         /* as in the stats table: output, output_grad, kernel.grad, ... */
    const char *value_class; /* "nan", "+inf", "-inf" */
    long long element;       /* flat index of the first bad element */
    int sample, d, h, w, channel; /* -1 where the tensor has no such axis */
    long sample_id;          /* dataset id of the clip at `sample`, -1 if none */
    int is_origin;
    char message[640];
} nonfinite_event;

typedef struct probe_config {
    int statistics;   /* 0: probes off (only the loss is checked; for benchmarks) */
    int probe_every;  /* write statistics every K steps (K >= 1) */
    int ring_steps;   /* W: steps kept for the flush on a non-finite value */
    float l2;         /* lambda, for the L2 part of kernel gradients */
    const injection *injections;
    int injection_count;
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
/* Writes the step (its statistics now, later from the ring, or not at all)
 * in one transaction.  row->probed is filled in here. */
int probe_step_end(probe_session *ps, step_row *row, error *err);

/* Validation runs in inference mode: outputs are only checked. */
void probe_validation_begin(probe_session *ps, const long *sample_ids, int batch);
void probe_validation_end(probe_session *ps);

/* The first non-finite event of the run, NULL while there is none. */
const nonfinite_event *probe_first_event(const probe_session *ps);

/* Seconds spent in probes (statistics, checks) and in database writes. */
double probe_seconds(const probe_session *ps);
double probe_db_seconds(const probe_session *ps);

#endif
