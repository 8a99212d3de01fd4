/* db_memory.c: a segregated free-list allocator for SQLite (see db_memory.h).
 *
 * Size classes go 16, 24, 32, 48, 64, 96, ... (powers of two and 1.5 times
 * powers of two) up to 96 KiB, so no block wastes more than a third of its
 * size; SQLite's 4 KiB pages (plus its header) land in the 6 KiB class.
 * Each block starts with a 16-byte header holding its class (or, for blocks
 * above the largest class, which go straight to malloc, their size), which
 * keeps the user pointer 16-byte aligned.  Freed blocks are never returned
 * to the system: the working set of a training run is a few megabytes. */
#include "db_memory.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define HEADER 16
#define CLASSES 26 /* 16 ... 98304 */
#define LARGE 255
#define SLAB_BYTES ((size_t)1 << 20)

typedef struct free_block {
    struct free_block *next;
} free_block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static free_block *free_lists[CLASSES];
static char *slab_next, *slab_end;
static size_t system_bytes;

static size_t class_bytes(int c)
{
    /* 16 << (c/2), times 1.5 for odd classes */
    size_t base = (size_t)16 << (c / 2);
    return c % 2 ? base + base / 2 : base;
}

static int class_of(size_t bytes)
{
    for (int c = 0; c < CLASSES; c++)
        if (class_bytes(c) >= bytes) return c;
    return LARGE;
}

/* The header's first word: the class, or LARGE with the size in the second. */
static void header_write(char *block, int c, size_t bytes)
{
    size_t words[2] = {(size_t)c, bytes};
    memcpy(block, words, sizeof words);
}

static void header_read(const char *user, int *c, size_t *bytes)
{
    size_t words[2];
    memcpy(words, user - HEADER, sizeof words);
    *c = (int)words[0];
    *bytes = words[1];
}

static char *carve(size_t total)
{
    if ((size_t)(slab_end - slab_next) < total) {
        /* The rest of the old slab is dropped: at most one block's worth. */
        char *slab = malloc(SLAB_BYTES);
        if (!slab) return NULL;
        system_bytes += SLAB_BYTES;
        slab_next = slab;
        slab_end = slab + SLAB_BYTES;
    }
    char *block = slab_next;
    slab_next += total;
    return block;
}

void *db_memory_allocate(int bytes)
{
    if (bytes <= 0) return NULL;
    int c = class_of((size_t)bytes);
    if (c == LARGE) {
        char *block = malloc((size_t)bytes + HEADER);
        if (!block) return NULL;
        pthread_mutex_lock(&lock);
        system_bytes += (size_t)bytes + HEADER;
        pthread_mutex_unlock(&lock);
        header_write(block, LARGE, (size_t)bytes);
        return block + HEADER;
    }
    pthread_mutex_lock(&lock);
    char *block;
    if (free_lists[c]) {
        block = (char *)free_lists[c];
        free_lists[c] = free_lists[c]->next;
    } else {
        block = carve(class_bytes(c) + HEADER);
    }
    pthread_mutex_unlock(&lock);
    if (!block) return NULL;
    header_write(block, c, class_bytes(c));
    return block + HEADER;
}

void db_memory_release(void *p)
{
    if (!p) return;
    int c;
    size_t bytes;
    header_read(p, &c, &bytes);
    char *block = (char *)p - HEADER;
    if (c == LARGE) {
        pthread_mutex_lock(&lock);
        system_bytes -= bytes + HEADER;
        pthread_mutex_unlock(&lock);
        free(block);
        return;
    }
    pthread_mutex_lock(&lock);
    free_block *f = (free_block *)block;
    f->next = free_lists[c];
    free_lists[c] = f;
    pthread_mutex_unlock(&lock);
}

int db_memory_size(void *p)
{
    if (!p) return 0;
    int c;
    size_t bytes;
    header_read(p, &c, &bytes);
    return (int)bytes;
}

void *db_memory_resize(void *p, int bytes)
{
    if (!p) return db_memory_allocate(bytes);
    int old = db_memory_size(p);
    if (bytes <= old && class_of((size_t)bytes) != LARGE && class_of((size_t)bytes) == class_of((size_t)old))
        return p;
    void *q = db_memory_allocate(bytes);
    if (!q) return NULL;
    memcpy(q, p, (size_t)(old < bytes ? old : bytes));
    db_memory_release(p);
    return q;
}

size_t db_memory_system_bytes(void)
{
    pthread_mutex_lock(&lock);
    size_t n = system_bytes;
    pthread_mutex_unlock(&lock);
    return n;
}

static int roundup(int bytes)
{
    int c = class_of((size_t)bytes);
    return c == LARGE ? (bytes + 7) & ~7 : (int)class_bytes(c);
}

static int init(void *unused)
{
    (void)unused;
    return SQLITE_OK;
}

static void shutdown_memory(void *unused)
{
    (void)unused;
}

int db_memory_install(void)
{
    static const sqlite3_mem_methods methods = {db_memory_allocate, db_memory_release, db_memory_resize,
                                                db_memory_size,     roundup,           init,
                                                shutdown_memory,    NULL};
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK ? 0 : -1;
}
