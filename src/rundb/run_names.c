/* run_names.c: the name tables of run_names.h.  Each table is declared
 * without a size and checked against its enum, so a name added to an enum
 * but not to its table (or the other way round) fails to compile. */
#include "run_names.h"

#include "model.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The role order is model.h's. */
_Static_assert(PARAM_KERNEL == 0 && PARAM_BIAS == 1 && PARAM_GAMMA == 2 && PARAM_BETA == 3 &&
                   PARAM_MOVING_MEAN == 4 && PARAM_MOVING_VARIANCE == 5 && PROBE_ROLE_COUNT == PARAM_MOVING_VARIANCE + 1,
               "run_names.h's roles must follow parameter_role");

#define ROLES(suffix)                                                                                      \
    {PROBE_ROLE_KERNEL suffix, PROBE_ROLE_BIAS suffix, PROBE_ROLE_GAMMA suffix, PROBE_ROLE_BETA suffix, \
     PROBE_ROLE_MOVING_MEAN suffix, PROBE_ROLE_MOVING_VARIANCE suffix}

const char *const probe_param_names[][PROBE_ROLE_COUNT] = {
    [PROBE_PARAM_VALUE] = ROLES(PROBE_SUFFIX_VALUE),
    [PROBE_PARAM_GRAD] = ROLES(PROBE_SUFFIX_GRAD),
    [PROBE_PARAM_UPDATE] = ROLES(PROBE_SUFFIX_UPDATE),
    [PROBE_PARAM_ADAM_M] = ROLES(PROBE_SUFFIX_ADAM_M),
    [PROBE_PARAM_ADAM_V] = ROLES(PROBE_SUFFIX_ADAM_V),
    [PROBE_PARAM_UPDATE_RATIO] = ROLES(PROBE_SUFFIX_UPDATE_RATIO),
    [PROBE_PARAM_STEP_SIZE] = ROLES(PROBE_SUFFIX_STEP_SIZE),
    [PROBE_PARAM_MIN_SQRT_V] = ROLES(PROBE_SUFFIX_MIN_SQRT_V),
    [PROBE_PARAM_MAX_RATIO] = ROLES(PROBE_SUFFIX_MAX_RATIO),
};
_Static_assert(COUNT(probe_param_names) == PROBE_PARAM_NAME_COUNT, "one row of probe_param_names per probe_param_name");

const char *const probe_tensor_names[] = {
    [PROBE_TENSOR_OUTPUT] = PROBE_NAME_OUTPUT,
    [PROBE_TENSOR_OUTPUT_GRAD] = PROBE_NAME_OUTPUT_GRAD,
    [PROBE_TENSOR_BATCH_MEAN] = PROBE_NAME_BATCH_MEAN,
    [PROBE_TENSOR_BATCH_VARIANCE] = PROBE_NAME_BATCH_VARIANCE,
    [PROBE_TENSOR_LOSS] = PROBE_NAME_LOSS,
};
_Static_assert(COUNT(probe_tensor_names) == PROBE_TENSOR_COUNT, "one name per probe_tensor");

const char *const probe_metric_names[] = {
    [PROBE_METRIC_BN_MIN_VARIANCE] = PROBE_NAME_BN_MIN_VARIANCE,
    [PROBE_METRIC_BN_MAX_VARIANCE] = PROBE_NAME_BN_MAX_VARIANCE,
    [PROBE_METRIC_BN_MAX_MEAN2_OVER_VAR] = PROBE_NAME_BN_MAX_MEAN2_OVER_VAR,
    [PROBE_METRIC_BN_MAX_GAMMA_OVER_STD] = PROBE_NAME_BN_MAX_GAMMA_OVER_STD,
    [PROBE_METRIC_BN_COUNT] = PROBE_NAME_BN_COUNT,
    [PROBE_METRIC_MAX_PROBABILITY] = PROBE_NAME_MAX_PROBABILITY,
    [PROBE_METRIC_MEAN_MAX_PROBABILITY] = PROBE_NAME_MEAN_MAX_PROBABILITY,
    [PROBE_METRIC_L2_GRAD_NORM] = PROBE_NAME_L2_GRAD_NORM,
    [PROBE_METRIC_L2_GRAD_RATIO] = PROBE_NAME_L2_GRAD_RATIO,
};
_Static_assert(COUNT(probe_metric_names) == PROBE_METRIC_COUNT, "one name per probe_metric");

/* ---- The mechanism metrics (issue 23). */
const char *const probe_mechanism_names[] = {
    [PROBE_MECH_DATA_NORM] = PROBE_NAME_DATA_NORM,
    [PROBE_MECH_PADDING_NORM] = PROBE_NAME_PADDING_NORM,
    [PROBE_MECH_DATA_L2_PENALTY] = PROBE_NAME_DATA_L2_PENALTY,
    [PROBE_MECH_PADDING_L2_PENALTY] = PROBE_NAME_PADDING_L2_PENALTY,
    [PROBE_MECH_DATA_UPDATE_RATIO] = PROBE_NAME_DATA_UPDATE_RATIO,
    [PROBE_MECH_DATA_ANGLE] = PROBE_NAME_DATA_ANGLE,
    [PROBE_MECH_DATA_L2_GRAD_RATIO] = PROBE_NAME_DATA_L2_GRAD_RATIO,
    [PROBE_MECH_L2_DOMINANT_FRACTION] = PROBE_NAME_L2_DOMINANT_FRACTION,
    [PROBE_MECH_BN_MAX_VAR_RATIO] = PROBE_NAME_BN_MAX_VAR_RATIO,
    [PROBE_MECH_BN_MIN_VAR_RATIO] = PROBE_NAME_BN_MIN_VAR_RATIO,
    [PROBE_MECH_BN_MAX_MEAN_SHIFT] = PROBE_NAME_BN_MAX_MEAN_SHIFT,
};
_Static_assert(COUNT(probe_mechanism_names) == PROBE_MECH_COUNT, "one name per probe_mechanism_metric");
