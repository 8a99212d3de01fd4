/* shadow.h: the float64 engine, seen from float32 code.
 *
 * A shadow owns a copy of the model built from the same source in double
 * (real.h; shadow_f64.c is compiled in that mode only).  It takes the
 * float32 state at the start of a step, runs that step (forward in
 * training mode, the loss, backward, Adam) in float64 on the same batch,
 * and compares every tensor with what the float32 engine computed for the
 * same step: the caller passes the float32 buffers through a shadow_view,
 * so nothing here names a float32 model type.
 *
 * Nothing of the float64 step writes to the float32 model. */
#ifndef NANPROBE_SHADOW_H
#define NANPROBE_SHADOW_H

#include <stddef.h>

#include "adam.h"
#include "error.h"
#include "model.h"

/* The tensors compared, in the order of the stats table's names. */
typedef enum shadow_kind {
    SHADOW_OUTPUT,         /* layer output after forward */
    SHADOW_OUTPUT_GRAD,    /* gradient reaching the output */
    SHADOW_BATCH_MEAN,     /* BatchNorm batch statistics */
    SHADOW_BATCH_VARIANCE,
    SHADOW_PARAM_VALUE,    /* parameter after the update */
    SHADOW_PARAM_GRAD,     /* data-loss gradient of a parameter */
    SHADOW_KIND_COUNT
} shadow_kind;

/* The float32 engine's buffers, by layer and parameter index (NULL where
 * there is none, or to skip a comparison).  Read only.  The same pointers
 * serve twice: shadow_load reads the parameters, m and v at the start of
 * the step; shadow_run_step compares with every buffer after the float32
 * engine ran that step. */
typedef struct shadow_view {
    int layer_count, param_count;
    const float **layer[SHADOW_PARAM_VALUE]; /* [kind][layer]: output, output_grad, batch mean, variance */
    const float **param[2];                  /* [value, grad][param] */
    const float **adam_m, **adam_v;          /* [param]; NULL entries for moving statistics */
} shadow_view;

/* One tensor of the step, float32 against float64. */
typedef struct shadow_tensor {
    shadow_kind kind;
    int layer, param;          /* param -1 for layer tensors */
    size_t count;
    double float_max_abs;      /* over the finite float32 values */
    double double_max_abs;     /* over the finite float64 values */
    double relative_error;     /* ||f32 - f64|| / ||f64||; NaN when either has a non-finite value */
    long long float_nonfinite, double_nonfinite;
    long long double_first_bad; /* flat index of the first non-finite float64 value, -1 if none */
} shadow_tensor;

typedef struct shadow_step {
    const float *input;        /* (batch, D, H, W, C) as the float32 step read it */
    const int *labels;
    int batch;
    adam_config adam;
    float learning_rate, l2;
    long adam_t;               /* t of this step's update (>= 1) */
} shadow_step;

typedef struct shadow shadow;

/* Builds the float64 model for config (same layers, names and buffers). */
int shadow_create(shadow **out, const model_config *config, error *err);
void shadow_free(shadow *s);
/* Bytes the float64 model holds. */
size_t shadow_bytes(const shadow *s);

/* Copies the float32 parameters, moving statistics, m and v into the
 * float64 model: call it while view's buffers hold the start of the step. */
void shadow_load(shadow *s, const shadow_view *view);
/* Runs the step and compares each tensor with view's float32 buffers
 * (view NULL: run only).  Results are kept
 * in s, in execution order: forward outputs (with BatchNorm statistics
 * after their layer's output), output gradients in backward order, then
 * the parameters. */
void shadow_run_step(shadow *s, const shadow_view *view, const shadow_step *step);

int shadow_tensor_count(const shadow *s);
const shadow_tensor *shadow_tensor_at(const shadow *s, int i);
/* The float64 value of one element of a tensor of the last step (NaN if
 * the tensor does not exist or the index is out of range). */
double shadow_value(const shadow *s, shadow_kind kind, int layer_index, int param, long long element);
/* The loss of the last step in float64. */
double shadow_loss(const shadow *s);

const char *shadow_kind_name(shadow_kind kind, int param_role);

#endif
