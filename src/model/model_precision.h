/* model_precision.h: running the model in an emulated precision (precision.h).
 *
 * The engine stays float32; the emulation rounds values where the emulated
 * arithmetic would have rounded them, which is exact for what it emulates:
 * a product of two TF32 (float16, bfloat16) numbers is exact in float32, so
 * a float32 GEMM of rounded operands is the tensor core's product with
 * float32 accumulation, up to the order of the sums.
 *
 *   tf32: each Conv3D and Dense GEMM runs on TF32 copies of both operands
 *     (input and kernel forward; input and output gradient for the kernel
 *     gradient, output gradient and kernel for the input gradient).  The
 *     stored tensors stay float32, and the bias gradient (a sum, not a GEMM)
 *     comes from the unrounded output gradient.  Rounding Col(x) is rounding
 *     x, so the copies are taken of whole tensors, before vol2col.
 *   mixed_float16 / mixed_bfloat16: every layer output and every activation
 *     gradient is stored rounded (overflow to inf, float16 subnormals), the
 *     input batch included (Keras casts it at the first layer); Conv3D and
 *     Dense use a rounded copy of the float32 kernel and bias (Keras'
 *     AutoCastVariable), and their kernel and bias gradients are rounded too
 *     (computed in the compute dtype, cast to float32 on the way to the
 *     variable).  BatchNorm computes in float32 from its rounded input and
 *     its output is rounded; its gamma and beta gradients stay float32.
 *     The logits are the float16 Dense output; softmax and the loss run in
 *     float32 on them (train.c scales and rounds the logits' gradient).
 *     A layer's output that another layer adds into (two consumers) is
 *     rounded after each contribution, where TensorFlow rounds the sum of
 *     rounded contributions: a difference of float16 noise.
 *
 * float32 (the default) takes none of these paths: model_forward and
 * model_backward test one field and run the layers as before. */
#ifndef NANPROBE_MODEL_PRECISION_H
#define NANPROBE_MODEL_PRECISION_H

#include "error.h"
#include "model.h"

/* Sets the precision of the next passes, allocating the rounded copies it
 * needs (float32 frees them).  float64 is no model precision (the replay's
 * engine): an error. */
int model_set_precision(model *m, precision_kind precision, error *err);

/* mixed precision: the loss gradient w.r.t. the logits times the loss
 * scale (1: none), rounded to the storage format, before model_backward. */
void model_precision_scale_logits_gradient(model *m, float loss_scale);

/* The sum of the BatchNorm layers' one-pass variance counts of the last
 * training forward (batchnorm_batch), and the layer of the first negative one. */
void model_bn_variance_counts(const model *m, int *cancelled, int *negative, int *first_negative_layer);
/* Sets every BatchNorm layer's one_pass flag. */
void model_set_bn_variance(model *m, bn_variance_kind kind);

#endif
