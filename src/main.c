/* main.c: the nanprobe command line.  Only this file decides what to print
 * on failure and which status to exit with:
 *   0  done (also early stopping, --max-steps)
 *   1  a failure (bad data file, disk full, ...): the message says which
 *   2  a usage error: unknown option or bad value
 *   3  training stopped at the first non-finite value (the run.db says where)
 *   130 interrupted (Ctrl-C / SIGTERM) after a clean checkpoint */
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "dataset.h"
#include "db.h"
#include "model.h"
#include "options.h"
#include "summary.h"
#include "train.h"
#include "version.h"

enum { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2, EXIT_NAN = 3, EXIT_INTERRUPTED = 130 };

static const char *const depth_choices[] = {"18", "34", "50", "101", "152", NULL};
static const int depth_values[] = {18, 34, 50, 101, 152};
static const char *const init_choices[] = {"he_normal", "glorot_uniform", NULL};
static const char *const normalize_choices[] = {"none", "scale", "standardize", "per_image", NULL};
static const char *const probe_choices[] = {"off", "on", NULL};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int usage_error(const error *err)
{
    fprintf(stderr, "%s\n", err->message);
    return EXIT_USAGE;
}

/* ----------------------------------------------------------------- train */

typedef struct train_cli {
    train_options o;
    int depth_index, probes_choice;
    const char *on_nan, *resume;
    string_list inject;
} train_cli;

static int build_train_specs(train_cli *c, option_spec *s)
{
    const double big = 1e18;
    int n = 0;
    s[n++] = (option_spec){"--depth", OPTION_CHOICE, &c->depth_index, "N", "ResNet3D depth: 18, 34 (default), 50, 101, 152", 0, 0, depth_choices};
    s[n++] = (option_spec){"--width", OPTION_INT, &c->o.width, "N", "filters of the first stage (the seed: 64)", 1, 4096, NULL};
    s[n++] = (option_spec){"--clip", OPTION_CLIP, c->o.clip, "DxHxWxC", "clip shape (default 16x112x112x3)", 0, 0, NULL};
    s[n++] = (option_spec){"--classes", OPTION_INT, &c->o.classes, "N", "output classes; 1 = sigmoid binary (default 10)", 1, 100000, NULL};
    s[n++] = (option_spec){"--batch", OPTION_INT, &c->o.batch, "N", "clips per step (default 8)", 1, 4096, NULL};
    s[n++] = (option_spec){"--init", OPTION_CHOICE, &c->o.init, "NAME", "kernel initializer: he_normal (default) or glorot_uniform", 0, 0, init_choices};
    s[n++] = (option_spec){"--l2", OPTION_DOUBLE, &c->o.l2, "LAMBDA", "L2 penalty lambda*sum(w^2) on every kernel; 0 disables (default 1e-4)", 0, 1e6, NULL};
    s[n++] = (option_spec){"--lr", OPTION_DOUBLE, &c->o.lr, "RATE", "Adam learning rate (default 1e-3)", 1e-30, 1e30, NULL};
    s[n++] = (option_spec){"--epochs", OPTION_INT, &c->o.epochs, "N", "epochs (default 5)", 1, 1e9, NULL};
    s[n++] = (option_spec){"--steps-per-epoch", OPTION_LONG, &c->o.steps_per_epoch, "N", "steps per epoch; 0 = one pass over the training clips (default)", 0, big, NULL};
    s[n++] = (option_spec){"--data", OPTION_STRING, &c->o.data, "SRC", "'synthetic' (default) or a directory of .npy files", 0, 0, NULL};
    s[n++] = (option_spec){"--train-clips", OPTION_LONG, &c->o.train_clips, "N", "training clips (synthetic: how many; .npy: at most, 0 = all) (default 320)", 0, big, NULL};
    s[n++] = (option_spec){"--val-clips", OPTION_LONG, &c->o.val_clips, "N", "validation clips (default 64; 0 = no validation)", 0, big, NULL};
    s[n++] = (option_spec){"--normalize", OPTION_CHOICE, &c->o.normalize, "KIND", "none, scale (x/255, default), standardize, per_image", 0, 0, normalize_choices};
    s[n++] = (option_spec){"--seed", OPTION_LONG, &c->o.seed, "N", "seed of initialization, shuffling and synthetic data (default 1)", 0, 9.2e18, NULL};
    s[n++] = (option_spec){"--threads", OPTION_INT, &c->o.threads, "N", "threads (default: all cores)", 1, 1024, NULL};
    s[n++] = (option_spec){"--out", OPTION_STRING, &c->o.out, "DIR", "run directory for run.db, checkpoint and report (default runs/run-DATE)", 0, 0, NULL};
    s[n++] = (option_spec){"--name", OPTION_STRING, &c->o.name, "TEXT", "run name in the database (default: the directory name)", 0, 0, NULL};
    s[n++] = (option_spec){"--resume", OPTION_STRING, &c->resume, "DIR", "continue the run in DIR from its checkpoint, bit-identically", 0, 0, NULL};
    s[n++] = (option_spec){"--max-steps", OPTION_LONG, &c->o.max_steps, "N", "stop after N steps in all, with a checkpoint (0 = no limit)", 0, big, NULL};
    s[n++] = (option_spec){"--checkpoint-every", OPTION_LONG, &c->o.checkpoint_every, "N", "also checkpoint every N steps (default: at epoch ends)", 0, big, NULL};
    s[n++] = (option_spec){"--reduce-lr-factor", OPTION_DOUBLE, &c->o.plateau_factor, "F", "ReduceLROnPlateau factor (default 0.1)", 1e-9, 0.999999, NULL};
    s[n++] = (option_spec){"--reduce-lr-patience", OPTION_INT, &c->o.plateau_patience, "N", "ReduceLROnPlateau patience in epochs (default 1)", 0, 1e9, NULL};
    s[n++] = (option_spec){"--min-lr", OPTION_DOUBLE, &c->o.plateau_min_lr, "RATE", "ReduceLROnPlateau min_lr (default 1e-4)", 0, 1e30, NULL};
    s[n++] = (option_spec){"--early-stopping", OPTION_INT, &c->o.early_stopping, "PATIENCE", "stop when val_loss has not improved for PATIENCE epochs (default off)", 1, 1e9, NULL};
    s[n++] = (option_spec){"--probes", OPTION_CHOICE, &c->probes_choice, "on|off", "per-layer statistics and the full sentinel (default on)", 0, 0, probe_choices};
    s[n++] = (option_spec){"--probe-every", OPTION_INT, &c->o.probe_every, "K", "write statistics every K steps; the last W before a NaN always (default 1)", 1, 1e9, NULL};
    s[n++] = (option_spec){"--ring", OPTION_INT, &c->o.ring_steps, "W", "steps kept in memory for the flush on a NaN (default 32)", 1, 100000, NULL};
    s[n++] = (option_spec){"--on-nan", OPTION_STRING, &c->on_nan, "stop|continue=N", "at the first non-finite value: stop (default, exit 3) or run N more steps", 0, 0, NULL};
    s[n++] = (option_spec){"--inject", OPTION_LIST, &c->inject, "SPEC", "fault drill, repeatable: nan-input@step=S,sample=K | inf-forward@layer=NAME,step=S | inf-backward@layer=NAME,step=S | scale-weights@layer=NAME,step=S,factor=F", 0, 0, NULL};
    s[n++] = (option_spec){"--quiet", OPTION_FLAG, &c->o.quiet, NULL, "no console output but errors", 0, 0, NULL};
    s[n++] = (option_spec){"--no-report", OPTION_FLAG, &c->o.report, NULL, "do not write the report at the end", 0, 0, NULL};
    return n;
}

/* Options that define the model, the data or their order may not change
 * when a run is resumed: the checkpoint would not fit, or the rerun would
 * not be the same run. */
static const char *const fixed_on_resume[] = {"--depth", "--width", "--clip", "--classes", "--batch", "--init",
                                              "--data", "--train-clips", "--val-clips", "--normalize", "--seed",
                                              "--steps-per-epoch", NULL};

static int parse_train(train_cli *c, int argc, char *const *argv, int *help, error *err)
{
    option_spec specs[40];
    int count = build_train_specs(c, specs);
    int no_report = 0;
    c->o.report = 0;
    specs[count - 1].target = &no_report;
    if (options_parse("train", specs, count, argc, argv, NULL, 0, NULL, help, err)) return -1;
    if (*help) {
        options_print_help(stdout, "nanprobe train [options]",
                           "Trains the seed's ResNet3D with Keras semantics, probing every layer every step into "
                           "DIR/run.db,\nand names the first non-finite value if one appears.",
                           specs, count);
        return 0;
    }
    c->o.report = !no_report;
    c->o.depth = depth_values[c->depth_index];
    c->o.probes = c->probes_choice;
    if (c->on_nan) {
        char *end;
        if (strcmp(c->on_nan, "stop") == 0) {
            c->o.on_nan_continue = -1;
        } else if (strncmp(c->on_nan, "continue=", 9) == 0 && (c->o.on_nan_continue = strtol(c->on_nan + 9, &end, 10)) >= 0 &&
                   end != c->on_nan + 9 && *end == '\0') {
        } else {
            return error_set(err, "nanprobe train: --on-nan expects 'stop' or 'continue=N' with N >= 0, got '%s'", c->on_nan);
        }
    }
    for (int i = 0; i < c->inject.count; i++) c->o.injections[i] = c->inject.items[i];
    c->o.injection_count = c->inject.count;
    return 0;
}

static void on_signal(int signal_number)
{
    train_request_stop();
    /* A second Ctrl-C kills at once. */
    signal(signal_number, SIG_DFL);
}

static int command_train(int argc, char **argv)
{
    train_cli c;
    memset(&c, 0, sizeof c);
    train_options_defaults(&c.o);
    c.depth_index = 1;
    c.probes_choice = 1;
    error err;
    int help = 0;
    if (parse_train(&c, argc, argv, &help, &err)) return usage_error(&err);
    if (help) return EXIT_OK;

    /* The argument list stored with checkpoints: on resume, the stored one
     * followed by the new options (later ones win when it is re-parsed). */
    char **stored = NULL, **list = NULL;
    int stored_count = 0, list_count = 0;
    char out_arg[4200];
    int resume = c.resume != NULL;
    if (resume) {
        const char *dir = c.resume;
        if (checkpoint_read_arguments(dir, &stored_count, &stored, &err)) {
            fprintf(stderr, "nanprobe train --resume: %s\n", err.message);
            return EXIT_FAILURE_;
        }
        train_cli again;
        memset(&again, 0, sizeof again);
        train_options_defaults(&again.o);
        again.depth_index = 1;
        again.probes_choice = 1;
        if (parse_train(&again, stored_count, stored, &help, &err)) {
            fprintf(stderr, "nanprobe train --resume: the checkpoint's options no longer parse: %s\n", err.message);
            free(stored);
            return EXIT_FAILURE_;
        }
        for (int k = 0; fixed_on_resume[k]; k++)
            if (options_given(argc, argv, fixed_on_resume[k])) {
                fprintf(stderr, "nanprobe train: %s cannot change when resuming (it defines the model, the data or their order)\n",
                        fixed_on_resume[k]);
                free(stored);
                return EXIT_USAGE;
            }
        /* Re-parse the stored options, then the new ones on top. */
        list = malloc(sizeof(char *) * (size_t)(stored_count + argc + 2));
        /* --max-steps bounds one invocation, not the run: a resumed run
         * would otherwise stop again at once. */
        for (int i = 0; i < stored_count; i++) {
            if (strcmp(stored[i], "--max-steps") == 0) {
                i++;
                continue;
            }
            if (strncmp(stored[i], "--max-steps=", 12) == 0) continue;
            list[list_count++] = stored[i];
        }
        for (int i = 0; i < argc; i++) {
            if (strcmp(argv[i], "--resume") == 0) {
                i++;
                continue;
            }
            if (strncmp(argv[i], "--resume=", 9) == 0) continue;
            list[list_count++] = argv[i];
        }
        snprintf(out_arg, sizeof out_arg, "--out=%s", dir);
        list[list_count++] = out_arg;
        memset(&c, 0, sizeof c);
        train_options_defaults(&c.o);
        c.depth_index = 1;
        c.probes_choice = 1;
        if (parse_train(&c, list_count, list, &help, &err)) {
            free(list);
            free(stored);
            return usage_error(&err);
        }
    } else {
        if (!c.o.out) {
            char stamp[64];
            time_t t = time(NULL);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(stamp, sizeof stamp, "runs/run-%Y%m%d-%H%M%S", &tm);
            snprintf(out_arg, sizeof out_arg, "--out=%s", stamp);
        }
        list = malloc(sizeof(char *) * (size_t)(argc + 2));
        for (int i = 0; i < argc; i++) list[list_count++] = argv[i];
        if (!c.o.out) {
            list[list_count++] = out_arg;
            c.o.out = out_arg + 6;
        }
    }

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);

    train_result result;
    int rc = train_run(&c.o, list_count, list, resume, &result, &err);
    free(list);
    free(stored);
    if (rc) {
        fprintf(stderr, "nanprobe train: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    if (!c.o.quiet) {
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

/* --------------------------------------------------------------- summary */

static int command_summary(int argc, char **argv)
{
    int depth_index = 1, width = 64, classes = 10, batch = 1, clip[4] = {16, 112, 112, 3};
    option_spec specs[] = {
        {"--depth", OPTION_CHOICE, &depth_index, "N", "ResNet3D depth: 18, 34 (default), 50, 101, 152", 0, 0, depth_choices},
        {"--width", OPTION_INT, &width, "N", "filters of the first stage (default 64)", 1, 4096, NULL},
        {"--clip", OPTION_CLIP, clip, "DxHxWxC", "clip shape (default 16x112x112x3)", 0, 0, NULL},
        {"--classes", OPTION_INT, &classes, "N", "output classes (default 10)", 1, 100000, NULL},
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
    model m;
    model_config config = {.depth = depth_values[depth_index], .width = width, .classes = classes, .batch = batch,
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

/* ------------------------------------------------------------------ main */

static void print_usage(FILE *out)
{
    fprintf(out,
            "nanprobe %s: numerical-stability probes for a ResNet3D trained in C\n\n"
            "usage: nanprobe COMMAND [options]   (nanprobe COMMAND --help for each)\n\n"
            "commands:\n"
            "  train     train the seed's ResNet3D, probing every layer every step into DIR/run.db\n"
            "  summary   print the network like Keras' model.summary()\n"
            "  schema    print the SQL schema of run.db\n"
            "  version   print the version\n",
            NANPROBE_VERSION);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "train") == 0) return command_train(argc - 2, argv + 2);
    if (strcmp(command, "summary") == 0) return command_summary(argc - 2, argv + 2);
    if (strcmp(command, "schema") == 0) return command_schema(argc - 2, argv + 2);
    if (strcmp(command, "version") == 0 || strcmp(command, "--version") == 0) {
        printf("nanprobe %s\n", NANPROBE_VERSION);
        return EXIT_OK;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0) {
        print_usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "nanprobe: unknown command '%s'\n\n", command);
    print_usage(stderr);
    return EXIT_USAGE;
}
