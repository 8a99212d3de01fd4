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
#include "nonfinite_event.h"
#include "stats.h"


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
