/* precision.h: the arithmetic a run emulates (train --precision, replay --precision).
 *
 *   float32         the engine as it is: every product and sum in float32;
 *   tf32            Ampere's default for convolutions and matrix products
 *                   in TensorFlow >= 2.4: both GEMM operands rounded to TF32,
 *                   products accumulated in float32;
 *   mixed_float16   Keras' policy: layer inputs, kernels and outputs in
 *                   float16 (GEMMs accumulate in float32), BatchNorm
 *                   statistics, softmax, loss, variables and Adam in
 *                   float32, dynamic loss scaling (src/optim/loss_scale.h);
 *   mixed_bfloat16  the same casts to bfloat16, no loss scaling;
 *   float64         the replay's reference engine (replay only).
 *
 * The emulation itself lives in src/model/model_precision.c. */
#ifndef NANPROBE_PRECISION_H
#define NANPROBE_PRECISION_H

#include "round_formats.h"

typedef enum precision_kind {
    PRECISION_FLOAT32,
    PRECISION_TF32,
    PRECISION_MIXED_FLOAT16,
    PRECISION_MIXED_BFLOAT16,
    PRECISION_FLOAT64,
    PRECISION_COUNT
} precision_kind;

/* "float32", "tf32", ... in enum order, NULL-terminated (option choices). */
extern const char *const precision_names[PRECISION_COUNT + 1];
/* The same without float64: what `train --precision` accepts. */
extern const char *const precision_train_names[PRECISION_FLOAT64 + 1];

/* The format GEMM operands are rounded to (ROUND_NONE: not rounded). */
round_format precision_operand_format(precision_kind p);
/* The format layer outputs and activation gradients are stored in. */
round_format precision_storage_format(precision_kind p);
/* Whether the precision scales the loss (mixed_float16 only). */
int precision_scales_loss(precision_kind p);

/* BatchNorm's batch variance (train --bn-variance). */
typedef enum bn_variance_kind { BN_VARIANCE_TWO_PASS, BN_VARIANCE_ONE_PASS, BN_VARIANCE_COUNT } bn_variance_kind;
extern const char *const bn_variance_names[BN_VARIANCE_COUNT + 1];

#endif
