/* precision.c: names and formats of the emulated precisions (see precision.h). */
#include "precision.h"

const char *const precision_names[PRECISION_COUNT + 1] = {"float32", "tf32", "mixed_float16", "mixed_bfloat16",
                                                          "float64", NULL};
const char *const precision_train_names[PRECISION_FLOAT64 + 1] = {"float32", "tf32", "mixed_float16",
                                                                  "mixed_bfloat16", NULL};
const char *const bn_variance_names[BN_VARIANCE_COUNT + 1] = {"two_pass", "one_pass", NULL};

round_format precision_operand_format(precision_kind p)
{
    static const round_format formats[PRECISION_COUNT] = {ROUND_NONE, ROUND_TF32, ROUND_FLOAT16, ROUND_BFLOAT16,
                                                          ROUND_NONE};
    return (unsigned)p < PRECISION_COUNT ? formats[p] : ROUND_NONE;
}

round_format precision_storage_format(precision_kind p)
{
    return p == PRECISION_MIXED_FLOAT16 ? ROUND_FLOAT16 : p == PRECISION_MIXED_BFLOAT16 ? ROUND_BFLOAT16 : ROUND_NONE;
}

int precision_scales_loss(precision_kind p)
{
    return p == PRECISION_MIXED_FLOAT16;
}
