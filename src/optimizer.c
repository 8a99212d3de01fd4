/* optimizer.c: the whole-model Adam step, plain or with fused statistics
 * (see optimizer.h). */
#include "optimizer.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Elements updated before their statistics are taken: small enough to stay
 * in L1 between the update and the five statistics passes. */
#define CHUNK 256
/* Below this many elements a tensor is updated on one thread. */
#define PARALLEL_MIN 32768

/* Updates w[begin, end) and adds the chunk statistics to *s. */
static void update_range(const adam_config *c, float alpha, float twice_lambda, float *w, const float *g, float *m,
                         float *v, size_t begin, size_t end, parameter_step_stats *s)
{
    float applied[CHUNK];
    for (size_t start = begin; start < end; start += CHUNK) {
        size_t n = end - start < CHUNK ? end - start : CHUNK;
        float old_squares[16] = {0}, ratios[16] = {0};
        for (size_t i = 0; i < n; i++) {
            float penalty, old = w[start + i];
            float updated = adam_update_element(c, alpha, twice_lambda, old, g[start + i], &m[start + i],
                                                &v[start + i], &penalty);
            w[start + i] = updated;
            applied[i] = updated - old;
            old_squares[i % 16] += old * old;
            float ratio = fabsf(m[start + i]) / (sqrtf(v[start + i]) + c->epsilon);
            ratios[i % 16] = ratio > ratios[i % 16] ? ratio : ratios[i % 16];
        }
        for (int l = 0; l < 16; l++) {
            s->old_sum_squares += old_squares[l];
            if (ratios[l] > s->max_ratio || ratios[l] != ratios[l]) s->max_ratio = ratios[l];
        }
        stats_accumulate(&s->value, w + start, n, start);
        stats_accumulate(&s->gradient, g + start, n, start);
        stats_accumulate(&s->update, applied, n, start);
        stats_accumulate(&s->adam_m, m + start, n, start);
        stats_accumulate(&s->adam_v, v + start, n, start);
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

static void update_probed(const adam_config *c, float alpha, float twice_lambda, parameter *p,
                          parameter_step_stats *s)
{
    const size_t n = p->value.count;
    clear_step_stats(s);
    s->step_size = alpha;
    if (n < PARALLEL_MIN) {
        update_range(c, alpha, twice_lambda, p->value.data, p->gradient, p->adam_m, p->adam_v, 0, n, s);
        return;
    }
    parameter_step_stats parts[64];
    int threads = 1;
    #pragma omp parallel
    {
        int count = omp_get_num_threads(), tid = omp_get_thread_num();
        if (count > 64) count = 64;
        #pragma omp single
        threads = count;
        if (tid < count) {
            /* Chunk-aligned contiguous ranges: deterministic for a thread count. */
            size_t chunks = (n + CHUNK - 1) / CHUNK;
            size_t begin = chunks * tid / count * CHUNK, end = chunks * (tid + 1) / count * CHUNK;
            if (end > n) end = n;
            clear_step_stats(&parts[tid]);
            if (begin < end)
                update_range(c, alpha, twice_lambda, p->value.data, p->gradient, p->adam_m, p->adam_v, begin, end,
                             &parts[tid]);
        }
    }
    for (int t = 0; t < threads; t++) merge_step_stats(s, &parts[t]);
}

/* Plain update; returns the sum of the new w^2. */
static double update_plain(const adam_config *c, float alpha, float twice_lambda, parameter *p)
{
    const size_t n = p->value.count;
    float *w = p->value.data, *m = p->adam_m, *v = p->adam_v;
    const float *g = p->gradient;
    double total = 0.0;
    #pragma omp parallel for schedule(static) reduction(+ : total) if (n >= PARALLEL_MIN)
    for (size_t start = 0; start < n; start += CHUNK) {
        size_t end = n - start < CHUNK ? n : start + CHUNK;
        float squares[16] = {0};
        for (size_t i = start; i < end; i++) {
            float penalty;
            w[i] = adam_update_element(c, alpha, twice_lambda, w[i], g[i], &m[i], &v[i], &penalty);
            squares[i % 16] += w[i] * w[i];
        }
        for (int l = 0; l < 16; l++) total += squares[l];
    }
    return total;
}

double optimizer_step(model *m, const adam_config *c, float learning_rate, long t, float lambda,
                      parameter_step_stats *stats)
{
    const float alpha = adam_step_size(c, learning_rate, t);
    double kernel_squares = 0.0;
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        if (!p->trainable) continue;
        const float twice_lambda = p->regularized ? 2.0f * lambda : 0.0f;
        if (stats) {
            update_probed(c, alpha, twice_lambda, p, &stats[i]);
            /* The statistics skip non-finite values; the penalty must not. */
            if (p->regularized)
                kernel_squares += stats_nonfinite(&stats[i].value) ? (double)NAN : stats_sum_squares(&stats[i].value);
        } else {
            double squares = update_plain(c, alpha, twice_lambda, p);
            if (p->regularized) kernel_squares += squares;
        }
    }
    return kernel_squares;
}
