/* malloc_count.c: an LD_PRELOAD shim for `make bench` that counts heap
 * allocations (malloc, calloc, realloc, aligned allocations) and prints the
 * total at exit.  Running the trainer for N and for 2N steps and taking the
 * difference gives the allocations of N steady-state steps.
 *
 *   gcc -shared -fPIC -O2 -o malloc_count.so bench/malloc_count.c -ldl
 *   LD_PRELOAD=./malloc_count.so ./nanprobe train ...   (prints "malloc_count: N" on stderr) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
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
    atomic_fetch_add(&count, 1);
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
    atomic_fetch_add(&count, 1);
    return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    resolve();
    atomic_fetch_add(&count, 1);
    return real_realloc(p, n);
}

int posix_memalign(void **p, size_t alignment, size_t n)
{
    resolve();
    atomic_fetch_add(&count, 1);
    return real_posix_memalign(p, alignment, n);
}

void *aligned_alloc(size_t alignment, size_t n)
{
    resolve();
    atomic_fetch_add(&count, 1);
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
    char line[64];
    int n = snprintf(line, sizeof line, "malloc_count: %ld\n", (long)atomic_load(&count));
    if (write(2, line, (size_t)n) < 0) return;
}
