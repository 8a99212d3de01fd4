/* tap_sums.c: the data/padding tap sums of the fused Adam pass (see
 * tap_sums.h). */
#include "tap_sums.h"

#include <math.h>

/* Sums of up to a chunk in LANES float accumulators, so the loop
 * vectorizes without reassociation; a chunk (optimizer.c's 1024) is short
 * enough that the float sums lose nothing a ratio would show. */
#define LANES 16

#define DATA_ELEMENT(i, l)                                                \
    do {                                                                 \
        float o_ = old[i], s_ = step[i], g_ = gradient[i];               \
        old2[l] += o_ * o_;                                              \
        new2[l] += new_value[i] * new_value[i];                          \
        step2[l] += s_ * s_;                                             \
        dot[l] += o_ * s_;                                               \
        grad2[l] += g_ * g_;                                             \
        dom[l] += fabsf(twice_lambda * o_) > fabsf(g_) ? 1.0f : 0.0f;    \
    } while (0)

static void add_data(tap_sums *s, const float *old, const float *new_value, const float *step, const float *gradient,
                     size_t n, float twice_lambda)
{
    float old2[LANES] = {0}, new2[LANES] = {0}, step2[LANES] = {0}, dot[LANES] = {0}, grad2[LANES] = {0},
          dom[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) DATA_ELEMENT(i + l, l);
    for (int l = 0; i < n; i++, l++) DATA_ELEMENT(i, l);
    for (int l = 0; l < LANES; l++) {
        s->old_squares += old2[l];
        s->new_squares += new2[l];
        s->step_squares += step2[l];
        s->old_dot_step += dot[l];
        s->grad_squares += grad2[l];
        s->dominant += dom[l];
    }
}
#undef DATA_ELEMENT

static void add_padding(tap_sums *s, const float *new_value, size_t n)
{
    float lanes[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lanes[l] += new_value[i + l] * new_value[i + l];
    for (int l = 0; i < n; i++, l++) lanes[l] += new_value[i] * new_value[i];
    for (int l = 0; l < LANES; l++) s->padding_new_squares += lanes[l];
}

void tap_sums_clear(tap_sums *s)
{
    s->old_squares = s->new_squares = s->step_squares = s->old_dot_step = s->grad_squares = 0.0;
    s->dominant = s->padding_new_squares = 0.0;
}

void tap_sums_add(tap_sums *s, const real *old, const real *new_value, const real *step, const real *gradient,
                  size_t n, size_t offset, real twice_lambda)
{
    if (!s->is_data || s->per_tap == 0) return;
    /* The chunk may straddle taps: one run per tap. */
    for (size_t i = 0; i < n;) {
        size_t tap = (offset + i) / s->per_tap, tap_end = (tap + 1) * s->per_tap - offset;
        size_t run = (tap_end < n ? tap_end : n) - i;
        if (s->is_data[tap]) add_data(s, old + i, new_value + i, step + i, gradient + i, run, twice_lambda);
        else add_padding(s, new_value + i, run);
        i += run;
    }
}

void tap_sums_merge(tap_sums *into, const tap_sums *part)
{
    into->old_squares += part->old_squares;
    into->new_squares += part->new_squares;
    into->step_squares += part->step_squares;
    into->old_dot_step += part->old_dot_step;
    into->grad_squares += part->grad_squares;
    into->dominant += part->dominant;
    into->padding_new_squares += part->padding_new_squares;
}
