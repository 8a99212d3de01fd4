/* sentinel.h: the sentinel that names the first non-finite value of a run.
 *
 * Every tensor's statistics are also its non-finite check (stats.h counts
 * NaN and Inf), so the sentinel costs nothing extra: the first tensor, in
 * execution order, that holds a NaN or Inf becomes the event, with the step,
 * layer, pass, tensor, first bad element, and whether every input of that
 * tensor was finite (it originated there) or not (it propagated there).
 * The probes call sentinel_check on each tensor as it is produced; they
 * track which inputs were finite. */
#ifndef NANPROBE_SENTINEL_H
#define NANPROBE_SENTINEL_H

#include "model.h"
#include "stats.h"

typedef enum probe_pass {
    PASS_INPUT,
    PASS_FORWARD,
    PASS_MOVING_STATISTICS,
    PASS_LOSS,
    PASS_BACKWARD,
    PASS_OPTIMIZER_STATE,
    PASS_UPDATE,
    PASS_VALIDATION,
    PASS_LOADED, /* a checkpoint's values before any step (Keras import) */
    PASS_COUNT
} probe_pass;

/* As in events.pass: "input", "forward", ... */
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

typedef struct sentinel {
    const model *m;
    /* Where the run is (sentinel_locate): the event's step and clip ids. */
    long step;
    int epoch;
    const long *sample_ids;
    int batch;
    nonfinite_event first;
    int has_first;       /* first holds the run's event */
    int first_this_step; /* ... and it was found in the current step */
    int step_nonfinite;  /* some tensor of the current step was non-finite */
    /* Dynamic loss scaling (mixed_float16): a non-finite gradient in the
     * backward pass is what the loss scale absorbs by skipping the step, so
     * it is kept in `absorbed` (the step's first) and is no event; a
     * non-finite value in the forward pass, the loss, the update or the
     * weights still is. */
    int absorb_backward;
    nonfinite_event absorbed;
    int has_absorbed;
} sentinel;

void sentinel_init(sentinel *st, const model *m);
void sentinel_locate(sentinel *st, long step, int epoch, const long *sample_ids, int batch);

/* Records the first non-finite value of the run when s has one.  data is the
 * tensor (for the bad element's value), is_activation says whether axis 0
 * is the batch, inputs_finite whether everything it was computed from was. */
void sentinel_check(sentinel *st, const tensor_stats *s, const float *data, int layer_index, probe_pass pass,
                    const char *tensor_name, int rank, const int *shape, int is_activation, int inputs_finite);

#endif
