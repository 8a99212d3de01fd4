/* fuzz.h: shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * Each harness defines FUZZ_ENTRY, which is LLVMFuzzerTestOneInput under
 * `make fuzz` (clang, -fsanitize=fuzzer,address,undefined) and a plain
 * function when tests/test_fuzz_replay.c includes the harness to replay the
 * seed corpora and every crash found so far in `make test` (gcc, and under
 * ASan + UBSan in `make asan`).  A harness returns 0 and never exits: a
 * finding is a sanitizer report or an abort() on a broken invariant. */
#ifndef NANPROBE_FUZZ_H
#define NANPROBE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_files.h"

#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY LLVMFuzzerTestOneInput
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

/* A private scratch directory per process, made once. */
static inline const char *fuzz_scratch(const char *label)
{
    static char dir[128];
    if (!dir[0]) {
        struct stat st;
        const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/nanprobe-fuzz-%s-%d", base, label, (int)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

/* The input as a NUL-terminated string (malloc'd). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
