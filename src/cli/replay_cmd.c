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


/* float, double, both: the replay (replay.h); the rest add the precision
 * ladder (ladder.h), "all" with the float32 and float64 replay as well. */
enum { CHOICE_FLOAT, CHOICE_DOUBLE, CHOICE_BOTH, CHOICE_FLOAT32, CHOICE_FLOAT64, CHOICE_TF32, CHOICE_MIXED_FLOAT16,
       CHOICE_MIXED_BFLOAT16, CHOICE_ALL, CHOICE_COUNT };
static const char *const precision_choices[CHOICE_COUNT + 1] = {
    "float", "double", "both", "float32", "float64", "tf32", "mixed_float16", "mixed_bfloat16", "all", NULL};

/* The ladder's rungs, printed one a line, then which precisions held. */
static int run_ladder(const train_cli *c, long *step, int choice, const train_callbacks *callbacks)
{
    static const precision_kind all[] = {PRECISION_TF32, PRECISION_MIXED_BFLOAT16, PRECISION_MIXED_FLOAT16};
    precision_kind one = choice == CHOICE_TF32           ? PRECISION_TF32
                         : choice == CHOICE_MIXED_FLOAT16 ? PRECISION_MIXED_FLOAT16
                                                          : PRECISION_MIXED_BFLOAT16;
    ladder_rung rungs[LADDER_MAX_RUNGS];
    int n = 0;
    error err;
    if (train_ladder(&c->o, *step, choice == CHOICE_ALL ? all : &one, choice == CHOICE_ALL ? 3 : 1, callbacks, step,
                     rungs, &n, &err)) {
        fprintf(stderr, "nanprobe replay: %s\n", err.message);
        return -1;
    }
    printf("precision ladder of step %ld:\n", *step);
    char held[200] = "", failed[200] = "";
    for (int i = 0; i < n; i++) {
        printf("  %s\n", rungs[i].message);
        char *list = rungs[i].failed ? failed : held;
        size_t used = strlen(list);
        snprintf(list + used, 200 - used, "%s%s", used ? ", " : "", precision_names[rungs[i].precision]);
    }
    printf("  held in: %s; failed in: %s\n", held[0] ? held : "none", failed[0] ? failed : "none");
    return 0;
}

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
    {"--precision", NULL, OPTION_CHOICE, offsetof(replay_cli, precision), "P", "both", "float|float32 (rerun only), double|float64, both; tf32, mixed_float16, mixed_bfloat16: the precision ladder (that precision beside float32); all: the ladder and both", 0, 0, precision_choices, ON_RESUME_NA, NULL},
    {"--threads", NULL, OPTION_INT, offsetof(replay_cli, threads), "N", NULL, "threads (default: the run's; bit-for-bit needs the same count)", 1, 1024, NULL, ON_RESUME_NA, NULL},
    {0},
};

/* The ladder and/or the float32/float64 replay the --precision choice asks for. */
static int run_precisions(const train_cli *c, long step, int precision)
{
    progress console;
    progress_init(&console, stdout, 0);
    train_callbacks callbacks = progress_train_callbacks(&console);
    long replayed = step;
    int ladder = precision >= CHOICE_TF32;
    if (ladder && run_ladder(c, &replayed, precision, &callbacks)) return -1;
    if (ladder && precision != CHOICE_ALL) return 0;
    int which = precision == CHOICE_FLOAT || precision == CHOICE_FLOAT32    ? REPLAY_FLOAT
                : precision == CHOICE_DOUBLE || precision == CHOICE_FLOAT64 ? REPLAY_DOUBLE
                                                                             : REPLAY_BOTH;
    char message[1100];
    error err;
    if (train_replay(&c->o, step, which, &callbacks, &replayed, message, sizeof message, &err)) {
        fprintf(stderr, "nanprobe replay: %s\n", err.message);
        return -1;
    }
    printf("replay of step %ld: %s\n", replayed, message);
    return 0;
}

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
    int rc = run_precisions(&c, step, precision);
    free(stored);
    if (rc) return EXIT_FAILURE_;
    char db[4300];
    snprintf(db, sizeof db, "%s/run.db", positional[0]);
    report_result result;
    if (report_write(db, NULL, &result, &err)) {
        fprintf(stderr, "nanprobe replay: the rows are in %s, but the report failed: %s\n", db, err.message);
        return EXIT_FAILURE_;
    }
    printf("report: %s\n", result.index_path);
    return EXIT_OK;
}
