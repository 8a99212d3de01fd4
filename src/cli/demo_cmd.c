/* demo_cmd.c: `nanprobe demo`: the one-minute first contact.  It trains a
 * small ResNet3D-18 with a learning rate far too large (Adam, lr 700) on
 * the synthetic clips, so the run diverges by itself, with nothing planted:
 * a BatchNorm variance grows by decades per step until float32 overflows,
 * around step 8.  Then it prints where the report is and the verdict's
 * Cause, Path and Fix lines (read back from the report's verdict.txt, the
 * same text the report shows).  The settings are those of tests/
 * test_diagnose.c's lr-700 case, whose verdict that test checks. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "comm.h"
#include "commands.h"
#include "exit_status.h"
#include "options.h"

typedef struct demo_cli {
    const char *out;
    int threads;
} demo_cli;

const option_spec demo_option_specs[] = {
    {"--out", "-o", OPTION_STRING, offsetof(demo_cli, out), "DIR", NULL, "the run directory (default runs/demo-DATE)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--threads", NULL, OPTION_INT, offsetof(demo_cli, threads), "N", NULL, "threads (default: all cores)", 1, 1024, NULL, ON_RESUME_NA, NULL},
    {0},
};

/* The demo's train options: small enough for a minute on 2 cores. */
static const char *const demo_train_options[] = {
    "--depth=18", "--width=4", "--clip=8x32x32x3", "--classes=4", "--batch=4", "--train-clips=64",
    "--val-clips=8", "--epochs=4", "--lr=700", "--quiet",
};
#define DEMO_TRAIN_OPTIONS ((int)(sizeof demo_train_options / sizeof demo_train_options[0]))

/* The verdict's lines that start with one of the prefixes, from verdict.txt. */
static int print_verdict_lines(const char *dir)
{
    static const char *const prefixes[] = {"Cause:", "Path:", "Fix:"};
    char path[4300], line[8192];
    snprintf(path, sizeof path, "%s/report/verdict.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int printed = 0;
    while (fgets(line, sizeof line, f))
        for (int k = 0; k < 3; k++)
            if (strncmp(line, prefixes[k], strlen(prefixes[k])) == 0) printf("  %s", line), printed++;
    fclose(f);
    return printed == 3 ? 0 : -1;
}

int command_demo(int argc, char **argv, const command_context *context)
{
    demo_cli c = {0};
    int rc = command_options("demo", &c, argc, argv, NULL, 0, NULL);
    if (rc >= 0) return rc;
    char dir[4096], out_arg[4200], threads_arg[32];
    if (c.out) {
        snprintf(dir, sizeof dir, "%s", c.out);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(dir, sizeof dir, "runs/demo-%Y%m%d-%H%M%S", &tm);
    }
    char *list[DEMO_TRAIN_OPTIONS + 2];
    int n = 0;
    for (int i = 0; i < DEMO_TRAIN_OPTIONS; i++) list[n++] = (char *)demo_train_options[i];
    snprintf(out_arg, sizeof out_arg, "--out=%s", dir);
    list[n++] = out_arg;
    if (c.threads) {
        snprintf(threads_arg, sizeof threads_arg, "--threads=%d", c.threads);
        list[n++] = threads_arg;
    }
    const int speaks = context->comm->rank == 0;
    if (speaks) {
        printf("nanprobe demo: ResNet3D-18 (width 4) on synthetic 8x32x32 clips with Adam at lr 700, far too large;\n"
               "nothing is planted: the run diverges by itself. Training into %s ...\n", dir);
        fflush(stdout);
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = command_train(n, list, context);
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (!speaks) return rc == EXIT_NAN ? EXIT_OK : rc;
    double seconds = (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec);
    if (rc != EXIT_NAN) {
        fprintf(stderr, "nanprobe demo: the run ended with status %d instead of a NaN (exit 3); see %s\n", rc, dir);
        return EXIT_FAILURE_;
    }
    printf("NaN explained in %.0f s. Report: %s/report/index.html\n", seconds, dir);
    if (print_verdict_lines(dir)) {
        fprintf(stderr, "nanprobe demo: %s/report/verdict.txt lacks the Cause, Path and Fix lines\n", dir);
        return EXIT_FAILURE_;
    }
    return EXIT_OK;
}
