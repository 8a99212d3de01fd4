/* test_files.h: the files and directories tests make, read and remove.
 *
 * Plain helpers with no test counters, so the fuzz harnesses (tests/fuzz/)
 * use them too; test_util.h includes this header.  A helper that fails
 * returns -1 (or NULL) and leaves the checking to the caller. */
#ifndef NANPROBE_TEST_FILES_H
#define NANPROBE_TEST_FILES_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A whole file as a NUL-terminated string (malloc'd; *size, if not NULL,
 * gets its length), or NULL when it cannot be read completely. */
static inline char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        text = NULL;
    }
    if (text) text[n] = '\0';
    if (text && size) *size = (size_t)n;
    fclose(f);
    return text;
}

/* path made to hold exactly n bytes; 0, or -1 when it cannot be written. */
static inline int test_write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t written = n ? fwrite(bytes, 1, n, f) : 0;
    return fclose(f) == 0 && written == n ? 0 : -1;
}

/* The first limit bytes of from (all of it when limit < 0) copied to to. */
static inline int test_copy_file(const char *from, const char *to, long limit)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int ok = in && out;
    char buffer[65536];
    long total = 0;
    size_t n;
    while (ok && (limit < 0 || total < limit) && (n = fread(buffer, 1, sizeof buffer, in)) > 0) {
        if (limit >= 0 && total + (long)n > limit) n = (size_t)(limit - total);
        ok = fwrite(buffer, 1, n, out) == n;
        total += (long)n;
    }
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* The size of path in bytes, -1 when it does not exist. */
static inline long test_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* path is a regular file (after symbolic links). */
static inline int test_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/NAME exists, of any kind. */
static inline int test_exists_in(const char *dir, const char *name)
{
    char path[4400];
    snprintf(path, sizeof path, "%.2000s/%.2000s", dir, name);
    struct stat st;
    return stat(path, &st) == 0;
}

/* path and every missing directory above it (mkdir -p); 0 or -1. */
static inline int test_make_dirs(const char *path)
{
    char partial[4400];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *p = partial + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(partial, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(partial, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* A fresh temporary directory under $TMPDIR (else /tmp), its path written
 * into dir. */
static inline int test_temp_dir(char *dir, size_t size, const char *label)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/nanprobe-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", label);
    return mkdtemp(dir) ? 0 : -1;
}

static inline void test_remove_tree(const char *dir)
{
    char command[4200];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

#endif
