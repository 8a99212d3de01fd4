/* inject.c: parsing fault-injection specs (see inject.h). */
#include "inject.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Both bounds are checked here, before any narrowing: a value that does
 * not fit the field it lands in must never become a negative index. */
static int parse_long(const char *text, long minimum, long maximum, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < minimum || v > maximum) return -1;
    *out = v;
    return 0;
}

/* The key=value list after the '@', into out. */
static int parse_fields(const char *spec, const char *list, const model *m, injection *out, error *err)
{
    char fields[sizeof out->spec];
    memcpy(fields, list, strlen(list) + 1);
    char *saveptr = NULL;
    for (char *item = strtok_r(fields, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr)) {
        char *eq = strchr(item, '=');
        if (!eq) return error_set(err, "--inject '%s': '%s' is not key=value", spec, item);
        *eq = '\0';
        const char *key = item, *value = eq + 1;
        long number = 0;
        if (strcmp(key, "layer") == 0) {
            out->layer = model_find_layer(m, value);
            if (out->layer < 0)
                return error_set(err, "--inject '%s': no layer named '%s' (Keras names, see `nanprobe summary`)",
                                 spec, value);
        } else if (strcmp(key, "factor") == 0) {
            char *end;
            out->factor = strtod(value, &end);
            if (end == value || *end || !isfinite(out->factor))
                return error_set(err, "--inject '%s': factor must be a finite number", spec);
        } else if (strcmp(key, "step") == 0 || strcmp(key, "sample") == 0 || strcmp(key, "d") == 0 ||
                   strcmp(key, "h") == 0 || strcmp(key, "w") == 0 || strcmp(key, "channel") == 0) {
            int is_step = strcmp(key, "step") == 0;
            if (parse_long(value, is_step ? 1 : 0, is_step ? LONG_MAX : INT_MAX, &number))
                return error_set(err, "--inject '%s': %s must be an integer in [%d, %ld], got '%s'", spec, key,
                                 is_step ? 1 : 0, is_step ? LONG_MAX : (long)INT_MAX, value);
            if (strcmp(key, "step") == 0) out->step = number;
            else if (strcmp(key, "sample") == 0) out->sample = (int)number;
            else if (strcmp(key, "d") == 0) out->d = (int)number;
            else if (strcmp(key, "h") == 0) out->h = (int)number;
            else if (strcmp(key, "w") == 0) out->w = (int)number;
            else out->channel = (int)number;
        } else {
            return error_set(err, "--inject '%s': unknown key '%s'", spec, key);
        }
    }
    return 0;
}

/* What the spec names must exist: the layer, the sample in the batch and
 * the element in the layer's output. */
static int check_target(const char *spec, const model *m, injection *out, error *err)
{
    if (out->step < 1) return error_set(err, "--inject '%s': step=S is required (steps count from 1)", spec);
    if (out->kind == INJECT_NAN_INPUT) {
        out->layer = 0;
    } else if (out->layer < 0) {
        return error_set(err, "--inject '%s': layer=NAME is required", spec);
    }
    if (out->kind == INJECT_SCALE_WEIGHTS) {
        if (!isfinite(out->factor)) return error_set(err, "--inject '%s': factor=F is required", spec);
        if (m->layers[out->layer].param_count == 0)
            return error_set(err, "--inject '%s': layer %s has no weights to scale", spec, m->layers[out->layer].name);
    }
    if (out->kind == INJECT_INF_BACKWARD && out->layer == 0)
        return error_set(err, "--inject '%s': the input has no gradient (the first conv computes none)", spec);
    if (out->sample >= m->config.batch)
        return error_set(err, "--inject '%s': sample %d is outside the batch of %d", spec, out->sample,
                         m->config.batch);
    const tensor *t = &m->layers[out->layer].output;
    if (t->rank == 5) {
        const int *s = t->shape;
        if (out->d >= s[1] || out->h >= s[2] || out->w >= s[3] || out->channel >= s[4])
            return error_set(err, "--inject '%s': element outside %s's output (D, H, W, C) = (%d, %d, %d, %d)", spec,
                             m->layers[out->layer].name, s[1], s[2], s[3], s[4]);
    } else if (out->channel >= t->shape[1]) {
        return error_set(err, "--inject '%s': channel outside %s's %d outputs", spec, m->layers[out->layer].name,
                         t->shape[1]);
    }
    return 0;
}

int injection_parse(const char *spec, const model *m, injection *out, error *err)
{
    memset(out, 0, sizeof *out);
    out->layer = -1;
    out->step = -1;
    out->d = out->h = out->w = out->channel = -1;
    out->factor = NAN;
    /* The spec is parsed from a bounded copy: a longer one is refused, never
     * cut (a cut "step=1234" would fire at step 1). */
    size_t spec_length = strlen(spec);
    if (spec_length >= sizeof out->spec)
        return error_set(err, "--inject '%.60s...': the spec is %zu characters long (at most %zu)", spec, spec_length,
                         sizeof out->spec - 1);
    memcpy(out->spec, spec, spec_length + 1);

    const char *at = strchr(spec, '@');
    const char *usage = "expected KIND@key=value,... with KIND one of nan-input, inf-forward, inf-backward, "
                        "scale-weights (e.g. inf-forward@layer=conv3d_5,step=10)";
    if (!at) return error_set(err, "--inject '%s': %s", spec, usage);
    size_t kind_length = (size_t)(at - spec);
    int kind = -1;
    for (int k = 0; k < INJECT_KIND_COUNT; k++)
        if (strlen(injection_kind_names[k]) == kind_length && strncmp(spec, injection_kind_names[k], kind_length) == 0)
            kind = k;
    if (kind < 0) return error_set(err, "--inject '%s': unknown kind; %s", spec, usage);
    out->kind = (injection_kind)kind;

    if (parse_fields(spec, at + 1, m, out, err)) return -1;
    return check_target(spec, m, out, err);
}

void injection_cell(const injection *inj, int rank, const int *shape, int *d, int *h, int *w, int *channel)
{
    *channel = inj->channel >= 0 ? inj->channel : 0;
    *d = *h = *w = -1;
    if (rank == 2) return;
    *d = inj->d >= 0 ? inj->d : shape[1] / 2;
    *h = inj->h >= 0 ? inj->h : shape[2] / 2;
    *w = inj->w >= 0 ? inj->w : shape[3] / 2;
}

long long injection_element(const injection *inj, int rank, const int *shape)
{
    int d, h, w, channel;
    injection_cell(inj, rank, shape, &d, &h, &w, &channel);
    if (rank == 2) return (long long)inj->sample * shape[1] + channel;
    return ((((long long)inj->sample * shape[1] + d) * shape[2] + h) * shape[3] + w) * shape[4] + channel;
}

void injection_apply_scaling(const injection *inj, struct model *m)
{
    parameter *p = &m->params[m->layers[inj->layer].first_param];
    for (size_t j = 0; j < p->value.count; j++) p->value.data[j] = (float)(p->value.data[j] * inj->factor);
}
