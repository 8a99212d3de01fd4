/* replay_cmd.c: `nanprobe replay`: a step of a finished (or stopped) run
 * run again from its checkpoint in float32 and float64 (src/run/replay.h),
 * the rows into its run.db, then its report rewritten with the replay. */
#include "replay_cmd.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "exit_status.h"
#include "commands.h"
#include "options.h"
#include "progress.h"
#include "report.h"
#include "train.h"
#include "train_cli.h"


static const char *const precision_choices[] = {"float", "double", "both", NULL};

/* The run's stored options with --out=DIR (and --threads when given). */
static int rebuild_options(const char *dir, int threads, train_cli *c, char ***stored, char **list, error *err)
{
    int count = 0, help = 0;
    if (checkpoint_read_arguments(dir, &count, stored, err)) return -1;
    static char out_arg[4200], threads_arg[32];
    int n = 0;
    for (int i = 0; i < count && n < 250; i++) list[n++] = (*stored)[i];
    snprintf(out_arg, sizeof out_arg, "--out=%s", dir);
    list[n++] = out_arg;
    if (threads > 0) {
        snprintf(threads_arg, sizeof threads_arg, "--threads=%d", threads);
        list[n++] = threads_arg;
    }
    train_cli_init(c);
    if (train_cli_parse(c, n, list, &help, err)) return -1;
    return 0;
}

typedef struct replay_cli {
    long step;
    int precision, threads;
} replay_cli;

const option_spec replay_option_specs[] = {
    {"--step", NULL, OPTION_LONG, offsetof(replay_cli, step), "S", NULL, "the step to replay (default: the first NaN's, else the last)", 1, 9e18, NULL, ON_RESUME_NA, NULL},
    {"--precision", NULL, OPTION_CHOICE, offsetof(replay_cli, precision), "P", "both", "float (rerun only), double, or both", 0, 0, precision_choices, ON_RESUME_NA, NULL},
    {"--threads", NULL, OPTION_INT, offsetof(replay_cli, threads), "N", NULL, "threads (default: the run's; bit-for-bit needs the same count)", 1, 1024, NULL, ON_RESUME_NA, NULL},
    {0},
};

int replay_command(int argc, char **argv)
{
    replay_cli r = {0};
    const char *positional[1];
    int count = 0;
    int status = command_options("replay", &r, argc, argv, positional, 1, &count);
    if (status >= 0) return status;
    long step = r.step;
    int precision = r.precision, threads = r.threads;
    error err;
    if (count != 1) {
        fprintf(stderr, "nanprobe replay: expected one run directory, got %d arguments\n", count);
        return EXIT_USAGE;
    }
    train_cli c;
    char **stored = NULL, *list[256];
    if (rebuild_options(positional[0], threads, &c, &stored, list, &err)) {
        fprintf(stderr, "nanprobe replay: %s: %s\n", positional[0], err.message);
        free(stored);
        return EXIT_FAILURE_;
    }
    progress console;
    progress_init(&console, stdout, 0);
    train_callbacks callbacks = progress_train_callbacks(&console);
    char message[1100];
    long replayed = 0;
    int rc = train_replay(&c.o, step, precision + 1, &callbacks, &replayed, message, sizeof message, &err);
    free(stored);
    if (rc) {
        fprintf(stderr, "nanprobe replay: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    printf("replay of step %ld: %s\n", replayed, message);
    char db[4300];
    snprintf(db, sizeof db, "%s/run.db", positional[0]);
    report_result result;
    if (report_write(db, NULL, 0, &result, &err)) {
        fprintf(stderr, "nanprobe replay: the rows are in %s, but the report failed: %s\n", db, err.message);
        return EXIT_FAILURE_;
    }
    printf("report: %s\n", result.index_path);
    return EXIT_OK;
}
