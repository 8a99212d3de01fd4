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

void kernel_taps_finish(const tap_sums *sums, size_t taps, double twice_lambda, kernel_tap_metrics *out)
{
    memset(out, 0, sizeof *out);
    for (size_t t = 0; t < taps; t++) {
        if (sums->is_data[t]) out->data_taps++;
        else out->padding_taps++;
    }
    out->data_sum_squares = sums->new_squares;
    out->padding_sum_squares = sums->padding_new_squares;
    out->data_update_ratio = sums->old_squares > 0 ? sqrt(sums->step_squares / sums->old_squares) : NAN;
    out->data_angle = update_angle(sums);
    out->data_l2_grad_ratio =
        sums->grad_squares > 0 ? fabs(twice_lambda) * sqrt(sums->old_squares / sums->grad_squares) : NAN;
    double coordinates = (double)out->data_taps * (double)sums->per_tap;
    out->l2_dominant_fraction = coordinates > 0 ? sums->dominant / coordinates : NAN;
}
