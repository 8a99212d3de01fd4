/* keras_cmd.c: `nanprobe export-keras` and the option side of `nanprobe
 * train --from-keras` (see keras_cmd.h). */
#include "keras_cmd.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "keras.h"
#include "commands.h"
#include "options.h"
#include "read_run_clip.h"
#include "train_cli.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };


static void add_arg(keras_train_args *extra, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void add_arg(keras_train_args *extra, const char *format, ...)
{
    if (extra->count >= COUNT(extra->text)) return;
    va_list ap;
    va_start(ap, format);
    vsnprintf(extra->text[extra->count], sizeof extra->text[0], format, ap);
    va_end(ap);
    extra->argv[extra->count] = extra->text[extra->count];
    extra->count++;
}

/* An option that contradicts the file: a usage error, not a file error. */
static int conflict(error *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int conflict(error *err, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(err->message, sizeof err->message, format, ap);
    va_end(ap);
    return KERAS_CMD_CONFLICT;
}

/* An option the file defines: taken from the file unless given, and then
 * it must agree. */
static int settle_int(const char *option, int given, int *value, int from_file, const char *file,
                      keras_train_args *extra, error *err)
{
    if (given && *value != from_file)
        return conflict(err, "nanprobe train: %s %d does not match --from-keras %s, which holds %d", option, *value,
                         file, from_file);
    *value = from_file;
    add_arg(extra, "%s=%d", option, from_file);
    return 0;
}

static int settle_clip(train_options *o, int given, const keras_model_info *info, keras_train_args *extra,
                       error *err)
{
    if (info->has_clip) {
        if (given && memcmp(o->data.clip, info->clip, sizeof o->data.clip) != 0)
            return conflict(err, "nanprobe train: --clip %dx%dx%dx%d does not match --from-keras %s, whose input "
                                  "is %dx%dx%dx%d", o->data.clip[0], o->data.clip[1], o->data.clip[2], o->data.clip[3],
                             o->model.from_keras, info->clip[0], info->clip[1], info->clip[2], info->clip[3]);
        memcpy(o->data.clip, info->clip, sizeof o->data.clip);
    } else if (given && o->data.clip[3] != info->clip[3]) {
        return conflict(err, "nanprobe train: --clip %dx%dx%dx%d has %d channels; --from-keras %s expects %d",
                         o->data.clip[0], o->data.clip[1], o->data.clip[2], o->data.clip[3], o->data.clip[3],
                         o->model.from_keras, info->clip[3]);
    } else if (!given) {
        /* Weights only: D, H, W are not in the file (a global pool makes the
         * weights independent of them); the channels are. */
        o->data.clip[3] = info->clip[3];
        return 0;
    }
    add_arg(extra, "--clip=%dx%dx%dx%d", o->data.clip[0], o->data.clip[1], o->data.clip[2], o->data.clip[3]);
    return 0;
}

static void print_taken(const train_options *o, const keras_model_info *info)
{
    printf("--from-keras %s: %s, ResNet3D-%d width %d, %d classes, clip %dx%dx%dx%d%s\n", o->model.from_keras,
           keras_kind_name(info->kind), info->depth, info->width, info->classes, o->data.clip[0], o->data.clip[1],
           o->data.clip[2], o->data.clip[3],
           info->has_config ? " (from its config)" : " (from its weights' shapes; D, H, W from --clip)");
    if (info->has_optimizer)
        printf("  Adam state carried over: iterations %ld (the next step is t = %ld)\n", info->iterations,
               info->iterations + 1);
    else
        printf("  no optimizer state in the file: Adam starts fresh (t = 0, m = v = 0)\n");
    printf("  learning rate %.9g (%s), L2 %.9g%s\n", o->fit.lr, o->fit.lr_overrides_checkpoint ? "--lr"
           : info->learning_rate_source ? info->learning_rate_source : "the default: the file has none",
           o->model.l2, info->has_l2 ? "" : " (not in the file)");
}

int keras_cmd_prepare_train(train_options *o, int quiet, int argc, char *const *argv, keras_train_args *extra,
                            error *err)
{
    keras_model_info info;
    memset(extra, 0, sizeof *extra);
    if (keras_inspect(o->model.from_keras, &info, err)) return -1;
    int rc = settle_int("--depth", options_given(argc, argv, "--depth"), &o->model.depth, info.depth,
                        o->model.from_keras, extra, err);
    if (rc == 0)
        rc = settle_int("--width", options_given(argc, argv, "--width"), &o->model.width, info.width,
                        o->model.from_keras, extra, err);
    if (rc == 0)
        rc = settle_int("--classes", options_given(argc, argv, "--classes"), &o->model.classes, info.classes,
                        o->model.from_keras, extra, err);
    if (rc == 0) rc = settle_clip(o, options_given(argc, argv, "--clip"), &info, extra, err);
    if (rc) return rc;
    /* The step count continues Keras' iterations: a limit at or below them
     * would stop before the first step and report the file's count as the
     * steps run.  (--max-steps 0, init's, asks for no step on purpose.) */
    if (o->max_steps > 0 && o->max_steps <= info.iterations)
        return conflict(err, "nanprobe train: --max-steps %ld is not above the %ld iterations --from-keras %s has "
                             "already done (steps continue Keras' count), so no step would run", o->max_steps,
                        info.iterations, o->model.from_keras);
    if (!options_given(argc, argv, "--l2") && info.has_l2) {
        o->model.l2 = info.l2;
        add_arg(extra, "--l2=%.17g", o->model.l2);
    }
    o->fit.lr_overrides_checkpoint = options_given(argc, argv, "--lr");
    if (!o->fit.lr_overrides_checkpoint && info.learning_rate_source) {
        /* The float32 the file holds, exactly. */
        o->fit.lr = (double)(float)info.learning_rate;
        add_arg(extra, "--lr=%.17g", o->fit.lr);
    }
    if (!quiet) print_taken(o, &info);
    return 0;
}

/* ---------------------------------------------------------- export-keras */

/* The clip the run trained on, from its database (the options may have
 * left it to a .npy file); *clip is left alone when that fails. */
static void run_clip(const char *dir, int clip[4])
{
    char path[4200], text[256];
    snprintf(path, sizeof path, "%s/run.db", dir);
    int parsed[4];
    if (read_run_clip(path, text, sizeof text) && options_parse_clip(text, parsed) == 0)
        memcpy(clip, parsed, sizeof parsed);
}

/* Rebuilds the run's model from its checkpoint (options, weights, Adam). */
static int load_run(const char *dir, model *m, checkpoint_state *state, double *l2, error *err)
{
    int stored_count = 0, help = 0;
    char **stored = NULL;
    if (checkpoint_read_arguments(dir, &stored_count, &stored, err)) return -1;
    train_cli c;
    train_cli_init(&c);
    int rc = train_cli_parse(&c, stored_count, stored, &help, err);
    free(stored);
    if (rc) return error_set(err, "%s: the checkpoint's options no longer parse", dir);
    model_config mc = {.depth = c.o.model.depth, .width = c.o.model.width, .classes = c.o.model.classes, .batch = 1,
                       .threads = 1};
    memcpy(mc.clip, c.o.data.clip, sizeof mc.clip);
    run_clip(dir, mc.clip);
    *l2 = c.o.model.l2;
    if (model_build(m, &mc, err)) return -1;
    if (checkpoint_load(dir, state, m, err)) {
        model_free(m);
        return -1;
    }
    return 0;
}

/* Whether out names one of the files a run lives in (by inode: any
 * spelling of the path, a hard link too). */
static int is_run_file(const char *dir, const char *out)
{
    static const char *const files[] = {"run.db", "run.db-wal", "run.db-shm", CHECKPOINT_FILE, NULL};
    struct stat o, r;
    if (stat(out, &o) != 0) return 0;
    for (int i = 0; files[i]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &r) == 0 && r.st_dev == o.st_dev && r.st_ino == o.st_ino) return 1;
    }
    return 0;
}

typedef struct export_keras_cli {
    const char *out;
    int optimizer;
} export_keras_cli;

const option_spec export_keras_option_specs[] = {
    {"--out", "-o", OPTION_STRING, offsetof(export_keras_cli, out), "FILE.h5", NULL, "the Keras file to write (required)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--optimizer", NULL, OPTION_FLAG, offsetof(export_keras_cli, optimizer), NULL, NULL, "also write Adam's state (iterations, m, v)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {0},
};

int keras_cmd_export(int argc, char **argv)
{
    export_keras_cli c = {0};
    const char *positional[2];
    int count = 0;
    int rc = command_options("export-keras", &c, argc, argv, positional, 2, &count);
    if (rc >= 0) return rc;
    const char *out = c.out;
    int with_optimizer = c.optimizer;
    error err;
    if (count != 1 || !out) {
        fprintf(stderr, "nanprobe export-keras: expected one run directory and -o FILE.h5\n");
        return EXIT_USAGE;
    }
    if (is_run_file(positional[0], out)) {
        fprintf(stderr, "nanprobe export-keras: -o %s is the run's own database or checkpoint; write the Keras file "
                        "elsewhere\n", out);
        return EXIT_USAGE;
    }
    model m;
    checkpoint_state state;
    double l2 = 0.0;
    if (load_run(positional[0], &m, &state, &l2, &err)) {
        fprintf(stderr, "nanprobe export-keras: %s\n", err.message);
        return EXIT_FAILED;
    }
    keras_export_options o = {.with_optimizer = with_optimizer, .iterations = state.adam_t,
                              .learning_rate = state.learning_rate, .l2 = l2};
    rc = keras_export(out, &m, &o, &err);
    if (rc) fprintf(stderr, "nanprobe export-keras: %s\n", err.message);
    else
        printf("wrote %s: ResNet3D-%d width %d, %d classes, step %ld%s\n", out, m.config.depth, m.config.width,
               m.config.classes, state.step, with_optimizer ? ", with Adam's state" : " (weights and moving statistics)");
    model_free(&m);
    return rc ? EXIT_FAILED : EXIT_OK;
}
