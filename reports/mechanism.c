/* mechanism.c: the mechanism name table (see mechanism.h). */
#include "mechanism.h"

const mechanism_def mechanism_defs[MECHANISM_COUNT] = {
    [MECHANISM_NONE] = {"none", "no failure", "no NaN or Inf was recorded", ""},
    [MECHANISM_DATA] = {"data", "data",
                        "the fault came in with the input batch: it is in the data, not made by the network",
                        "fix or drop the clip; check the files for NaN and constant clips, or use --normalize "
                        "per_image, whose std is floored"},
    [MECHANISM_UPDATE_BLOWUP] = {"update_blowup", "update blow-up (learning rate)",
                                 "one optimizer step moved the weights by far more than their own size, and the "
                                 "next forward pass overflowed",
                                 "lower the learning rate (Adam moves each weight by about lr per step), or add "
                                 "warm-up or gradient clipping"},
    [MECHANISM_GRADUAL_GROWTH] = {"gradual_growth", "gradual growth to overflow",
                                  "a statistic grew step after step until it passed float32's largest value",
                                  "lower the learning rate or clip gradients; the growth is visible steps ahead, "
                                  "so a ReduceLROnPlateau on the loss or a norm check can catch it"},
    [MECHANISM_BATCHNORM] = {"batchnorm", "BatchNorm collapse / cancellation / small count",
                             "a BatchNormalization statistic degenerated (variance near 0, mean^2/variance too "
                             "large for float32, or too few values per channel)",
                             "use a bigger batch or no BatchNorm where a channel has few values; drop the conv "
                             "bias before BatchNorm; raise epsilon"},
    [MECHANISM_LOSS_SATURATION] = {"loss_saturation", "loss saturation",
                                   "the logits grew so far apart that the loss or its gradient overflowed",
                                   "lower the learning rate, use label smoothing, or cap the logits"},
    [MECHANISM_INJECTED] = {"injected", "injected fault",
                            "the fault was planted with --inject: the run did what it was told",
                            "nothing to fix in the model: remove the --inject option"},
    [MECHANISM_L2_ADAM] = {"l2_adam", "L2 dominates the data gradient under Adam",
                           "the kernel shrinks and its relative step grows: on coordinates where 2*lambda*|w| "
                           "outweighs the data gradient, Adam moves w toward 0 by about lr per step, and for a "
                           "kernel feeding BatchNorm (scale-invariant) a kernel r times smaller takes a relative "
                           "step about 1/r larger",
                           "use decoupled weight decay (AdamW) instead of L2 in the loss, a smaller lambda (1e-4 -> "
                           "1e-5), or no L2 on kernels that feed BatchNorm"},
};

_Static_assert(sizeof mechanism_defs / sizeof mechanism_defs[0] == MECHANISM_COUNT,
               "one mechanism_defs entry per mechanism");
