/* mechanism.c: what each mechanism means to a user (see mechanism.h). */
#include "mechanism.h"

const mechanism_def mechanism_defs[MECHANISM_COUNT] = {
    [MECHANISM_NONE] = {"no failure", "no NaN or Inf was recorded", ""},
    [MECHANISM_DATA] = {"data",
                        "the fault came in with the input batch: it is in the data, not made by the network",
                        "fix or drop the clip; check the files for NaN and constant clips, or use --normalize "
                        "per_image, whose std is floored"},
    [MECHANISM_UPDATE_BLOWUP] = {"update blow-up (learning rate)",
                                 "one optimizer step moved the weights by far more than their own size, and the "
                                 "next forward pass overflowed",
                                 "lower the learning rate (Adam moves each weight by about lr per step), or add "
                                 "warm-up or gradient clipping"},
    [MECHANISM_GRADUAL_GROWTH] = {"gradual growth to overflow",
                                  "a statistic grew step after step until it passed float32's largest value",
                                  "lower the learning rate or clip gradients; the growth is visible steps ahead, "
                                  "so a ReduceLROnPlateau on the loss or a norm check can catch it"},
    [MECHANISM_BATCHNORM] = {"BatchNorm collapse / cancellation / small count",
                             "a BatchNormalization statistic degenerated (variance near 0, mean^2/variance too "
                             "large for float32, or too few values per channel)",
                             "use a bigger batch or no BatchNorm where a channel has few values; drop the conv "
                             "bias before BatchNorm; raise epsilon"},
    [MECHANISM_LOSS_SATURATION] = {"loss saturation",
                                   "the logits grew so far apart that the loss or its gradient overflowed",
                                   "lower the learning rate, use label smoothing, or cap the logits"},
    [MECHANISM_INJECTED] = {"injected fault",
                            "the fault was planted with --inject: the run did what it was told",
                            "nothing to fix in the model: remove the --inject option"},
    [MECHANISM_INFERENCE_STATISTICS] =
        {"BatchNorm moving statistics in inference mode",
         "validation normalizes with BatchNorm's moving statistics, and these did not fit what the layers "
         "produce: each BatchNorm on the path scaled its input by RMS((x - moving mean)/sqrt(moving variance + "
         "eps)) instead of 1, and a BatchNorm fed by a mis-scaled one inherits its factor, so the factors "
         "compounded layer by layer until float32 overflowed, while training, on batch statistics, stayed finite "
         "(or a moving variance <= 0 made sqrt() NaN)",
         "re-estimate the moving statistics before validating (a pass over training clips in training mode "
         "without updates), use a smaller BatchNorm momentum (0.99 -> 0.9) so they follow fast-moving weights, "
         "lower the learning rate (or the L2 that shrinks BatchNorm-preceded kernels and raises the effective "
         "rate); a moving variance <= 0 or NaN in a checkpoint must be reset (to 1) before loading"},
    [MECHANISM_FLOAT16_OVERFLOW] = {"float16 overflow",
                                    "a tensor stored in float16 (mixed_float16) passed 65504, float16's largest "
                                    "finite value, and became inf; float32 holds it",
                                    "keep that layer in float32 (dtype='float32' on it, or the policy only from "
                                    "the next block on), lower the learning rate, or train in mixed_bfloat16, "
                                    "which has float32's range"},
    [MECHANISM_FLOAT16_UNDERFLOW] = {"float16 gradient underflow",
                                     "gradients fell below float16's smallest subnormal (6e-8) and flushed to "
                                     "zero: the loss scale was too small for them",
                                     "wrap the optimizer in LossScaleOptimizer (dynamic scaling), or raise its "
                                     "initial scale; mixed_bfloat16 does not underflow there"},
    [MECHANISM_LOSS_SCALE_COLLAPSE] = {"loss-scale collapse",
                                       "every step's gradients were non-finite even at the loss scale's floor, so "
                                       "LossScaleOptimizer skipped every update and nothing trained",
                                       "find the layer whose float16 output overflows (its forward is non-finite "
                                       "at any scale) and keep it in float32, or train in mixed_bfloat16"},
    [MECHANISM_REDUCED_PRECISION] = {"reduced-precision cancellation",
                                     "TF32 or bfloat16 rounding of the operands (10 or 7 mantissa bits) cancelled "
                                     "digits that float32 keeps, and the step failed where float32 survives",
                                     "turn TF32 off for this model (tf.config.experimental."
                                     "enable_tensor_float_32_execution(False)) or keep the layer in float32"},
    [MECHANISM_L2_ADAM] = {"L2 dominates the data gradient under Adam",
                           "the kernel shrinks and its relative step grows: on coordinates where 2*lambda*|w| "
                           "outweighs the data gradient, Adam moves w toward 0 by about lr per step, and for a "
                           "kernel feeding BatchNorm (scale-invariant) a kernel r times smaller takes a relative "
                           "step about 1/r larger",
                           "use decoupled weight decay (AdamW) instead of L2 in the loss, a smaller lambda (1e-4 -> "
                           "1e-5), or no L2 on kernels that feed BatchNorm"},
};

_Static_assert(sizeof mechanism_defs / sizeof mechanism_defs[0] == MECHANISM_COUNT,
               "one mechanism_defs entry per mechanism");
