/* optimizer.c: the whole-model Adam step, plain or with fused statistics
 * (see optimizer.h). */
#include "optimizer.h"

#include <math.h>
#include <omp.h>
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

/* max |x|, NaN if any x is NaN. */
static float chunk_max_abs(const float *x, size_t n)
{
    float lanes[LANES] = {0}, largest = 0.0f;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float a = fabsf(x[i + l]);
            lanes[l] = a > lanes[l] || a != a ? a : lanes[l];
        }
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        largest = a > largest || a != a ? a : largest;
    }
    for (int l = 0; l < LANES; l++) largest = lanes[l] > largest || lanes[l] != lanes[l] ? lanes[l] : largest;
    return largest;
}

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
        if (ratio > s->max_ratio || ratio != ratio) s->max_ratio = ratio;
        stats_accumulate(&s->value, wc, n, start);
        stats_accumulate(&s->gradient, gc, n, start);
        stats_accumulate(&s->update, applied, n, start);
        stats_accumulate(&s->adam_m, mc, n, start);
        stats_accumulate(&s->adam_v, vc, n, start);
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
}

static void merge_step_stats(parameter_step_stats *a, const parameter_step_stats *b)
{
    stats_merge(&a->value, &b->value);
    stats_merge(&a->gradient, &b->gradient);
    stats_merge(&a->update, &b->update);
    stats_merge(&a->adam_m, &b->adam_m);
    stats_merge(&a->adam_v, &b->adam_v);
    a->old_sum_squares += b->old_sum_squares;
    if (b->max_ratio > a->max_ratio || b->max_ratio != b->max_ratio) a->max_ratio = b->max_ratio;
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
    parameter_step_stats parts[PARALLEL_MAX_THREADS];
    double part_squares[PARALLEL_MAX_THREADS];
    int threads = 1;
    #pragma omp parallel
    {
        int count = omp_get_num_threads(), tid = omp_get_thread_num();
        if (count > PARALLEL_MAX_THREADS) count = PARALLEL_MAX_THREADS;
        #pragma omp single
        threads = count;
        if (tid < count) {
            size_t begin, end;
            parallel_range(n, CHUNK, tid, count, &begin, &end);
            part_squares[tid] = 0.0;
            if (s) clear_step_stats(&parts[tid]);
            if (begin < end)
                update_range(c, alpha, twice_lambda, p->value.data, p->gradient, p->adam_m, p->adam_v, begin, end,
                             s ? &parts[tid] : NULL, &part_squares[tid]);
        }
    }
    for (int t = 0; t < threads; t++) {
        squares += part_squares[t];
        if (s) merge_step_stats(s, &parts[t]);
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
