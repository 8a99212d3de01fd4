/* run_enums.c: the name tables of run_enums.h, each checked against its enum. */
#include "run_enums.h"

#include <stdio.h>
#include <string.h>

#include "model.h"
#include "precision.h"
#include "video.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *const probe_pass_names[] = {
    [PASS_INPUT] = "input",
    [PASS_FORWARD] = "forward",
    [PASS_MOVING_STATISTICS] = "moving_statistics",
    [PASS_LOSS] = "loss",
    [PASS_BACKWARD] = "backward",
    [PASS_OPTIMIZER_STATE] = "optimizer_state",
    [PASS_UPDATE] = "update",
    [PASS_VALIDATION] = "validation",
    [PASS_LOADED] = "loaded",
};
_Static_assert(COUNT(probe_pass_names) == PASS_COUNT, "one name per probe_pass");

const char *const event_kind_names[] = {
    [EVENT_NAN] = "nan",
    [EVENT_LR_REDUCED] = "lr_reduced",
    [EVENT_EARLY_STOP] = "early_stop",
    [EVENT_CHECKPOINT] = "checkpoint",
    [EVENT_CHECKPOINT_FAILED] = "checkpoint_failed",
    [EVENT_INTERRUPTED] = "interrupted",
    [EVENT_INJECTION] = "injection",
    [EVENT_RESUMED] = "resumed",
    [EVENT_KERAS_IMPORT] = "keras_import",
    [EVENT_VIDEO_DECODE] = "video_decode",
    [EVENT_BN_VARIANCE_NEGATIVE] = "bn_variance_negative",
    [EVENT_STEP_SKIPPED] = "step_skipped",
    [EVENT_LOSS_SCALE_GREW] = "loss_scale_grew",
};
_Static_assert(COUNT(event_kind_names) == EVENT_KIND_COUNT, "one name per event_kind");

const char *const injection_kind_names[] = {
    [INJECT_NAN_INPUT] = "nan-input",
    [INJECT_INF_FORWARD] = "inf-forward",
    [INJECT_INF_BACKWARD] = "inf-backward",
    [INJECT_SCALE_WEIGHTS] = "scale-weights",
};
_Static_assert(COUNT(injection_kind_names) == INJECT_KIND_COUNT, "one name per injection_kind");

const char *const value_class_names[] = {
    [VALUE_NAN] = "nan",
    [VALUE_POSITIVE_INF] = "+inf",
    [VALUE_NEGATIVE_INF] = "-inf",
};
_Static_assert(COUNT(value_class_names) == VALUE_CLASS_COUNT, "one name per value_class");

const char *const replay_trigger_names[] = {
    [REPLAY_TRIGGER_NAN] = "nan",
    [REPLAY_TRIGGER_COMMAND] = "command",
    [REPLAY_TRIGGER_SHADOW] = "shadow",
};
_Static_assert(COUNT(replay_trigger_names) == REPLAY_TRIGGER_COUNT, "one name per replay_trigger");

const char *const replay_finding_names[] = {
    [REPLAY_FINDING_NONE] = "none",
    [REPLAY_FINDING_NOT_REPRODUCIBLE] = "not_reproducible",
    [REPLAY_FINDING_REAL_DIVERGENCE] = "real_divergence",
    [REPLAY_FINDING_FLOAT32_ARTEFACT] = "float32_artefact",
    [REPLAY_FINDING_MATHS_ITSELF] = "maths_itself",
};
_Static_assert(COUNT(replay_finding_names) == REPLAY_FINDING_COUNT, "one name per replay_finding");

const char *const run_status_names[] = {
    [RUN_RUNNING] = "running",
    [RUN_COMPLETED] = "completed",
    [RUN_NAN] = "nan",
    [RUN_INTERRUPTED] = "interrupted",
    [RUN_EARLY_STOPPED] = "early_stopped",
    [RUN_FAILED] = "failed",
};
_Static_assert(COUNT(run_status_names) == RUN_STATUS_COUNT, "one name per run_status");

const char *const chain_role_names[] = {
    [CHAIN_ORIGIN] = "origin",
    [CHAIN_LINK] = "link",
    [CHAIN_ROOT] = "root",
};
_Static_assert(COUNT(chain_role_names) == CHAIN_ROLE_COUNT, "one name per chain_role");

const char *const mechanism_names[] = {
    [MECHANISM_NONE] = "none",
    [MECHANISM_DATA] = "data",
    [MECHANISM_UPDATE_BLOWUP] = "update_blowup",
    [MECHANISM_GRADUAL_GROWTH] = "gradual_growth",
    [MECHANISM_BATCHNORM] = "batchnorm",
    [MECHANISM_LOSS_SATURATION] = "loss_saturation",
    [MECHANISM_INJECTED] = "injected",
    [MECHANISM_INFERENCE_STATISTICS] = "inference_statistics",
    [MECHANISM_FLOAT16_OVERFLOW] = "float16_overflow",
    [MECHANISM_FLOAT16_UNDERFLOW] = "float16_underflow",
    [MECHANISM_LOSS_SCALE_COLLAPSE] = "loss_scale_collapse",
    [MECHANISM_REDUCED_PRECISION] = "reduced_precision",
    [MECHANISM_L2_ADAM] = "l2_adam",
};
_Static_assert(COUNT(mechanism_names) == MECHANISM_COUNT, "one name per mechanism");

const char *const clip_split_names[] = {[CLIP_SPLIT_TRAIN] = "train", [CLIP_SPLIT_VALIDATION] = "validation"};
_Static_assert(COUNT(clip_split_names) == CLIP_SPLIT_COUNT, "one name per clip_split");

const stored_enum_def stored_enums[] = {
    [STORED_PASS] = {"events.pass", probe_pass_names, PASS_COUNT},
    [STORED_EVENT_KIND] = {"events.kind", event_kind_names, EVENT_KIND_COUNT},
    [STORED_INJECT_KIND] = {"events.inject_kind", injection_kind_names, INJECT_KIND_COUNT},
    [STORED_REPLAY_FLOAT_VALUE] = {"replays.float_value", value_class_names, VALUE_CLASS_COUNT},
    /* the emulated precisions: float64 is the replay's reference, never a rung */
    [STORED_LADDER_PRECISION] = {"replay_precisions.precision", precision_names, PRECISION_FLOAT64},
    [STORED_LADDER_BAD_VALUE] = {"replay_precisions.first_bad_value", value_class_names, VALUE_CLASS_COUNT},
    [STORED_VALUE_CLASS] = {"events.value_class", value_class_names, VALUE_CLASS_COUNT},
    [STORED_REPLAY_TRIGGER] = {"replays.trigger", replay_trigger_names, REPLAY_TRIGGER_COUNT},
    [STORED_REPLAY_FINDING] = {"replays.finding", replay_finding_names, REPLAY_FINDING_COUNT},
    [STORED_RUN_STATUS] = {"runs.status", run_status_names, RUN_STATUS_COUNT},
    [STORED_CHAIN_ROLE] = {"cause_chain.role", chain_role_names, CHAIN_ROLE_COUNT},
    [STORED_MECHANISM] = {"cause_chain.mechanism", mechanism_names, MECHANISM_COUNT},
    [STORED_LAYER_KIND] = {"layers.kind", layer_kind_names, LAYER_KIND_COUNT},
    [STORED_INIT] = {"runs.init", initializer_names, INIT_KIND_COUNT},
    [STORED_CLIP_SPLIT] = {"clip_origins.split", clip_split_names, CLIP_SPLIT_COUNT},
    [STORED_VIDEO_PROBLEM] = {"bad_videos.problem", video_problem_names, VIDEO_PROBLEM_COUNT},
};
_Static_assert(COUNT(stored_enums) == STORED_ENUM_COUNT, "one entry per stored_enum");

const char *probe_pass_name(probe_pass pass)
{
    return (unsigned)pass < PASS_COUNT ? probe_pass_names[pass] : "?";
}

const char *stored_enum_name(stored_enum which, int value)
{
    if ((unsigned)which >= STORED_ENUM_COUNT || value < 0 || value >= stored_enums[which].count) return NULL;
    return stored_enums[which].names[value];
}

int stored_injection_kind(const char *column, const char *message)
{
    if (column) return stored_enum_parse(STORED_INJECT_KIND, column);
    const char *spec = message ? strstr(message, "(--inject ") : NULL;
    const char *at = spec ? strchr(spec, '@') : NULL;
    if (!at) return -1;
    spec += strlen("(--inject ");
    char kind[32];
    snprintf(kind, sizeof kind, "%.*s", (int)(at - spec), spec);
    return stored_enum_parse(STORED_INJECT_KIND, kind);
}

int stored_enum_parse(stored_enum which, const char *text)
{
    if ((unsigned)which >= STORED_ENUM_COUNT || !text) return -1;
    const stored_enum_def *e = &stored_enums[which];
    for (int k = 0; k < e->count; k++)
        if (strcmp(text, e->names[k]) == 0) return k;
    return -1;
}
