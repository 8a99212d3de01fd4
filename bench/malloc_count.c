/* malloc_count.c: an LD_PRELOAD shim for `make bench` that counts heap
 * allocations (malloc, calloc, realloc, aligned allocations) and prints the
 * total at exit.  Running the trainer for N and for 2N steps and taking the
 * difference gives the allocations of N steady-state steps.
 *
 *   gcc -shared -fPIC -O2 -o malloc_count.so bench/malloc_count.c -ldl
 *   LD_PRELOAD=./malloc_count.so ./nanprobe train ...
 *
 * prints "malloc_count: N openblas: M" on stderr, M being the allocations
 * made from inside libopenblas (0.3.21's small-matrix sgemm kernels take a
 * ~9 KB buffer from malloc on every call), so that nanprobe's own count is
 * N - M. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long count;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

/* dlsym itself may call calloc before real_calloc is known. */
static char bootstrap[8192];
static size_t bootstrap_used;

/* Allocations by return address, classified at exit (dladdr may itself
 * allocate, so it is not called from inside malloc).  An open-addressing
 * table; callers beyond its size are counted but not classified. */
#define CALLERS 8192
static _Atomic(uintptr_t) caller_address[CALLERS];
static atomic_long caller_count[CALLERS];

static void count_from(void *caller)
{
    atomic_fetch_add(&count, 1);
    uintptr_t a = (uintptr_t)caller;
    for (size_t i = (a >> 4) % CALLERS, probes = 0; a && probes < CALLERS; i = (i + 1) % CALLERS, probes++) {
        uintptr_t seen = atomic_load(&caller_address[i]);
        if (seen == 0 && atomic_compare_exchange_strong(&caller_address[i], &seen, a)) seen = a;
        if (seen == a) {
            atomic_fetch_add(&caller_count[i], 1);
            return;
        }
    }
}

static void resolve(void)
{
    if (real_malloc) return;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
}

void *malloc(size_t n)
{
    resolve();
    count_from(__builtin_return_address(0));
    return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (!real_calloc) {
        size_t bytes = (n * size + 15) & ~(size_t)15;
        if (bootstrap_used + bytes > sizeof bootstrap) return NULL;
        void *p = bootstrap + bootstrap_used;
        bootstrap_used += bytes;
        return p;
    }
    count_from(__builtin_return_address(0));
    return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    resolve();
    count_from(__builtin_return_address(0));
    return real_realloc(p, n);
}

int posix_memalign(void **p, size_t alignment, size_t n)
{
    resolve();
    count_from(__builtin_return_address(0));
    return real_posix_memalign(p, alignment, n);
}

void *aligned_alloc(size_t alignment, size_t n)
{
    resolve();
    count_from(__builtin_return_address(0));
    return real_aligned_alloc(alignment, n);
}

void free(void *p)
{
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

__attribute__((destructor)) static void report(void)
{
    long openblas = 0;
    for (size_t i = 0; i < CALLERS; i++) {
        Dl_info info;
        void *a = (void *)atomic_load(&caller_address[i]);
        if (a && dladdr(a, &info) && info.dli_fname && strstr(info.dli_fname, "openblas"))
            openblas += atomic_load(&caller_count[i]);
    }
    char line[96];
    int n = snprintf(line, sizeof line, "malloc_count: %ld openblas: %ld\n", (long)atomic_load(&count), openblas);
    if (write(2, line, (size_t)n) < 0) return;
}
