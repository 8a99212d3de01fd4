/* checkpoint.c: atomic save and checked load of a run's full state (see
 * checkpoint.h).
 *
 * Layout: "NPCKPT01", u32 argc, argc x (u32 length, bytes), u32
 * sizeof(state), state, then for each buffer (weights, moving statistics,
 * Adam m, Adam v) u64 count and count floats, and last a u64 checksum of
 * everything before it.  The state is a raw struct: a checkpoint is read
 * back by the same build that wrote it (its size is checked). */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "NPCKPT01"

/* A word-wise FNV-style hash: fast enough for a gigabyte, and any flipped
 * bit changes it. */
typedef struct checksum {
    uint64_t h;
} checksum;

static void checksum_add(checksum *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = c->h;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (size_t i = words * 8; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    c->h = h;
}

typedef struct writer {
    FILE *f;
    checksum sum;
    int failed;
} writer;

static void put(writer *w, const void *data, size_t n)
{
    if (w->failed) return;
    checksum_add(&w->sum, data, n);
    if (fwrite(data, 1, n, w->f) != n) w->failed = errno ? errno : EIO;
}

static void put_u32(writer *w, uint32_t v)
{
    put(w, &v, sizeof v);
}

static void put_buffer(writer *w, const arena *a)
{
    uint64_t count = a->capacity;
    put(w, &count, sizeof count);
    put(w, a->base, a->capacity * sizeof(float));
}

static const arena *saved_buffers(const model *m, int i)
{
    const arena *buffers[] = {&m->weights, &m->moving, &m->adam_m, &m->adam_v};
    return buffers[i];
}

int checkpoint_save(const char *dir, const checkpoint_state *state, const model *m, int argc, char *const *argv,
                    error *err)
{
    char path[4096], temporary[4096];
    snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINT_FILE);
    snprintf(temporary, sizeof temporary, "%s/%s.tmp", dir, CHECKPOINT_FILE);
    /* A name planted in the directory (a symlink to a file of the user's) is
     * removed, never followed: created with O_EXCL | O_NOFOLLOW. */
    unlink(temporary);
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    writer w = {.f = fd >= 0 ? fdopen(fd, "wb") : NULL, .sum = {0xcbf29ce484222325ull}};
    if (!w.f) {
        int e = errno;
        if (fd >= 0) close(fd);
        return error_set(err, "%s: cannot create: %s", temporary, strerror(e));
    }
    errno = 0;
    put(&w, MAGIC, 8);
    put_u32(&w, (uint32_t)argc);
    for (int i = 0; i < argc; i++) {
        uint32_t length = (uint32_t)strlen(argv[i]);
        put_u32(&w, length);
        put(&w, argv[i], length);
    }
    put_u32(&w, (uint32_t)sizeof *state);
    put(&w, state, sizeof *state);
    for (int i = 0; i < 4; i++) put_buffer(&w, saved_buffers(m, i));
    uint64_t total = w.sum.h;
    if (!w.failed && fwrite(&total, sizeof total, 1, w.f) != 1) w.failed = errno ? errno : EIO;
    if (!w.failed && fflush(w.f) != 0) w.failed = errno;
    if (!w.failed && fsync(fileno(w.f)) != 0) w.failed = errno;
    if (fclose(w.f) != 0 && !w.failed) w.failed = errno ? errno : EIO;
    if (w.failed) {
        unlink(temporary);
        return error_set(err, "%s: cannot write the checkpoint: %s (the previous checkpoint is kept)", temporary,
                         strerror(w.failed));
    }
    if (rename(temporary, path) != 0) {
        int e = errno;
        unlink(temporary);
        return error_set(err, "%s: cannot replace the checkpoint: %s", path, strerror(e));
    }
    /* Make the rename itself durable. */
    int dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
        fsync(dir_fd);
        close(dir_fd);
    }
    return 0;
}

typedef struct reader {
    FILE *f;
    checksum sum;
    const char *path;
} reader;

static int get(reader *r, void *data, size_t n, error *err)
{
    if (fread(data, 1, n, r->f) != n)
        return error_set(err, "%s: truncated checkpoint (expected more data)", r->path);
    checksum_add(&r->sum, data, n);
    return 0;
}

static int open_checked(reader *r, const char *dir, char *path, size_t path_size, error *err)
{
    snprintf(path, path_size, "%s/%s", dir, CHECKPOINT_FILE);
    r->path = path;
    r->sum.h = 0xcbf29ce484222325ull;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    r->f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!r->f && fd >= 0) close(fd);
    if (!r->f) return error_set(err, "%s: cannot open: %s (is this a run directory?)", path, strerror(errno));
    char magic[8];
    if (get(r, magic, 8, err) || memcmp(magic, MAGIC, 8) != 0) {
        fclose(r->f);
        return error_set(err, "%s: not a nanprobe checkpoint", path);
    }
    return 0;
}

/* Reads the argument list; with argv NULL it is skipped. */
static int read_arguments(reader *r, int *argc, char ***argv, error *err)
{
    uint32_t count;
    if (get(r, &count, 4, err)) return -1;
    if (count > 4096) return error_set(err, "%s: damaged checkpoint (argument count %u)", r->path, count);
    char **list = NULL;
    size_t used = 0, capacity = 0;
    char *strings = NULL;
    uint32_t *lengths = calloc(count + 1, sizeof *lengths);
    if (!lengths) return error_set(err, "out of memory reading %s", r->path);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t length;
        if (get(r, &length, 4, err)) goto fail;
        if (length > 65536) {
            error_set(err, "%s: damaged checkpoint (argument length %u)", r->path, length);
            goto fail;
        }
        if (used + length + 1 > capacity) {
            capacity = (used + length + 1) * 2;
            char *grown = realloc(strings, capacity);
            if (!grown) goto fail;
            strings = grown;
        }
        if (get(r, strings + used, length, err)) goto fail;
        strings[used + length] = '\0';
        lengths[i] = length;
        used += length + 1;
    }
    if (argv) {
        /* One block: the pointer array, then the strings. */
        list = malloc(sizeof(char *) * (count + 1) + used + 1);
        if (!list) goto fail;
        char *copy = (char *)(list + count + 1);
        if (used) memcpy(copy, strings, used);
        for (uint32_t i = 0, offset = 0; i < count; i++) {
            list[i] = copy + offset;
            offset += lengths[i] + 1;
        }
        list[count] = NULL;
        *argv = list;
        *argc = (int)count;
    }
    free(strings);
    free(lengths);
    return 0;
fail:
    free(strings);
    free(lengths);
    return -1;
}

/* Hashes n bytes as one put() of the writer did (8-byte words, then the
 * tail), in chunks that keep the word alignment. */
static int skip_checked(reader *r, uint64_t n, error *err)
{
    static unsigned char chunk[1 << 16];
    while (n > 0) {
        size_t part = n > sizeof chunk ? sizeof chunk : (size_t)n;
        if (get(r, chunk, part, err)) return -1;
        n -= part;
    }
    return 0;
}

/* The rest of the file after the arguments, checked against its checksum
 * without a model to load into: the stored options are trusted only once
 * the whole file is known intact (a flipped bit in "--width=2" must read as
 * a damaged checkpoint, not as a checkpoint of another model). */
static int verify_rest(reader *r, error *err)
{
    struct stat st;
    uint32_t state_size;
    if (fstat(fileno(r->f), &st) != 0 || get(r, &state_size, 4, err)) return -1;
    if (state_size > 1u << 20) return error_set(err, "%s: damaged checkpoint (state of %u bytes)", r->path, state_size);
    if (skip_checked(r, state_size, err)) return -1;
    for (int i = 0; i < 4; i++) {
        uint64_t count;
        if (get(r, &count, sizeof count, err)) return -1;
        if (count > (uint64_t)st.st_size / sizeof(float))
            return error_set(err, "%s: damaged checkpoint (a buffer of %llu floats in a file of %lld bytes)", r->path,
                             (unsigned long long)count, (long long)st.st_size);
        if (skip_checked(r, count * sizeof(float), err)) return -1;
    }
    uint64_t expected = r->sum.h, stored;
    if (fread(&stored, sizeof stored, 1, r->f) != 1)
        return error_set(err, "%s: truncated checkpoint (no checksum)", r->path);
    if (stored != expected) return error_set(err, "%s: damaged checkpoint (checksum mismatch)", r->path);
    return 0;
}

int checkpoint_read_arguments(const char *dir, int *argc, char ***argv, error *err)
{
    char path[4096];
    reader r;
    if (open_checked(&r, dir, path, sizeof path, err)) return -1;
    int rc = read_arguments(&r, argc, argv, err);
    if (rc == 0 && verify_rest(&r, err)) {
        if (argv) free(*argv), *argv = NULL;
        rc = -1;
    }
    fclose(r.f);
    return rc;
}

int checkpoint_load(const char *dir, checkpoint_state *state, model *m, error *err)
{
    char path[4096];
    reader r;
    if (open_checked(&r, dir, path, sizeof path, err)) return -1;
    uint32_t state_size;
    int rc = read_arguments(&r, NULL, NULL, err);
    if (rc == 0) rc = get(&r, &state_size, 4, err);
    if (rc == 0 && state_size != sizeof *state)
        rc = error_set(err, "%s: written by a different nanprobe build (state of %u bytes, expected %zu)", path,
                       state_size, sizeof *state);
    if (rc == 0) rc = get(&r, state, sizeof *state, err);
    for (int i = 0; i < 4 && rc == 0; i++) {
        const arena *a = saved_buffers(m, i);
        uint64_t count;
        rc = get(&r, &count, sizeof count, err);
        if (rc == 0 && count != a->capacity)
            rc = error_set(err, "%s: holds a different model (buffer of %llu floats, this model has %zu)", path,
                           (unsigned long long)count, a->capacity);
        if (rc == 0) rc = get(&r, a->base, a->capacity * sizeof(float), err);
    }
    uint64_t expected = r.sum.h, stored;
    if (rc == 0 && fread(&stored, sizeof stored, 1, r.f) != 1)
        rc = error_set(err, "%s: truncated checkpoint (no checksum)", path);
    if (rc == 0 && stored != expected) rc = error_set(err, "%s: damaged checkpoint (checksum mismatch)", path);
    fclose(r.f);
    return rc;
}
