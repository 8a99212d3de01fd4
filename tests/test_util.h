/* test_util.h: the tiny test harness every tests/test_*.c program uses.
 *
 * CHECK(cond, fmt, ...) counts a pass or prints the failure and counts it;
 * test_finish() prints the closing "N passed, N failed" line that
 * tests/run_tests.sh collects, and returns the exit status. */
#ifndef NANPROBE_TEST_UTIL_H
#define NANPROBE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            test_passed++;                                                 \
        } else {                                                           \
            test_failed++;                                                 \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

static inline int test_finish(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

/* Set by `make asan`: sanitized builds are ~10x slower, so the heaviest
 * cases may shrink (never skip) their sizes. */
static inline int test_sanitized(void)
{
    const char *v = getenv("NANPROBE_SANITIZED");
    return v && *v && strcmp(v, "0") != 0;
}

/* Set by `make check-full`: long-running variants (more repetitions). */
static inline int test_full(void)
{
    const char *v = getenv("NANPROBE_FULL");
    return v && *v && strcmp(v, "0") != 0;
}

/* The nanprobe binary under test: the runner passes it as argv[1]. */
static inline const char *test_binary(int argc, char **argv)
{
    return argc > 1 ? argv[1] : "./nanprobe";
}

#endif
