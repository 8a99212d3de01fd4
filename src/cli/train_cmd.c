/* train_cmd.c: `nanprobe train` and `nanprobe init`: the argument list
 * of a new or resumed run, training with console progress, then the report;
 * the exit status follows the run's outcome (see exit_status.h). */
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "comm.h"
#include "commands.h"
#include "db_cause.h"
#include "exit_status.h"
#include "keras_cmd.h"
#include "options.h"
#include "progress.h"
#include "report.h"
#include "train.h"
#include "train_cli.h"

static int usage_error(const error *err)
{
    fprintf(stderr, "%s\n", err->message);
    return EXIT_USAGE;
}

static void on_signal(int signal_number)
{
    train_request_stop();
    /* A second Ctrl-C kills at once. */
    signal(signal_number, SIG_DFL);
}

/* The report is a by-product of the run: when gnuplot is missing or fails
 * the data, scripts and page are still there, so this only warns.  The
 * run's cause chain, which the report traced, goes into its run.db here:
 * the report itself only reads the database. */
static void write_train_report(const train_cli *c, train_result *result)
{
    report_result report;
    error err, store_err;
    int rc = report_write(result->database, NULL, &report, &err);
    if (report.index_path[0]) snprintf(result->report, sizeof result->report, "%s", report.index_path);
    if (rc) fprintf(stderr, "nanprobe train: warning: the report is incomplete: %s\n", err.message);
    if (report.chain.mechanism != MECHANISM_NONE && db_cause_store(result->database, &report.chain, &store_err))
        fprintf(stderr, "nanprobe train: warning: the cause chain was not stored: %s\n", store_err.message);
    if (!c->quiet && rc == 0 && report.had_nan) printf("\n%s\n", report.verdict);
}

/* The argument list stored with checkpoints and parsed into c. */
typedef struct train_arguments {
    char **stored; /* a resumed run's stored options (checkpoint_read_arguments) */
    char **list;
    int stored_count, list_count;
    char out_arg[4200]; /* "--out=DIR" */
    keras_train_args keras; /* options a --from-keras file settles, spelled out */
} train_arguments;

static void train_arguments_free(train_arguments *a)
{
    free(a->list);
    free(a->stored);
}

/* --resume DIR: the stored options followed by the new ones (later ones win
 * when the list is re-parsed), then --out=DIR.  Returns an exit status, or
 * -1 when c now holds the options to run with. */
static int resume_arguments(train_cli *c, int argc, char **argv, train_arguments *a, error *err)
{
    const char *dir = c->resume;
    int help = 0;
    /* A run lives in its directory: --out elsewhere would be ignored. */
    if (options_spec_given(options_find(train_option_specs, "--out"), argc, argv)) {
        fprintf(stderr, "nanprobe train: --out cannot be given with --resume (the run continues in its own "
                        "directory, %s)\n", dir);
        return EXIT_USAGE;
    }
    if (checkpoint_read_arguments(dir, &a->stored_count, &a->stored, err)) {
        fprintf(stderr, "nanprobe train --resume: %s\n", err->message);
        return EXIT_FAILURE_;
    }
    train_cli again;
    train_cli_init(&again);
    if (train_cli_parse(&again, a->stored_count, a->stored, &help, err)) {
        fprintf(stderr, "nanprobe train --resume: the checkpoint's options no longer parse: %s\n", err->message);
        return EXIT_FAILURE_;
    }
    for (const option_spec *s = train_option_specs; s->name; s++)
        if (s->on_resume == ON_RESUME_FIXED && options_spec_given(s, argc, argv)) {
            fprintf(stderr, "nanprobe train: %s cannot change when resuming (it defines the model, the data or their order)\n",
                    s->name);
            return EXIT_USAGE;
        }
    a->list = malloc(sizeof(char *) * (size_t)(a->stored_count + argc + 2));
    /* --max-steps bounds one invocation, not the run: a resumed run
     * would otherwise stop again at once. */
    for (int i = 0; i < a->stored_count; i++) {
        if (strcmp(a->stored[i], "--max-steps") == 0) {
            i++;
            continue;
        }
        if (strncmp(a->stored[i], "--max-steps=", 12) == 0) continue;
        a->list[a->list_count++] = a->stored[i];
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--resume=", 9) == 0) continue;
        a->list[a->list_count++] = argv[i];
    }
    snprintf(a->out_arg, sizeof a->out_arg, "--out=%s", dir);
    a->list[a->list_count++] = a->out_arg;
    train_cli_init(c);
    if (train_cli_parse(c, a->list_count, a->list, &help, err)) return usage_error(err);
    /* The checkpoint carries the learning rate the callbacks left; a
     * --lr given now replaces it (e.g. to continue with a smaller one). */
    c->o.fit.lr_overrides_checkpoint = options_given(argc, argv, "--lr");
    return -1;
}

/* A new run: argv, plus --out=runs/run-DATE when no --out was given. */
static int fresh_arguments(train_cli *c, int argc, char **argv, train_arguments *a)
{
    if (!c->o.out) {
        char stamp[64];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "runs/run-%Y%m%d-%H%M%S", &tm);
        snprintf(a->out_arg, sizeof a->out_arg, "--out=%s", stamp);
    }
    /* --from-keras: the file defines the model; the options it settles are
     * stored spelled out, so --resume rebuilds the same model. */
    error err;
    int keras_rc = c->o.model.from_keras ? keras_cmd_prepare_train(&c->o, c->quiet, argc, argv, &a->keras, &err) : 0;
    if (keras_rc) {
        fprintf(stderr, keras_rc == KERAS_CMD_CONFLICT ? "%s\n" : "nanprobe train: --from-keras: %s\n", err.message);
        return keras_rc == KERAS_CMD_CONFLICT ? EXIT_USAGE : EXIT_FAILURE_;
    }
    a->list = malloc(sizeof(char *) * (size_t)(argc + 2 + a->keras.count));
    if (!a->list) return EXIT_FAILURE_;
    for (int i = 0; i < argc; i++) a->list[a->list_count++] = argv[i];
    for (int i = 0; i < a->keras.count; i++) a->list[a->list_count++] = a->keras.argv[i];
    if (!c->o.out) {
        a->list[a->list_count++] = a->out_arg;
        c->o.out = a->out_arg + 6;
    }
    return -1;
}

static void catch_stop_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

/* Trains with console progress, then writes the report; the exit status
 * follows the run's outcome.  The setup line and runs.config_json name the
 * BLAS kernel chosen at start-up. */
static int train_then_report(train_cli *c, train_arguments *a, int resume, const blas_selection *blas,
                             dist_comm *comm)
{
    /* Under mpirun rank 0 speaks, writes the database and the report. */
    c->o.dist.comm = comm;
    if (comm->rank > 0) c->quiet = 1, c->report = 0, c->timing = 0;
    /* Ranks on one host share its cores unless --threads says otherwise. */
    if (c->o.threads == 0 && comm->local_size > 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN) / comm->local_size;
        c->o.threads = cores > 1 ? (int)cores : 1;
    }
    char blas_line[512], blas_json[1024];
    blas_selection_describe(blas, blas_line, sizeof blas_line);
    blas_selection_json(blas, c->o.threads > 0 ? c->o.threads : omp_get_max_threads(), blas_json, sizeof blas_json);
    c->o.blas = blas_line;
    c->o.blas_json = blas_json;

    progress console;
    progress_init(&console, stdout, c->quiet);
    train_callbacks callbacks = progress_train_callbacks(&console);
    train_result result;
    error err;
    int rc = train_run(&c->o, a->list_count, a->list, resume, &callbacks, &result, &err);
    if (c->timing && result.database[0]) /* the run opened */
        progress_print_timing(stderr, &result.timing);
    if (rc && comm->size > 1) {
        /* The others wait for this rank in a collective: stop them all. */
        fprintf(stderr, "nanprobe train: rank %d of %d failed: %s; stopping every rank\n", comm->rank, comm->size,
                err.message);
        fflush(stderr);
        dist_comm_abort(comm, EXIT_FAILURE_);
    }
    if (rc) {
        fprintf(stderr, "nanprobe train: %s\n", err.message);
        return result.bad_option ? EXIT_USAGE : EXIT_FAILURE_;
    }
    if (c->report) write_train_report(c, &result);
    if (!c->quiet) {
        printf("%s after %ld steps (%.2f s/step); database: %s\n", train_status_name(result.status), result.steps,
               result.seconds_per_step, result.database);
        if (result.report[0]) printf("report: %s\n", result.report);
    }
    switch (result.status) {
    case TRAIN_NAN: return EXIT_NAN;
    case TRAIN_INTERRUPTED: return EXIT_INTERRUPTED;
    default: return EXIT_OK;
    }
}

int command_train(int argc, char **argv, const command_context *context)
{
    train_cli c;
    train_cli_init(&c);
    error err;
    int help = 0;
    if (train_cli_parse(&c, argc, argv, &help, &err)) return usage_error(&err);
    if (help) {
        command_print_help(stdout, command_find("train"));
        return EXIT_OK;
    }
    train_arguments a;
    memset(&a, 0, sizeof a);
    int resume = c.resume != NULL, rc = -1;
    if (resume) rc = resume_arguments(&c, argc, argv, &a, &err);
    else rc = fresh_arguments(&c, argc, argv, &a);
    if (rc < 0) {
        catch_stop_signals();
        rc = train_then_report(&c, &a, resume, context->blas, context->comm);
    }
    train_arguments_free(&a);
    return rc;
}

/* `nanprobe init [train options]`: the run database and the checkpoint of
 * the untrained model (train --max-steps 0 --no-report), to compare
 * initializations or to start a run later with --resume. */
int command_init(int argc, char **argv, const command_context *context)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            command_print_help(stdout, command_find("init"));
            return EXIT_OK;
        }
    /* init runs no step and starts a new run: these would be silently void. */
    static const char *const meaningless[] = {"--max-steps", "--resume", NULL};
    for (int k = 0; meaningless[k]; k++)
        if (options_given(argc, argv, meaningless[k])) {
            fprintf(stderr, "nanprobe init: %s does not apply (init writes the untrained model and runs no step; "
                            "use nanprobe train)\n", meaningless[k]);
            return EXIT_USAGE;
        }
    char **list = malloc(sizeof(char *) * (size_t)(argc + 3));
    if (!list) return EXIT_FAILURE_;
    int n = 0;
    list[n++] = "--no-report";
    for (int i = 0; i < argc; i++) list[n++] = argv[i];
    list[n++] = "--max-steps=0";
    list[n] = NULL;
    int rc = command_train(n, list, context);
    free(list);
    return rc;
}

