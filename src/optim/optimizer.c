/* optimizer.c: the whole-model Adam step, plain or with fused statistics
 * (see optimizer.h). */
#include "optimizer.h"

#include <math.h>
#include <string.h>

#include "parallel.h"

/* Elements updated before their statistics are taken: small enough to stay
 * in L1 between the update and the five statistics passes. */
#define CHUNK 1024
/* Below this many elements a tensor is updated on one thread. */
#define PARALLEL_MIN 32768

/* Sums and maxima of a chunk in LANES independent accumulators, so that
 * the loops vectorize without reassociating anything. */
#define LANES 16

static double chunk_sum_squares(const float *x, size_t n)
{
    float lanes[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) lanes[l] += x[i + l] * x[i + l];
    double total = 0.0;
    for (; i < n; i++) total += (double)x[i] * x[i];
    for (int l = 0; l < LANES; l++) total += lanes[l];
    return total;
}

/* max |x| over the finite and infinite x; a NaN is skipped here (the
 * non-finite counts of m and v, which produce it, report it). */
static float chunk_max_abs(const float *x, size_t n)
{
    float lanes[LANES] = {0}, largest = 0.0f;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float a = fabsf(x[i + l]);
            lanes[l] = a > lanes[l] ? a : lanes[l];
        }
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        largest = a > largest ? a : largest;
    }
    for (int l = 0; l < LANES; l++) largest = lanes[l] > largest ? lanes[l] : largest;
    return largest;
}

/* The statistics of the five tensors of a chunk in one pass: per tensor
 * and lane a shifted sum, a sum of squares, min, max and a zero count, all
 * in vector registers (written out per tensor, not as a loop over tensors,
 * so the compiler keeps every accumulator array in one register).  A
 * tensor whose chunk holds a NaN or Inf (its sums stop being finite) is
 * redone element by element by stats_accumulate. */
#define ACCUMULATE(t, x)                                      \
    do {                                                      \
        float x_ = (x), d_ = x_ - shift[t];                   \
        sum[t][l] += d_;                                      \
        squares[t][l] += d_ * d_;                             \
        zeros[t][l] += x_ == 0.0f ? 1.0f : 0.0f;              \
        lo[t][l] = x_ < lo[t][l] ? x_ : lo[t][l];             \
        hi[t][l] = x_ > hi[t][l] ? x_ : hi[t][l];             \
    } while (0)
#define ACCUMULATE_ALL(k)                     \
    do {                                      \
        ACCUMULATE(0, value[k]);              \
        ACCUMULATE(1, gradient[k]);           \
        ACCUMULATE(2, update[k]);             \
        ACCUMULATE(3, adam_m[k]);             \
        ACCUMULATE(4, adam_v[k]);             \
    } while (0)

static void chunk_statistics(const float *value, const float *gradient, const float *update, const float *adam_m,
                             const float *adam_v, size_t n, size_t offset, parameter_step_stats *s)
{
    enum { TENSORS = 5 };
    const float *data[TENSORS] = {value, gradient, update, adam_m, adam_v};
    tensor_stats *target[TENSORS] = {&s->value, &s->gradient, &s->update, &s->adam_m, &s->adam_v};
    /* Any constant serves as the shift; the chunk's first values keep the
     * sums small where mean^2/var is large (BN gamma near 1). */
    const float shift[TENSORS] = {value[0], gradient[0], update[0], adam_m[0], adam_v[0]};
    float sum[TENSORS][LANES] = {{0}}, squares[TENSORS][LANES] = {{0}}, zeros[TENSORS][LANES] = {{0}};
    float lo[TENSORS][LANES], hi[TENSORS][LANES];
    for (int t = 0; t < TENSORS; t++)
        for (int l = 0; l < LANES; l++) {
            lo[t][l] = INFINITY;
            hi[t][l] = -INFINITY;
        }
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) ACCUMULATE_ALL(i + l);
    for (int l = 0; i < n; i++, l++) ACCUMULATE_ALL(i);
    for (int t = 0; t < TENSORS; t++) {
        double total = 0.0, total_squares = 0.0, zero_total = 0.0;
        float low = INFINITY, high = -INFINITY;
        for (int l = 0; l < LANES; l++) {
            total += sum[t][l];
            total_squares += squares[t][l];
            zero_total += zeros[t][l];
            low = lo[t][l] < low ? lo[t][l] : low;
            high = hi[t][l] > high ? hi[t][l] : high;
        }
        if (isfinite(total) && isfinite(total_squares) && isfinite(shift[t]))
            stats_add_block(target[t], shift[t], total, total_squares, low, high, (int64_t)zero_total, (int64_t)n);
        else
            stats_accumulate(target[t], data[t], n, offset);
    }
}
#undef ACCUMULATE_ALL
#undef ACCUMULATE

/* Updates w[begin, end) chunk by chunk: the update loop first (it
 * vectorizes on its own), then, while the chunk is still in cache, either
 * the sum of the new w^2 (plain) or the statistics of the five tensors
 * (probed), so memory is crossed once either way. */
static void update_range(const adam_config *c, float alpha, float twice_lambda, float *restrict w,
                         const float *restrict g, float *restrict m, float *restrict v, size_t begin, size_t end,
                         parameter_step_stats *s, double *new_squares)
{
    float previous[CHUNK], step[CHUNK], applied[CHUNK];
    /* A local copy: stores through w, m, v cannot alias it, so the
     * constants stay in registers. */
    const adam_config config = *c;
    for (size_t start = begin; start < end; start += CHUNK) {
        size_t n = end - start < CHUNK ? end - start : CHUNK;
        float *wc = w + start, *mc = m + start, *vc = v + start;
        const float *gc = g + start;
        for (size_t i = 0; i < n; i++) {
            previous[i] = wc[i];
            wc[i] = adam_update_element(&config, alpha, twice_lambda, wc[i], gc[i], &mc[i], &vc[i], &step[i]);
        }
        if (!s) {
            *new_squares += chunk_sum_squares(wc, n);
            continue;
        }
        for (size_t i = 0; i < n; i++) applied[i] = wc[i] - previous[i];
        s->old_sum_squares += chunk_sum_squares(previous, n);
        /* step = alpha*m/(sqrt(v)+eps), so max |m|/(sqrt(v)+eps) = max |step| / alpha. */
        float ratio = chunk_max_abs(step, n) / alpha;
        if (ratio > s->max_ratio) s->max_ratio = ratio;
        chunk_statistics(wc, gc, applied, mc, vc, n, start, s);
        tap_sums_add(&s->taps, previous, wc, step, gc, n, start, twice_lambda);
    }
}

static void clear_step_stats(parameter_step_stats *s)
{
    stats_clear(&s->value);
    stats_clear(&s->gradient);
    stats_clear(&s->update);
    stats_clear(&s->adam_m);
    stats_clear(&s->adam_v);
    s->old_sum_squares = 0.0;
    s->max_ratio = 0.0f;
    tap_sums_clear(&s->taps);
}

static void merge_step_stats(parameter_step_stats *a, const parameter_step_stats *b)
{
    stats_merge(&a->value, &b->value);
    stats_merge(&a->gradient, &b->gradient);
    stats_merge(&a->update, &b->update);
    stats_merge(&a->adam_m, &b->adam_m);
    stats_merge(&a->adam_v, &b->adam_v);
    a->old_sum_squares += b->old_sum_squares;
    if (b->max_ratio > a->max_ratio) a->max_ratio = b->max_ratio;
    tap_sums_merge(&a->taps, &b->taps);
}

/* One parameter's update split over threads: each part's statistics and
 * sum of w^2, merged in part order. */
typedef struct update_job {
    const adam_config *c;
    float alpha, twice_lambda;
    parameter *p;
    int with_stats;
    tap_sums split; /* the parameter's tap split, for each part */
    parameter_step_stats parts[PARALLEL_MAX_THREADS];
    double squares[PARALLEL_MAX_THREADS];
} update_job;

static void update_part(void *context, int part, size_t begin, size_t end)
{
    update_job *job = context;
    parameter *p = job->p;
    job->squares[part] = 0.0;
    if (job->with_stats) {
        clear_step_stats(&job->parts[part]);
        job->parts[part].taps.is_data = job->split.is_data;
        job->parts[part].taps.per_tap = job->split.per_tap;
    }
    if (begin < end)
        update_range(job->c, job->alpha, job->twice_lambda, p->value.data, p->gradient, p->adam_m, p->adam_v, begin,
                     end, job->with_stats ? &job->parts[part] : NULL, &job->squares[part]);
}

/* Updates one parameter (its statistics into s unless s is NULL); returns
 * the sum of the new w^2.  Large tensors are split over threads as
 * parallel.h describes. */
static double update_parameter(const adam_config *c, float alpha, float twice_lambda, parameter *p,
                               parameter_step_stats *s)
{
    const size_t n = p->value.count;
    if (s) {
        clear_step_stats(s);
        s->step_size = alpha;
    }
    double squares = 0.0;
    if (n < PARALLEL_MIN) {
        update_range(c, alpha, twice_lambda, p->value.data, p->gradient, p->adam_m, p->adam_v, 0, n, s, &squares);
        return s ? stats_sum_squares(&s->value) : squares;
    }
    update_job job = {.c = c, .alpha = alpha, .twice_lambda = twice_lambda, .p = p, .with_stats = s != NULL};
    if (s) job.split = s->taps;
    int threads = parallel_parts(n, CHUNK, update_part, &job);
    for (int t = 0; t < threads; t++) {
        squares += job.squares[t];
        if (s) merge_step_stats(s, &job.parts[t]);
    }
    /* The statistics skip non-finite values; the penalty must not. */
    if (s) return stats_nonfinite(&s->value) ? (double)NAN : stats_sum_squares(&s->value);
    return squares;
}

double optimizer_step(model *m, const adam_config *c, float learning_rate, long t, float lambda,
                      parameter_step_stats *stats)
{
    const float alpha = adam_step_size(c, learning_rate, t);
    double kernel_squares = 0.0;
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        if (!p->trainable) continue;
        double squares = update_parameter(c, alpha, p->regularized ? 2.0f * lambda : 0.0f, p, stats ? &stats[i] : NULL);
        if (p->regularized) kernel_squares += squares;
    }
    return kernel_squares;
}
