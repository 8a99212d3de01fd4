/* kernel_taps.c: the data/padding tap split and its measurements (see
 * kernel_taps.h). */
#include "kernel_taps.h"

#include <math.h>
#include <string.h>

int kernel_taps_split(const conv3d_geometry *g, unsigned char *tap_is_data)
{
    const int kd = g->kernel[0], kh = g->kernel[1], kw = g->kernel[2];
    if (kd * kh * kw > KERNEL_TAPS_MAX) return -1;
    /* A tap meets data iff its offset meets data along every axis: the
     * window's cells along the three axes are chosen independently. */
    unsigned char meets[3][KERNEL_TAPS_MAX];
    for (int a = 0; a < 3; a++)
        window_offsets_meeting_data(g->in[a], g->kernel[a], g->stride[a], g->pad[a], g->out[a], meets[a]);
    int count = 0;
    for (int a = 0; a < kd; a++)
        for (int b = 0; b < kh; b++)
            for (int c = 0; c < kw; c++) {
                unsigned char data = meets[0][a] && meets[1][b] && meets[2][c];
                tap_is_data[(a * kh + b) * kw + c] = data;
                count += data;
            }
    return count;
}

/* Elements summed in float lanes before they are added in double: short
 * enough that the float sums lose nothing that matters for a ratio. */
#define CHUNK 1024
#define LANES 16

typedef struct tap_sums {
    double old_squares, new_squares, step_squares, old_dot_step, grad_squares, dominant;
} tap_sums;

/* The sums of n <= CHUNK data-tap elements, in LANES accumulators so the
 * loop vectorizes without reassociation.  step is what Adam subtracted, so
 * w_old = w + step and dw = -step. */
#define DATA_ELEMENT(i, l)                                                              \
    do {                                                                               \
        float step_ = alpha * m[i] / (sqrtf(v[i]) + epsilon), old_ = w[i] + step_;     \
        old2[l] += old_ * old_;                                                        \
        new2[l] += w[i] * w[i];                                                        \
        step2[l] += step_ * step_;                                                     \
        dot[l] += old_ * step_;                                                        \
        grad2[l] += g[i] * g[i];                                                       \
        dom[l] += fabsf(twice_lambda * old_) > fabsf(g[i]) ? 1.0f : 0.0f;              \
    } while (0)

static void data_chunk(const float *w, const float *g, const float *m, const float *v, size_t n, float alpha,
                       float epsilon, float twice_lambda, tap_sums *s)
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

static double sum_squares(const float *x, size_t n)
{
    double total = 0.0;
    for (size_t start = 0; start < n; start += CHUNK) {
        float lanes[LANES] = {0};
        size_t end = start + CHUNK < n ? start + CHUNK : n;
        size_t i = start;
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++) lanes[l] += x[i + l] * x[i + l];
        for (int l = 0; i < end; i++, l++) lanes[l] += x[i] * x[i];
        for (int l = 0; l < LANES; l++) total += lanes[l];
    }
    return total;
}

/* The angle between a = w_old and a + d (d = -step) from the sums, without
 * the cancellation of acos near 1: the part of d across a against the
 * length along it. */
static double update_angle(const tap_sums *s)
{
    if (!(s->old_squares > 0)) return NAN;
    double norm = sqrt(s->old_squares), along = -s->old_dot_step / norm;
    double across2 = s->step_squares - along * along;
    return atan2(sqrt(across2 > 0 ? across2 : 0.0), norm + along);
}

/* One tap's sums: the padding-only taps need only their norm. */
static void measure_tap(const float *w, const float *g, const float *m, const float *v, size_t per_tap, int is_data,
                        float alpha, float epsilon, float twice_lambda, tap_sums *s)
{
    memset(s, 0, sizeof *s);
    if (!is_data) {
        s->new_squares = sum_squares(w, per_tap);
        return;
    }
    for (size_t start = 0; start < per_tap; start += CHUNK) {
        size_t n = per_tap - start < CHUNK ? per_tap - start : CHUNK;
        data_chunk(w + start, g + start, m + start, v + start, n, alpha, epsilon, twice_lambda, s);
    }
}

/* Below this many elements a kernel is measured on one thread. */
#define PARALLEL_MIN 65536

void kernel_taps_measure(const float *w, const float *g, const float *m, const float *v, size_t taps,
                         size_t per_tap, const unsigned char *tap_is_data, float alpha, float epsilon,
                         float twice_lambda, kernel_tap_metrics *out)
{
    memset(out, 0, sizeof *out);
    if (taps > KERNEL_TAPS_MAX) return;
    /* Per tap, then summed in tap order: the same result on any thread count. */
    tap_sums sums[KERNEL_TAPS_MAX];
#pragma omp parallel for schedule(dynamic) if (taps * per_tap >= PARALLEL_MIN)
    for (size_t t = 0; t < taps; t++) {
        size_t base = t * per_tap;
        measure_tap(w + base, g + base, m + base, v + base, per_tap, !tap_is_data || tap_is_data[t], alpha,
                    epsilon, twice_lambda, &sums[t]);
    }
    tap_sums data = {0};
    for (size_t t = 0; t < taps; t++) {
        if (tap_is_data && !tap_is_data[t]) {
            out->padding_taps++;
            out->padding_sum_squares += sums[t].new_squares;
            continue;
        }
        out->data_taps++;
        data.old_squares += sums[t].old_squares;
        data.new_squares += sums[t].new_squares;
        data.step_squares += sums[t].step_squares;
        data.old_dot_step += sums[t].old_dot_step;
        data.grad_squares += sums[t].grad_squares;
        data.dominant += sums[t].dominant;
    }
    out->data_sum_squares = data.new_squares;
    out->data_update_ratio = data.old_squares > 0 ? sqrt(data.step_squares / data.old_squares) : NAN;
    out->data_angle = update_angle(&data);
    out->data_l2_grad_ratio =
        data.grad_squares > 0 ? fabs(twice_lambda) * sqrt(data.old_squares / data.grad_squares) : NAN;
    double coordinates = (double)out->data_taps * (double)per_tap;
    out->l2_dominant_fraction = coordinates > 0 ? data.dominant / coordinates : NAN;
}
