/* parallel.h: how work is split over OpenMP threads when the result must
 * not depend on scheduling: thread t of T takes the t-th of T contiguous
 * ranges, cut at multiples of `unit` (a block or chunk size), and partial
 * results are combined in thread order.  The result then depends on the
 * thread count only, and with --threads 1 runs are bit-identical. */
#ifndef NANPROBE_PARALLEL_H
#define NANPROBE_PARALLEL_H

#include <stddef.h>

/* The most threads whose partial results a caller keeps on its stack. */
#define PARALLEL_MAX_THREADS 64

static inline void parallel_range(size_t n, size_t unit, int tid, int threads, size_t *begin, size_t *end)
{
    size_t units = (n + unit - 1) / unit;
    *begin = units * (size_t)tid / (size_t)threads * unit;
    *end = units * (size_t)(tid + 1) / (size_t)threads * unit;
    if (*end > n) *end = n;
    if (*begin > n) *begin = n;
}

#endif
