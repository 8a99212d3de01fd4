/* stats.c: blocked one-pass tensor statistics (see stats.h). */
#include "stats.h"

#include <math.h>

#include "finite.h"
#include "parallel.h"

/* Elements per block: long enough that folding the lanes into the double
 * accumulators is rare, short enough that each lane's float sum (BLOCK /
 * LANES = 64 terms) stays accurate to ~1e-6 before it is folded. */
#define BLOCK 1024
#define LANES 16

void stats_clear(tensor_stats *s)
{
    s->count = s->nan_count = s->posinf_count = s->neginf_count = s->zero_count = 0;
    s->first_nonfinite = -1;
    s->shift = 0.0;
    s->sum = s->sum_squares = 0.0;
    s->min = INFINITY;
    s->max = -INFINITY;
}

/* Element by element in double, classifying by bit pattern. */
static void accumulate_exact(tensor_stats *s, const float *x, size_t n, size_t offset)
{
    int have_shift = stats_finite(s) > 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        int kind = float_class(v);
        if (kind != FLOAT_FINITE) {
            if (s->first_nonfinite < 0) s->first_nonfinite = (int64_t)(offset + i);
            s->nan_count += kind == FLOAT_NAN;
            s->posinf_count += kind == FLOAT_POSITIVE_INF;
            s->neginf_count += kind == FLOAT_NEGATIVE_INF;
            continue;
        }
        if (!have_shift) {
            s->shift = v;
            have_shift = 1;
        }
        double d = (double)v - s->shift;
        s->sum += d;
        s->sum_squares += d * d;
        s->zero_count += v == 0.0f;
        if (v < s->min) s->min = v;
        if (v > s->max) s->max = v;
    }
    s->count += (int64_t)n;
}

void stats_accumulate(tensor_stats *s, const float *x, size_t n, size_t offset)
{
    size_t done = 0;
    /* The shift must come from a finite value before the fast path can use it. */
    while (done < n && stats_finite(s) == 0) {
        size_t take = n - done < BLOCK ? n - done : BLOCK;
        accumulate_exact(s, x + done, take, offset + done);
        done += take;
    }
    const float shift = (float)s->shift;
    for (; done < n; done += BLOCK) {
        size_t take = n - done < BLOCK ? n - done : BLOCK;
        const float *b = x + done;
        /* LANES independent accumulators: the compiler maps each array onto
         * one vector register, and no reassociation (fast-math) is needed. */
        /* Zeros are counted in float lanes too (exact below 2^24), keeping
         * the loop in one register type. */
        float sums[LANES] = {0}, squares_lane[LANES] = {0}, lows[LANES], highs[LANES], zeros_lane[LANES] = {0};
        for (int l = 0; l < LANES; l++) {
            lows[l] = INFINITY;
            highs[l] = -INFINITY;
        }
        size_t i = 0;
        for (; i + LANES <= take; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float v = b[i + l], d = v - shift;
                sums[l] += d;
                squares_lane[l] += d * d;
                zeros_lane[l] += v == 0.0f ? 1.0f : 0.0f;
                lows[l] = v < lows[l] ? v : lows[l];
                highs[l] = v > highs[l] ? v : highs[l];
            }
        for (int l = 0; i < take; i++, l++) {
            float v = b[i], d = v - shift;
            sums[l] += d;
            squares_lane[l] += d * d;
            zeros_lane[l] += v == 0.0f ? 1.0f : 0.0f;
            lows[l] = v < lows[l] ? v : lows[l];
            highs[l] = v > highs[l] ? v : highs[l];
        }
        float sum = 0.0f, squares = 0.0f, lo = INFINITY, hi = -INFINITY;
        int zeros = 0;
        for (int l = 0; l < LANES; l++) {
            sum += sums[l];
            squares += squares_lane[l];
            zeros += (int)zeros_lane[l];
            lo = lows[l] < lo ? lows[l] : lo;
            hi = highs[l] > hi ? highs[l] : hi;
        }
        /* A NaN or Inf anywhere in the block makes sum or squares non-finite
         * (Inf - Inf is NaN, so opposite Infs cannot cancel). */
        if (!float_is_finite(sum) || !float_is_finite(squares)) {
            accumulate_exact(s, b, take, offset + done);
            continue;
        }
        s->sum += sum;
        s->sum_squares += squares;
        s->zero_count += zeros;
        if (lo < s->min) s->min = lo;
        if (hi > s->max) s->max = hi;
        s->count += (int64_t)take;
    }
}

void stats_merge(tensor_stats *a, const tensor_stats *b)
{
    if (b->count == 0) return;
    if (a->first_nonfinite < 0 && b->first_nonfinite >= 0) a->first_nonfinite = b->first_nonfinite;
    int64_t finite_a = stats_finite(a), finite_b = stats_finite(b);
    if (finite_a == 0) {
        a->shift = b->shift;
        a->sum = b->sum;
        a->sum_squares = b->sum_squares;
    } else if (finite_b > 0) {
        /* Re-centre b's sums on a's shift: d' = d + delta. */
        double delta = b->shift - a->shift;
        a->sum_squares += b->sum_squares + 2.0 * delta * b->sum + (double)finite_b * delta * delta;
        a->sum += b->sum + (double)finite_b * delta;
    }
    a->count += b->count;
    a->nan_count += b->nan_count;
    a->posinf_count += b->posinf_count;
    a->neginf_count += b->neginf_count;
    a->zero_count += b->zero_count;
    if (b->min < a->min) a->min = b->min;
    if (b->max > a->max) a->max = b->max;
}

typedef struct stats_job {
    const float *x;
    tensor_stats *parts;
} stats_job;

static void stats_part(void *context, int part, size_t begin, size_t end)
{
    stats_job *job = context;
    stats_clear(&job->parts[part]);
    if (begin < end) stats_accumulate(&job->parts[part], job->x + begin, end - begin, begin);
}

void stats_compute(const float *x, size_t n, tensor_stats *s)
{
    stats_clear(s);
    if (n < 65536) {
        stats_accumulate(s, x, n, 0);
        return;
    }
    tensor_stats parts[PARALLEL_MAX_THREADS];
    stats_job job = {.x = x, .parts = parts};
    int threads = parallel_parts(n, BLOCK, stats_part, &job);
    for (int t = 0; t < threads; t++) stats_merge(s, &parts[t]);
}

void stats_add_block(tensor_stats *s, double shift, double sum, double squares, float min, float max,
                     int64_t zeros, int64_t n)
{
    tensor_stats block;
    stats_clear(&block);
    block.count = n;
    block.shift = shift;
    block.sum = sum;
    block.sum_squares = squares;
    block.min = min;
    block.max = max;
    block.zero_count = zeros;
    stats_merge(s, &block);
}

int64_t stats_nonfinite(const tensor_stats *s)
{
    return s->nan_count + s->posinf_count + s->neginf_count;
}

int64_t stats_finite(const tensor_stats *s)
{
    return s->count - stats_nonfinite(s);
}

double stats_mean(const tensor_stats *s)
{
    int64_t n = stats_finite(s);
    return n ? s->shift + s->sum / (double)n : NAN;
}

double stats_std(const tensor_stats *s)
{
    int64_t n = stats_finite(s);
    if (!n) return NAN;
    double m = s->sum / (double)n;
    double var = s->sum_squares / (double)n - m * m;
    return var > 0.0 ? sqrt(var) : 0.0;
}

double stats_sum_squares(const tensor_stats *s)
{
    int64_t n = stats_finite(s);
    /* sum (d + shift)^2 = sum d^2 + 2 shift sum d + n shift^2 */
    double v = s->sum_squares + 2.0 * s->shift * s->sum + (double)n * s->shift * s->shift;
    return v > 0.0 ? v : 0.0;
}

double stats_l2norm(const tensor_stats *s)
{
    return sqrt(stats_sum_squares(s));
}

double stats_absmax(const tensor_stats *s)
{
    if (stats_finite(s) == 0) return NAN;
    return fmax(fabs((double)s->min), fabs((double)s->max));
}
