/* run_names.h: the tensor and metric names of run.db (stats.tensor,
 * layer_metrics.metric), shared by the writer (probes/) and the readers
 * (reports/).  Each name is spelled once, here, as a string literal macro
 * (so a reader's static table can use it), and gathered into name tables
 * sized by their enums (run_names.c checks each with _Static_assert).
 *
 * Parameter tensors and metrics are ROLE SUFFIX: "kernel" ".grad" is
 * "kernel.grad".  The roles are model.h's parameter_role, in its order;
 * this header does not include model.h so that reports/ can use it. */
#ifndef NANPROBE_RUN_NAMES_H
#define NANPROBE_RUN_NAMES_H

/* Parameter roles (the order of parameter_role). */
#define PROBE_ROLE_KERNEL "kernel"
#define PROBE_ROLE_BIAS "bias"
#define PROBE_ROLE_GAMMA "gamma"
#define PROBE_ROLE_BETA "beta"
#define PROBE_ROLE_MOVING_MEAN "moving_mean"
#define PROBE_ROLE_MOVING_VARIANCE "moving_variance"
enum { PROBE_ROLE_COUNT = 6 };

/* Per-parameter tensors (stats) and metrics (layer_metrics), by suffix. */
typedef enum probe_param_name {
    PROBE_PARAM_VALUE,          /* stats: the value after the update */
    PROBE_PARAM_GRAD,           /* stats: the data-loss gradient */
    PROBE_PARAM_UPDATE,         /* stats: the change applied */
    PROBE_PARAM_ADAM_M,         /* stats */
    PROBE_PARAM_ADAM_V,         /* stats */
    PROBE_PARAM_UPDATE_RATIO,   /* metric: ||update|| / ||value|| */
    PROBE_PARAM_STEP_SIZE,      /* metric: Adam's alpha */
    PROBE_PARAM_MIN_SQRT_V,     /* metric */
    PROBE_PARAM_MAX_RATIO,      /* metric: max |m| / (sqrt(v) + eps) */
    PROBE_PARAM_NAME_COUNT
} probe_param_name;
#define PROBE_SUFFIX_VALUE ""
#define PROBE_SUFFIX_GRAD ".grad"
#define PROBE_SUFFIX_UPDATE ".update"
#define PROBE_SUFFIX_ADAM_M ".adam_m"
#define PROBE_SUFFIX_ADAM_V ".adam_v"
#define PROBE_SUFFIX_UPDATE_RATIO ".update_ratio"
#define PROBE_SUFFIX_STEP_SIZE ".adam_step_size"
#define PROBE_SUFFIX_MIN_SQRT_V ".adam_min_sqrt_v"
#define PROBE_SUFFIX_MAX_RATIO ".adam_max_ratio"

/* [name][role]: "kernel.grad" is probe_param_names[PROBE_PARAM_GRAD][PARAM_KERNEL]. */
extern const char *const probe_param_names[PROBE_PARAM_NAME_COUNT][PROBE_ROLE_COUNT];

/* Layer tensors (stats; "loss" only names the sentinel's tensor in events). */
typedef enum probe_tensor {
    PROBE_TENSOR_OUTPUT,
    PROBE_TENSOR_OUTPUT_GRAD,
    PROBE_TENSOR_BATCH_MEAN,
    PROBE_TENSOR_BATCH_VARIANCE,
    PROBE_TENSOR_LOSS,
    PROBE_TENSOR_COUNT
} probe_tensor;
#define PROBE_NAME_OUTPUT "output"
#define PROBE_NAME_OUTPUT_GRAD "output_grad"
#define PROBE_NAME_BATCH_MEAN "batch_mean"
#define PROBE_NAME_BATCH_VARIANCE "batch_variance"
#define PROBE_NAME_LOSS "loss"
extern const char *const probe_tensor_names[PROBE_TENSOR_COUNT];

/* Layer metrics (layer_metrics) that are not per parameter. */
typedef enum probe_metric {
    PROBE_METRIC_BN_MIN_VARIANCE,
    PROBE_METRIC_BN_MAX_VARIANCE,
    PROBE_METRIC_BN_MAX_MEAN2_OVER_VAR,
    PROBE_METRIC_BN_MAX_GAMMA_OVER_STD,
    PROBE_METRIC_BN_COUNT,
    PROBE_METRIC_MAX_PROBABILITY,
    PROBE_METRIC_MEAN_MAX_PROBABILITY,
    PROBE_METRIC_L2_GRAD_NORM,
    PROBE_METRIC_L2_GRAD_RATIO,
    PROBE_METRIC_COUNT
} probe_metric;
#define PROBE_NAME_BN_MIN_VARIANCE "bn.min_variance"
#define PROBE_NAME_BN_MAX_VARIANCE "bn.max_variance"
#define PROBE_NAME_BN_MAX_MEAN2_OVER_VAR "bn.max_mean2_over_var"
#define PROBE_NAME_BN_MAX_GAMMA_OVER_STD "bn.max_gamma_over_std"
#define PROBE_NAME_BN_COUNT "bn.count"
#define PROBE_NAME_MAX_PROBABILITY "loss.max_probability"
#define PROBE_NAME_MEAN_MAX_PROBABILITY "loss.mean_max_probability"
#define PROBE_NAME_L2_GRAD_NORM PROBE_ROLE_KERNEL ".l2_grad_norm"
#define PROBE_NAME_L2_GRAD_RATIO PROBE_ROLE_KERNEL ".l2_grad_ratio"
extern const char *const probe_metric_names[PROBE_METRIC_COUNT];

/* ---- The init x L2 x Adam mechanism metrics (layer_metrics; probes/
 * probe_mechanism.c, issue 23).  Kernels: split into the taps that meet
 * data and the taps that only meet 'same' padding (probes/kernel_taps.h);
 * padding_* only for kernels that have such taps.  BatchNorm: per channel
 * training batch statistics against the moving statistics (after this
 * step's update), summarized over the layer's channels. */
typedef enum probe_mechanism_metric {
    PROBE_MECH_DATA_NORM,             /* ||w|| over data taps, after the update */
    PROBE_MECH_PADDING_NORM,          /* ||w|| over padding-only taps */
    PROBE_MECH_DATA_L2_PENALTY,       /* lambda ||w_data||^2 */
    PROBE_MECH_PADDING_L2_PENALTY,    /* lambda ||w_padding||^2 */
    PROBE_MECH_DATA_UPDATE_RATIO,     /* ||dw|| / ||w before|| over data taps */
    PROBE_MECH_DATA_ANGLE,            /* radians between w before and after (data taps) */
    PROBE_MECH_DATA_L2_GRAD_RATIO,    /* ||2 lambda w|| / ||g|| over data taps */
    PROBE_MECH_L2_DOMINANT_FRACTION,  /* data-tap coordinates with |2 lambda w_i| > |g_i| */
    PROBE_MECH_BN_MAX_VAR_RATIO,      /* max over channels of batch_var / moving_var */
    PROBE_MECH_BN_MIN_VAR_RATIO,      /* min over channels of batch_var / moving_var */
    PROBE_MECH_BN_MAX_MEAN_SHIFT,     /* max over channels of (batch_mean - moving_mean)^2 / moving_var */
    PROBE_MECH_COUNT
} probe_mechanism_metric;
#define PROBE_NAME_DATA_NORM PROBE_ROLE_KERNEL ".data_norm"
#define PROBE_NAME_PADDING_NORM PROBE_ROLE_KERNEL ".padding_norm"
#define PROBE_NAME_DATA_L2_PENALTY PROBE_ROLE_KERNEL ".data_l2_penalty"
#define PROBE_NAME_PADDING_L2_PENALTY PROBE_ROLE_KERNEL ".padding_l2_penalty"
#define PROBE_NAME_DATA_UPDATE_RATIO PROBE_ROLE_KERNEL ".data_update_ratio"
#define PROBE_NAME_DATA_ANGLE PROBE_ROLE_KERNEL ".data_angular_update"
#define PROBE_NAME_DATA_L2_GRAD_RATIO PROBE_ROLE_KERNEL ".data_l2_grad_ratio"
#define PROBE_NAME_L2_DOMINANT_FRACTION PROBE_ROLE_KERNEL ".l2_dominant_fraction"
#define PROBE_NAME_BN_MAX_VAR_RATIO "bn.max_batch_over_moving_var"
#define PROBE_NAME_BN_MIN_VAR_RATIO "bn.min_batch_over_moving_var"
#define PROBE_NAME_BN_MAX_MEAN_SHIFT "bn.max_mean_shift2_over_moving_var"
extern const char *const probe_mechanism_names[PROBE_MECH_COUNT];
/* ---- end of the mechanism metrics */

#endif
