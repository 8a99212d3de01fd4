/* main.c: the nanprobe command line.  The commands here (and ablate.c)
 * decide what to print on failure and which status to exit with (see
 * exit_status.h).  `train` composes train_run, then the report. */
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "comm.h"
#include "data_cmd.h"
#include "dataset.h"
#include "keras_cmd.h"
#include "db.h"
#include "db_memory.h"
#include "model.h"
#include "ablate.h"
#include "blas_kernel.h"
#include "doctor.h"
#include "exit_status.h"
#include "options.h"
#include "progress.h"
#include "replay_cmd.h"
#include "report.h"
#include "summary.h"
#include "train.h"
#include "train_cli.h"
#include "version.h"


#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

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
 * the data, scripts and page are still there, so this only warns. */
static void write_train_report(const train_options *o, train_result *result)
{
    report_result report;
    error err;
    int rc = report_write(result->database, NULL, REPORT_STORE_CHAIN, &report, &err);
    if (report.index_path[0]) snprintf(result->report, sizeof result->report, "%s", report.index_path);
    if (rc) fprintf(stderr, "nanprobe train: warning: the report is incomplete: %s\n", err.message);
    if (!o->quiet && rc == 0 && report.had_nan) printf("\n%s\n", report.verdict);
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
    if (options_given(argc, argv, "--out")) {
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
    for (int k = 0; train_cli_fixed_on_resume[k]; k++)
        if (options_given(argc, argv, train_cli_fixed_on_resume[k])) {
            fprintf(stderr, "nanprobe train: %s cannot change when resuming (it defines the model, the data or their order)\n",
                    train_cli_fixed_on_resume[k]);
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
    c->o.lr_overrides_checkpoint = options_given(argc, argv, "--lr");
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
    int keras_rc = c->o.from_keras ? keras_cmd_prepare_train(&c->o, argc, argv, &a->keras, &err) : 0;
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
    c->o.comm = comm;
    if (comm->rank > 0) c->o.quiet = 1, c->o.report = 0, c->o.timing = 0;
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
    progress_init(&console, stdout, c->o.quiet);
    train_callbacks callbacks = progress_train_callbacks(&console);
    train_result result;
    error err;
    int rc = train_run(&c->o, a->list_count, a->list, resume, &callbacks, &result, &err);
    if (c->o.timing && result.database[0]) /* the run opened */
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
        return EXIT_FAILURE_;
    }
    if (c->o.report) write_train_report(&c->o, &result);
    if (!c->o.quiet) {
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

static int command_train(int argc, char **argv, const blas_selection *blas, dist_comm *comm)
{
    train_cli c;
    train_cli_init(&c);
    error err;
    int help = 0;
    if (train_cli_parse(&c, argc, argv, &help, &err)) return usage_error(&err);
    if (help) return EXIT_OK;
    train_arguments a;
    memset(&a, 0, sizeof a);
    int resume = c.resume != NULL, rc = -1;
    if (resume) rc = resume_arguments(&c, argc, argv, &a, &err);
    else rc = fresh_arguments(&c, argc, argv, &a);
    if (rc < 0) {
        catch_stop_signals();
        rc = train_then_report(&c, &a, resume, blas, comm);
    }
    train_arguments_free(&a);
    return rc;
}

/* `nanprobe init [train options]`: the run database and the checkpoint of
 * the untrained model (train --max-steps 0 --no-report), to compare
 * initializations or to start a run later with --resume. */
static int command_init(int argc, char **argv, const blas_selection *blas, dist_comm *comm)
{
    char **list = malloc(sizeof(char *) * (size_t)(argc + 3));
    if (!list) return EXIT_FAILURE_;
    int n = 0;
    list[n++] = "--no-report";
    for (int i = 0; i < argc; i++) list[n++] = argv[i];
    list[n++] = "--max-steps=0";
    list[n] = NULL;
    int rc = command_train(n, list, blas, comm);
    free(list);
    return rc;
}

/* --------------------------------------------------------------- summary */

static int command_summary(int argc, char **argv)
{
    int depth_index = 1, width = 64, classes = 10, batch = 1, clip[4] = {16, 112, 112, 3}, split = 0;
    const char *data = NULL;
    option_spec specs[] = {
        {"--depth", OPTION_CHOICE, &depth_index, "N", "ResNet3D depth: 18, 34 (default), 50, 101, 152", 0, 0, model_depth_names},
        {"--width", OPTION_INT, &width, "N", "filters of the first stage (default 64)", 1, 4096, NULL},
        {"--clip", OPTION_CLIP, clip, "DxHxWxC", "clip shape (default 16x112x112x3)", 0, 0, NULL},
        {"--classes", OPTION_INT, &classes, "N", "output classes (default 10, or as a video --data holds)", 1, 100000, NULL},
        {"--data", OPTION_STRING, &data, "DIR", "a video directory: count its videos and classes (files are not probed)", 0, 0, NULL},
        {"--split", OPTION_INT, &split, "N", "with --data: UCF101 split files", 1, 99, NULL},
    };
    error err;
    int help;
    if (options_parse("summary", specs, COUNT(specs), argc, argv, NULL, 0, NULL, &help, &err)) return usage_error(&err);
    if (help) {
        options_print_help(stdout, "nanprobe summary [options]",
                           "Prints the network as Keras' model.summary() would, with each layer's Keras name and "
                           "structural path.",
                           specs, COUNT(specs));
        return EXIT_OK;
    }
    if (data) {
        char line[4500];
        int found;
        if (data_summary_line(data, split, line, sizeof line, &found, &err)) {
            fprintf(stderr, "nanprobe summary: %s\n", err.message);
            return EXIT_FAILURE_;
        }
        printf("data: %s\n", line);
        if (!options_given(argc, argv, "--classes")) classes = found;
    }
    model m;
    model_config config = {.depth = model_depths[depth_index], .width = width, .classes = classes, .batch = batch,
                           .threads = 1};
    memcpy(config.clip, clip, sizeof clip);
    if (model_build(&m, &config, &err)) {
        fprintf(stderr, "nanprobe summary: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    summary_print(&m, stdout);
    model_free(&m);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- schema */

static int command_schema(int argc, char **argv)
{
    error err;
    int help;
    if (options_parse("schema", NULL, 0, argc, argv, NULL, 0, NULL, &help, &err)) return usage_error(&err);
    if (help) {
        printf("usage: nanprobe schema\n\nPrints the SQL schema of run.db (tables, indexes, views).\n");
        return EXIT_OK;
    }
    fputs(db_schema_sql(), stdout);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- report */

static int command_report(int argc, char **argv)
{
    const char *out = NULL, *positional[2];
    int count = 0, help = 0, store_chain = 0;
    option_spec specs[] = {
        {"-o", OPTION_STRING, &out, "DIR", "output directory (default: the database's directory + /report)", 0, 0, NULL},
        {"--store-chain", OPTION_FLAG, &store_chain, NULL, "also write the causal chain into the database's cause_chain table (otherwise the database is only read)", 0, 0, NULL},
    };
    error err;
    if (options_parse("report", specs, COUNT(specs), argc, argv, positional, 2, &count, &help, &err))
        return usage_error(&err);
    if (help) {
        options_print_help(stdout, "nanprobe report RUN/run.db [-o DIR]",
                           "Writes the NaN report of a run (or, without a NaN, its health report): index.html with "
                           "the verdict,\nfigures as PNG and SVG, their gnuplot scripts and data.",
                           specs, COUNT(specs));
        return EXIT_OK;
    }
    if (count != 1) {
        fprintf(stderr, "nanprobe report: expected one run database (RUN/run.db), got %d arguments\n", count);
        return EXIT_USAGE;
    }
    report_result result;
    int rc = report_write(positional[0], out, store_chain ? REPORT_STORE_CHAIN : 0, &result, &err);
    if (result.verdict[0] && (rc == 0 || result.index_path[0])) printf("%s\n", result.verdict);
    if (rc) {
        fprintf(stderr, "nanprobe report: %s\n", err.message);
        if (result.index_path[0]) fprintf(stderr, "(partial report: %s)\n", result.index_path);
        return EXIT_FAILURE_;
    }
    printf("report: %s\n", result.index_path);
    return EXIT_OK;
}

static int command_compare(int argc, char **argv)
{
    const char *out = NULL, *positional[64];
    int count = 0, help = 0;
    option_spec specs[] = {
        {"-o", OPTION_STRING, &out, "DIR", "output directory (required)", 0, 0, NULL},
    };
    error err;
    if (options_parse("compare", specs, COUNT(specs), argc, argv, positional, 64, &count, &help, &err))
        return usage_error(&err);
    if (help) {
        options_print_help(stdout, "nanprobe compare A/run.db B/run.db ... -o DIR",
                           "Compares runs (the arms of an ablation): val_loss and val_acc per epoch, each arm's first "
                           "NaN,\nand the statistics that separate the arms.",
                           specs, COUNT(specs));
        return EXIT_OK;
    }
    if (count < 1 || !out) {
        fprintf(stderr, "nanprobe compare: expected one or more run databases and -o DIR\n");
        return EXIT_USAGE;
    }
    if (compare_write(positional, count, out, &err)) {
        fprintf(stderr, "nanprobe compare: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    printf("comparison: %s/index.html\n", out);
    return EXIT_OK;
}

/* ------------------------------------------------------------------ main */

static void print_usage(FILE *out)
{
    fprintf(out,
            "nanprobe %s: numerical-stability probes for a ResNet3D trained in C\n\n"
            "usage: nanprobe COMMAND [options]   (nanprobe COMMAND --help for each)\n\n"
            "commands:\n"
            "  train     train the seed's ResNet3D, probing every layer every step into DIR/run.db\n"
            "  export-keras  write a run's state as a tf.keras .h5 (model.load_weights() reads it)\n"
            "  init      write the run database and the untrained model's checkpoint (train --max-steps 0)\n"
            "  report    write the NaN (or health) report of a run: verdict, figures, rules\n"
            "  replay    run a step of a run again in float32 and float64: reproducible? float32's fault?\n"
            "  compare   compare runs side by side (ablation arms)\n"
            "  ablate    train every arm of a grid (--grid) or a list (--arm), then compare them\n"
            "  data      list a video dataset and write a contact sheet of its clips\n"
            "  summary   print the network like Keras' model.summary()\n"
            "  schema    print the SQL schema of run.db\n"
            "  doctor    print the CPU, BLAS kernel (and why), threads, sgemm rate, SQLite and gnuplot\n"
            "  version   print the version (--verbose: as doctor)\n",
            NANPROBE_VERSION);
}

/* The commands that compute choose the BLAS kernel first (this may
 * re-execute the program, see blas_kernel.h); --help and the commands that
 * only read or print do not. */
static int command_computes(int argc, char **argv)
{
    const char *command = argv[1];
    int verbose_version = strcmp(command, "version") == 0 && argc > 2 && strcmp(argv[2], "--verbose") == 0;
    if (!verbose_version && strcmp(command, "train") && strcmp(command, "ablate") && strcmp(command, "doctor") &&
        strcmp(command, "replay"))
        return 0;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 0;
    return 1;
}

static int run_command(int argc, char **argv, const blas_selection *blas, dist_comm *comm)
{
    const char *command = argv[1];
    if (strcmp(command, "train") == 0) return command_train(argc - 2, argv + 2, blas, comm);
    if (strcmp(command, "init") == 0) return command_init(argc - 2, argv + 2, blas, comm);
    if (strcmp(command, "ablate") == 0) return ablate_main(argc - 2, argv + 2, comm);
    /* Under mpirun the other commands are rank 0's alone. */
    if (comm->rank > 0) return EXIT_OK;
    if (strcmp(command, "doctor") == 0) return doctor_main(argc - 2, argv + 2, blas);
    if (strcmp(command, "version") == 0 && argc > 2 && strcmp(argv[2], "--verbose") == 0)
        return doctor_main(argc - 3, argv + 3, blas);
    if (strcmp(command, "export-keras") == 0) return keras_cmd_export(argc - 2, argv + 2);
    if (strcmp(command, "summary") == 0) return command_summary(argc - 2, argv + 2);
    if (strcmp(command, "schema") == 0) return command_schema(argc - 2, argv + 2);
    if (strcmp(command, "report") == 0) return command_report(argc - 2, argv + 2);
    if (strcmp(command, "replay") == 0) return replay_command(argc - 2, argv + 2);
    if (strcmp(command, "compare") == 0) return command_compare(argc - 2, argv + 2);
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("nanprobe %s\n", NANPROBE_VERSION);
        return EXIT_OK;
    }
    if (strcmp(command, "data") == 0) return data_command(argc - 2, argv + 2);
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "nanprobe: unknown command '%s'\n\n", command);
    print_usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* Before SQLite's first use: its heap (see db_memory.h). */
    db_memory_install();
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    /* The BLAS kernel first: choosing one may re-execute the program. */
    blas_selection blas;
    memset(&blas, 0, sizeof blas);
    error err;
    if (command_computes(argc, argv)) {
        if (blas_kernel_select(argv, &blas, &err)) {
            fprintf(stderr, "nanprobe: %s\n", err.message);
            return EXIT_USAGE;
        }
        if (blas.warning[0] && strcmp(argv[1], "doctor") && strcmp(argv[1], "version"))
            fprintf(stderr, "nanprobe: warning: %s\n", blas.warning);
    }
    /* MPI only when mpirun started us (comm.h); otherwise one process. */
    dist_comm comm;
    if (dist_comm_init(&comm, &argc, &argv, &err)) {
        fprintf(stderr, "nanprobe: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    int status = run_command(argc, argv, &blas, &comm);
    /* Every rank ends together: rank 0 may still be writing the report. */
    if (comm.active && dist_barrier_patient(&comm, &err) == 0) dist_comm_finalize(&comm);
    return status;
}
