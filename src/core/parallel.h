/* parallel.h (and parallel.c): how work is split over OpenMP threads when the result must
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

/* The partition-and-reduce scaffold: calls part(context, t, begin, end)
 * once on each thread t of an OpenMP team (at most PARALLEL_MAX_THREADS),
 * with thread t's range of [0, n) (possibly empty, so each part can clear
 * its partial result).  Returns how many parts there were; the caller
 * combines them in order 0, 1, ... so the result depends on the thread
 * count only. */
typedef void parallel_part_fn(void *context, int part, size_t begin, size_t end);
int parallel_parts(size_t n, size_t unit, parallel_part_fn *part, void *context);

#endif
