/* parallel.c: the partition-and-reduce scaffold of parallel.h. */
#include "parallel.h"

#include <omp.h>

int parallel_parts(size_t n, size_t unit, parallel_part_fn *part, void *context)
{
    int threads = 1;
    #pragma omp parallel
    {
        int count = omp_get_num_threads(), tid = omp_get_thread_num();
        if (count > PARALLEL_MAX_THREADS) count = PARALLEL_MAX_THREADS;
        #pragma omp single
        threads = count;
        if (tid < count) {
            size_t begin, end;
            parallel_range(n, unit, tid, count, &begin, &end);
            part(context, tid, begin, end);
        }
    }
    return threads;
}
