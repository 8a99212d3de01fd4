/* stats.h: one-pass summary statistics of a float tensor, with the
 * non-finite values counted apart.
 *
 * Every statistic but the counts covers the finite elements only, so a tensor
 * with one Inf still shows how large the rest of it was.  Sums are kept in
 * double around a shift (the first finite value seen), which keeps the
 * variance exact to ~1e-12 relative even when mean^2/var is 1e8.
 *
 * The hot loop runs in blocks of float lanes the compiler vectorizes: a
 * block whose float sums come out finite had no NaN or Inf in it (a NaN or
 * an Inf poisons the sum, and so does a square above FLT_MAX); only such
 * blocks are redone in double, element by element, by bit pattern (finite.h),
 * so the test cannot be optimized away whatever the flags. */
#ifndef NANPROBE_STATS_H
#define NANPROBE_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct tensor_stats {
    int64_t count;         /* every element */
    int64_t nan_count, posinf_count, neginf_count;
    int64_t zero_count;    /* exact zeros (+0 and -0) */
    int64_t first_nonfinite; /* flat index of the first NaN/Inf, -1 if none */
    double shift;          /* the sums below are of (x - shift) */
    double sum, sum_squares;
    float min, max;        /* of finite values; +inf/-inf when there are none */
} tensor_stats;

void stats_clear(tensor_stats *s);
/* Statistics of x[0..n); multi-threaded, deterministic for a thread count. */
void stats_compute(const float *x, size_t n, tensor_stats *s);
/* Adds n more elements (numbered from `offset` for first_nonfinite) on this
 * thread; used by loops that produce a tensor in chunks. */
void stats_accumulate(tensor_stats *s, const float *x, size_t n, size_t offset);
/* Folds in one block summarized elsewhere (a fused loop's lanes): n finite
 * elements whose (x - shift) sum to sum with squares squares. */
void stats_add_block(tensor_stats *s, double shift, double sum, double squares, float min, float max,
                     int64_t zeros, int64_t n);
/* Combines b into a, as if a's elements came first. */
void stats_merge(tensor_stats *a, const tensor_stats *b);

int64_t stats_nonfinite(const tensor_stats *s);
int64_t stats_finite(const tensor_stats *s);
double stats_mean(const tensor_stats *s);
double stats_std(const tensor_stats *s);      /* population standard deviation */
double stats_l2norm(const tensor_stats *s);
double stats_absmax(const tensor_stats *s);
double stats_sum_squares(const tensor_stats *s); /* sum of x^2 over finite x */

#endif
