/* probe_session.h: the probe session's state, private to the probe_*.c
 * files that share it (probe.c: the session and its steps; probe_hooks.c:
 * the layer hooks; probe_metrics.c: BatchNorm, loss and parameter metrics;
 * probe_inject.c: the fault drill at the hook points).  Nothing outside
 * probes/ includes it. */
#ifndef NANPROBE_PROBE_SESSION_H
#define NANPROBE_PROBE_SESSION_H

#include "probe.h"
#include "run_names.h"
#include "probe_ring.h"

/* Events of the current step, written with it. */
#define MAX_STEP_EVENTS 16

struct probe_session {
    model *m;
    db_writer *db;
    probe_config config;
    probe_ring ring;
    step_record *current; /* this step's record; NULL while statistics are off */

    long step;
    int epoch;
    const long *sample_ids;
    const int *labels;
    int batch;
    int validating;

    /* Sentinel bookkeeping: which tensors of this step are finite so far. */
    char *forward_ok;  /* per layer: its output (and BN statistics) */
    char *gradient_ok; /* per layer: the gradient reaching its output */
    char *value_ok;    /* per parameter: its value, carried across steps */
    char *moments_ok;  /* per parameter: Adam m and v, carried across steps */
    int *consumers;    /* per layer, up to 4 consuming layers (-1 = none) */
    unsigned char *tap_masks; /* per parameter, KERNEL_TAPS_MAX: its data taps (probe_mechanism.c) */
    int forward_all_ok, loss_ok;
    sentinel sentinel;
    /* The validation pass (probe_validation.c): its own sentinel, so the
     * first training NaN is still named after a validation one. */
    sentinel val_sentinel;
    struct validation_record *validation;

    event_row events[MAX_STEP_EVENTS];
    char event_messages[MAX_STEP_EVENTS][640];
    int event_count;

    double seconds, db_seconds;
    double validation_seconds; /* the validation's share of seconds and db_seconds */
};

/* probe.c */
event_row *probe_add_event(probe_session *ps, event_kind kind, int layer_index);
void probe_fill_nan_event(probe_session *ps, const nonfinite_event *f);

/* probe_validation.c */
typedef struct validation_record validation_record;
int probe_validation_open(probe_session *ps, error *err);
void probe_validation_close(probe_session *ps);
void probe_validation_note_training(probe_session *ps, int layer_index);
int probe_validation_batch_begin(probe_session *ps);
void probe_validation_layer(probe_session *ps, int layer_index, const tensor_stats *s);
void probe_validation_batch_end(probe_session *ps);

/* The sentinel of the pass in progress. */
static inline sentinel *probe_active_sentinel(probe_session *ps)
{
    return ps->validating ? &ps->val_sentinel : &ps->sentinel;
}

/* probe_hooks.c */
void probe_hook(void *context, int layer_index, model_event event);
void probe_injection_only_hook(void *context, int layer_index, model_event event);
void probe_input(probe_session *ps);

/* probe_metrics.c */
void probe_batchnorm(probe_session *ps, int layer_index, int inputs_ok);
void probe_output_saturation(probe_session *ps, const float *logits);
void probe_parameter_metrics(probe_session *ps, const parameter *p, const parameter_step_stats *s);

/* probe_mechanism.c (issue 23) */
void probe_kernel_taps(probe_session *ps, const parameter *p, const parameter_step_stats *s);
void probe_batchnorm_gap(probe_session *ps, int layer_index);

/* probe_inject.c */
void probe_inject_value(probe_session *ps, injection_kind kind, int layer_index, float *data, const tensor *shape_of,
                        float value);
void probe_inject_weight_scaling(probe_session *ps);

#endif
