/* keras.h: Keras checkpoints in and out of the model.
 *
 * Accepted files (kind detected from the contents, not the name):
 *   - tf.keras 2.x model.save() / ModelCheckpoint .h5: model_weights,
 *     model_config, training_config and optimizer_weights (Adam in the legacy
 *     OptimizerV2 naming, Adam/iter:0 + Adam/<var>/m:0, or the TF 2.11+ one,
 *     Adam/iteration:0 + Adam/m/<var>:0);
 *   - save_weights() / save_weights_only=True .h5 (no optimizer);
 *   - Keras 3 .weights.h5 (layers/<class>_k/vars/i, optimizer/vars/i);
 *   - Keras 3 .keras archives (a zip with config.json and model.weights.h5).
 * Layers are mapped by topology and order (keras_order.h), never by their
 * names, and every shape is checked.
 *
 * Two phases: keras_inspect() says what the file defines (the model
 * options to build), keras_load() fills a built model: weights, BatchNorm
 * moving statistics and, when present, Adam's m, v and t. */
#ifndef NANPROBE_KERAS_H
#define NANPROBE_KERAS_H

#include <stddef.h>

#include "error.h"
#include "model.h"

typedef enum keras_kind {
    KERAS_H5_MODEL,    /* tf.keras 2.x model.save() */
    KERAS_H5_WEIGHTS,  /* tf.keras 2.x save_weights() */
    KERAS3_WEIGHTS,    /* Keras 3 .weights.h5 */
    KERAS3_ARCHIVE,    /* Keras 3 .keras */
    KERAS_KIND_COUNT
} keras_kind;

const char *keras_kind_name(keras_kind kind);

/* What the file says about the model; 0 (or has_* = 0) where it is silent.
 * From model_config / config.json when present, else from the weights'
 * shapes (the clip's D, H, W then remain unknown). */
typedef struct keras_model_info {
    keras_kind kind;
    int depth, width, classes;
    int clip[4];
    int has_clip;       /* D, H, W known (C is known with the width) */
    int has_config;     /* came from model_config / config.json */
    double l2;          /* the kernels' L2 regularizer */
    int has_l2;
    double learning_rate; /* the optimizer's current rate */
    const char *learning_rate_source; /* static text, NULL when unknown */
    int has_optimizer;  /* Adam state present */
    long iterations;
} keras_model_info;

/* Every number a file supplies is held to the ranges train's options
 * accept (src/cli/train_cli.c) before it is used or narrowed; iterations
 * stay below the 2^30 steps a run's report reads back.  Outside them
 * keras_inspect fails naming the file. */
#define KERAS_MAX_WIDTH 4096
#define KERAS_MAX_CLASSES 100000
#define KERAS_MAX_CLIP 100000 /* each of D, H, W, C, as --clip */
#define KERAS_MAX_ITERATIONS 1000000000L
#define KERAS_MIN_LEARNING_RATE 1e-30
#define KERAS_MAX_LEARNING_RATE 1e30
#define KERAS_MAX_L2 1e6

int keras_inspect(const char *path, keras_model_info *info, error *err);

typedef struct keras_load_result {
    keras_model_info info;
    int converted;           /* variables converted to float32 (float16/float64 in the file) */
    char converted_example[96];
    int renamed;             /* layers whose name in the file differs from nanprobe's */
    char renamed_example[160];
    char nonfinite[360];     /* the first variable holding NaN/Inf, as the file names it ("" if none) */
} keras_load_result;

/* Fills m (built from options consistent with keras_inspect) from path.
 * Without Adam state in the file, m and v are zeroed and iterations is 0. */
int keras_load(const char *path, model *m, keras_load_result *result, error *err);

/* The first non-finite value among the model's parameters (weights and
 * moving statistics): returns the parameter index and sets *element, or -1. */
int keras_first_nonfinite(const model *m, size_t *element);

/* Writes the model in the tf.keras 2.x model.save() layout, which
 * model.load_weights() accepts by name and by order and load_model() reads.
 * with_optimizer adds Adam's state in the OptimizerV2 naming with
 * iterations t and learning_rate.  l2 goes into the kernels' regularizers
 * of model_config. */
typedef struct keras_export_options {
    int with_optimizer;
    long iterations;
    float learning_rate;
    double l2;
} keras_export_options;

int keras_export(const char *path, const model *m, const keras_export_options *options, error *err);

#endif
