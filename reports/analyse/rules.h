/* rules.h: symptom rules evaluated on a loaded run, each with a documented
 * threshold and one plain hint of what to try.
 *
 * "Recent" means the last 10 % of the probed steps before the end of the
 * analysis (the NaN step, excluded, or the end of the run), at least 5
 * probes; "early" the first 10 %, at least 5.  Thresholds are in rules.c's
 * table (rule_catalog) and in docs/verdict.md. */
#ifndef NANPROBE_RULES_H
#define NANPROBE_RULES_H

#include "read_run.h"

typedef enum rule_level { RULE_PASS, RULE_WARN, RULE_FAIL, RULE_NO_DATA } rule_level;

typedef enum rule_id {
    RULE_NONFINITE,
    RULE_EXPLODING_GRADIENT,
    RULE_VANISHING_GRADIENT,
    RULE_POOR_INITIALIZATION,
    RULE_DEAD_RELU,
    RULE_SATURATED_SOFTMAX,
    RULE_WEIGHT_NORM_COLLAPSE,
    RULE_L2_DOMINATES,
    RULE_BN_SMALL_COUNT,
    RULE_BN_VARIANCE_COLLAPSE,
    RULE_BN_CANCELLATION,
    RULE_UPDATE_RATIO,
    RULE_OVERFLOW_RISK,
    RULE_LOSS_NOT_DECREASING,
    RULE_ACCURACY_AT_CHANCE,
    RULE_VALIDATION_ONLY_NAN,
    RULE_INPUT_DATA,
    RULE_COUNT
} rule_id;

typedef struct rule_finding {
    rule_id id;
    const char *key;       /* "exploding_gradient" */
    const char *title;     /* "Exploding gradients" */
    const char *threshold; /* the documented threshold, plain words */
    const char *hint;      /* one thing to try */
    rule_level level;
    char detail[1024];     /* what was measured (contains database strings: escape for HTML) */
    int layer;             /* worst layer index, -1 */
    int step;              /* step of the worst value, 0 */
} rule_finding;

/* Evaluates every rule over the probed steps before end_step. */
void rules_evaluate(const rundata *d, int end_step, rule_finding findings[RULE_COUNT]);

const char *rule_level_name(rule_level level); /* "pass", "warning", "FAIL", "no data" */

#endif
