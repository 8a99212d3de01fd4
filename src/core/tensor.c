/* tensor.c: tensor headers and arenas (see tensor.h). */
#include "tensor.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

size_t tensor_shape_count(int rank, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)shape[i];
    return n;
}

tensor tensor_make(real *data, int rank, const int *shape)
{
    assert(rank >= 0 && rank <= TENSOR_MAX_RANK);
    tensor t;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.shape[i] = shape[i];
    t.count = tensor_shape_count(rank, shape);
    return t;
}

void tensor_format_shape(const tensor *t, int skip_batch, char *out, size_t out_size)
{
    size_t len = 0;
    len += (size_t)snprintf(out + len, out_size - len, "(");
    for (int i = 0; i < t->rank && len < out_size; i++) {
        if (i == 0 && skip_batch)
            len += (size_t)snprintf(out + len, out_size - len, "None");
        else
            len += (size_t)snprintf(out + len, out_size - len, "%d", t->shape[i]);
        if (i + 1 < t->rank && len < out_size)
            len += (size_t)snprintf(out + len, out_size - len, ", ");
    }
    if (len < out_size) snprintf(out + len, out_size - len, ")");
}

size_t arena_round(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

real *arena_take(arena *a, size_t n)
{
    size_t rounded = arena_round(n);
    real *p = NULL;
    if (a->base) {
        assert(a->used + rounded <= a->capacity);
        p = a->base + a->used;
    }
    a->used += rounded;
    return p;
}

/* Arenas come straight from mmap: the pages arrive zeroed (no memset pass
 * over a gigabyte), and transparent huge pages, where the kernel offers them
 * on request, cut both the page faults of the first step and the TLB misses
 * of every GEMM. */
int arena_place(arena *a)
{
    assert(a->base == NULL);
    a->capacity = a->used > 0 ? a->used : 16;
    a->used = 0;
    size_t bytes = a->capacity * sizeof(real);
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    a->base = p;
    return 0;
}

void arena_free(arena *a)
{
    if (a->base) munmap(a->base, a->capacity * sizeof(real));
    memset(a, 0, sizeof *a);
}
