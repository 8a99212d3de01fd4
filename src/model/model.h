/* model.h: the seed's ResNet3D (JihongJu/keras-resnet3d, Resnet3DBuilder) as a
 * list of layers, and the whole-network forward and backward passes.
 *
 * Layers are stored in the order the seed's Keras code creates them, which is
 * also a valid execution order; each carries the name Keras would give it
 * (conv3d_12, batch_normalization_7, activation_7, add_3, ...) and a
 * structural path (stage3.block2.conv2, stage3.block1.shortcut).
 *
 * Memory: model_build() sizes every buffer first, then places one arena per
 * kind (weights, gradients, Adam m, Adam v, moving statistics, activations,
 * activation gradients, per-layer scratch, shared workspace).  Weights,
 * gradients, m and v share one layout, so parameter i lives at the same
 * offset in each.  Nothing is allocated after model_build(). */
#ifndef NANPROBE_MODEL_H
#define NANPROBE_MODEL_H

#include <stdint.h>

#include "batchnorm.h"
#include "conv3d.h"
#include "error.h"
#include "layer_kind.h"
#include "maxpool3d.h"
#include "precision.h"
#include "tensor.h"

typedef enum parameter_role {
    PARAM_KERNEL,
    PARAM_BIAS,
    PARAM_GAMMA,
    PARAM_BETA,
    PARAM_MOVING_MEAN,
    PARAM_MOVING_VARIANCE,
    PARAMETER_ROLE_COUNT
} parameter_role;

typedef enum initializer_kind { INIT_HE_NORMAL, INIT_GLOROT_UNIFORM, INIT_KIND_COUNT } initializer_kind;
/* Keras' names, as --init and runs.init spell them: "he_normal", "glorot_uniform". */
extern const char *const initializer_names[INIT_KIND_COUNT];
/* Keras classes, as layers.kind stores them (layer_kind_name). */
extern const char *const layer_kind_names[LAYER_KIND_COUNT];

typedef struct model_config {
    int depth;        /* 18, 34 (basic blocks), 50, 101, 152 (bottleneck) */
    int width;        /* filters of the first stage; the seed's is 64 */
    int clip[4];      /* D, H, W, C of one clip */
    int classes;      /* 1: sigmoid output, > 1: softmax */
    int batch;        /* samples per step (buffers are sized for it) */
    int threads;      /* threads the buffers are sized for */
} model_config;

typedef struct parameter {
    char name[64];     /* Keras variable name: "conv3d_5/kernel" */
    parameter_role role;
    int layer;         /* index of the owning layer */
    int trainable;     /* 0 for moving statistics */
    int regularized;   /* kernels carry the L2 penalty */
    tensor value;
    real *gradient;   /* trainable only: same shape as value */
    real *adam_m;
    real *adam_v;
} parameter;

typedef struct layer {
    layer_kind kind;
    char name[48];      /* Keras auto-name */
    char path[64];      /* structural path */
    int inputs[2];      /* producing layers */
    int input_count;
    /* Backward adds into input i's gradient instead of overwriting it,
     * because another consumer of that tensor wrote it first. */
    int accumulate[2];
    tensor output;      /* (N, D, H, W, C), or (N, F) after Flatten */
    real *output_gradient; /* NULL when nothing upstream needs it */
    int first_param, param_count;
    conv3d_geometry conv;
    pool3d_geometry pool;
    batchnorm_batch batch_stats;
    int32_t *argmax;    /* max pooling */
} layer;

typedef struct step_timing {
    double seconds[LAYER_KIND_COUNT][2]; /* [kind][0 forward, 1 backward] */
} step_timing;

/* Called after each layer's forward (MODEL_AFTER_FORWARD), when the
 * gradient reaching a layer's output is complete (MODEL_BEFORE_BACKWARD), and
 * when the layer's backward has produced its parameter gradients and input
 * gradients (MODEL_AFTER_BACKWARD).  Probes and fault injection attach here. */
typedef enum model_event { MODEL_AFTER_FORWARD, MODEL_BEFORE_BACKWARD, MODEL_AFTER_BACKWARD } model_event;
typedef void (*model_hook)(void *context, int layer_index, model_event event);

typedef struct model {
    model_config config;
    int batch; /* samples in the current step: <= config.batch (Keras' last partial batch) */
    layer *layers;
    int layer_count;
    parameter *params;
    int param_count;
    int logits_layer;
    size_t trainable_count, non_trainable_count;
    arena weights, gradients, adam_m, adam_v, moving, activations, activation_gradients, scratch;
    real *workspace;
    model_hook hook;
    void *hook_context;
    step_timing timing;
    /* Emulated precision (model_precision.h); PRECISION_FLOAT32 runs the
     * engine untouched.  precision_scratch holds rounded operand copies. */
    precision_kind precision;
    real *precision_scratch;
    size_t precision_scratch_count;
} model;

/* The depths the builder knows, as option choices ("18" ... "152", NULL-
 * terminated) and as numbers, in the same order. */
extern const char *const model_depth_names[];
extern const int model_depths[];

/* The stage repetitions for a depth; returns 0 for an unsupported depth. */
int model_repetitions(int depth, int repetitions[4], int *bottleneck);

int model_build(model *m, const model_config *config, error *err);
void model_free(model *m);

void model_init_weights(model *m, initializer_kind init, uint64_t seed);

/* Sets the number of samples of the next passes (1..config.batch); every
 * layer's output tensor header follows. */
void model_set_batch(model *m, int batch);

/* The batch goes here, (batch, D, H, W, C) reals, before model_forward. */
real *model_input(model *m);
const real *model_logits(const model *m);
/* Gradient of the objective w.r.t. the logits goes here before backward. */
real *model_logits_gradient(model *m);

/* training: batch statistics and moving-statistic updates; otherwise moving
 * statistics (Keras' inference mode, used for validation). */
void model_forward(model *m, int training);
void model_backward(model *m);

/* lambda * sum(w^2) over every kernel, in double. */
double model_l2_penalty(const model *m, real lambda);

const char *layer_kind_name(layer_kind kind);      /* Keras class: "Conv3D" */
const char *parameter_role_name(parameter_role role); /* "kernel", "moving_mean", ... */
int model_find_layer(const model *m, const char *name);

#endif
