/* test_util.h: the tiny test harness every tests/test_*.c program uses.
 *
 * CHECK(cond, fmt, ...) counts a pass or prints the failure and counts it;
 * test_finish() prints the closing "N passed, N failed" line that
 * tests/run_tests.sh collects, and returns the exit status; test_run runs
 * a program and captures what it prints.  The file helpers are in
 * test_files.h, the run.db readers in test_db.h. */
#ifndef NANPROBE_TEST_UTIL_H
#define NANPROBE_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_files.h"

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

/* A program started by test_spawn, its stdout and stderr going to a
 * temporary file until test_collect reads them back. */
typedef struct test_process {
    pid_t pid;
    int fd;
    char path[64];
} test_process;

/* Starts argv (argv[0] a path); in the child, child_setup(context) (if
 * not NULL) runs just before the exec (limits, user, environment).
 * Returns -1 if it could not start. */
static inline int test_spawn(test_process *p, char *const argv[], void (*child_setup)(void *), void *context)
{
    snprintf(p->path, sizeof p->path, "/tmp/nanprobe-test-output-XXXXXX");
    p->fd = mkstemp(p->path);
    if (p->fd < 0) return -1;
    p->pid = fork();
    if (p->pid == 0) {
        dup2(p->fd, 1);
        dup2(p->fd, 2);
        if (child_setup) child_setup(context);
        execv(argv[0], argv);
        _exit(127);
    }
    if (p->pid > 0) return 0;
    close(p->fd);
    unlink(p->path);
    return -1;
}

/* Waits for p (killing it after timeout_seconds, when > 0), captures what
 * it printed into output (truncated to size); returns the exit status,
 * 128+N for signal N. */
static inline int test_collect(test_process *p, char *output, size_t size, int timeout_seconds)
{
    int status = 0;
    for (long waited = 0;; waited++) {
        pid_t done = waitpid(p->pid, &status, timeout_seconds > 0 ? WNOHANG : 0);
        if (done == p->pid || (done < 0 && errno != EINTR)) break;
        if (timeout_seconds > 0 && waited > timeout_seconds * 100L) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        struct timespec pause = {0, 10000000}; /* polled every 10 ms */
        if (done == 0) nanosleep(&pause, NULL);
    }
    if (output && size) {
        lseek(p->fd, 0, SEEK_SET);
        ssize_t n = read(p->fd, output, size - 1);
        output[n > 0 ? n : 0] = '\0';
    }
    close(p->fd);
    unlink(p->path);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* Runs argv (argv[0] a path) to its end with stdout and stderr captured
 * into output (truncated to size); returns the exit status, 128+N for
 * signal N, or -1 if it could not start. */
static inline int test_run(char *const argv[], char *output, size_t size)
{
    test_process p;
    return test_spawn(&p, argv, NULL, NULL) ? -1 : test_collect(&p, output, size, 0);
}

/* Runs the words of head (up to NULL) followed by those of args (up to
 * NULL), at most 127 in all, like test_run: the core of a test's own
 * variadic "run nanprobe with ..." function. */
static inline int test_run_list(const char *const *head, va_list args, char *output, size_t size)
{
    char *argv[128];
    int n = 0;
    for (; head[n] && n < 127; n++) argv[n] = (char *)head[n];
    for (const char *a = va_arg(args, const char *); a && n < 127; a = va_arg(args, const char *)) argv[n++] = (char *)a;
    argv[n] = NULL;
    return test_run(argv, output, size);
}

/* Runs `binary first ...` (the list ends with NULL) like test_run. */
static inline int test_run_args(const char *binary, char *output, size_t size, const char *first, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)binary;
    va_list args;
    va_start(args, first);
    for (const char *a = first; a && n < 63; a = va_arg(args, const char *)) argv[n++] = (char *)a;
    va_end(args);
    argv[n] = NULL;
    return test_run(argv, output, size);
}

#endif
