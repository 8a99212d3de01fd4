/* commands.c: the table of commands (see commands.h). */
#include "commands.h"

#include <string.h>

#include "ablate.h"
#include "data_cmd.h"
#include "doctor.h"
#include "exit_status.h"
#include "keras_cmd.h"
#include "replay_cmd.h"
#include "train_cli.h"

static const option_spec no_options[] = {{0}};

static int run_ablate(int argc, char **argv, const command_context *context)
{
    return ablate_main(argc, argv, context->comm);
}

static int run_doctor(int argc, char **argv, const command_context *context)
{
    return doctor_main(argc, argv, context->blas);
}

static int run_data(int argc, char **argv, const command_context *context)
{
    (void)context;
    return data_command(argc, argv);
}

static int run_export_keras(int argc, char **argv, const command_context *context)
{
    (void)context;
    return keras_cmd_export(argc, argv);
}

static int run_replay(int argc, char **argv, const command_context *context)
{
    (void)context;
    return replay_command(argc, argv);
}

/* In the order of `nanprobe help`: first the workflow, then the tools. */
const command_spec commands[] = {
    {"demo", "[-o DIR]", "one minute: train a small ResNet3D into a natural NaN and explain it",
     "Trains a ResNet3D-18 of width 4 on synthetic 8x32x32 clips with Adam at learning rate 700, far too "
     "large, so the run diverges by itself (nothing is planted): a BatchNorm variance grows by decades per "
     "step until float32 overflows, around step 8. Writes the run and its report into DIR and prints the "
     "report's path and the verdict's Cause, Path and Fix. Exits 0 when the NaN was explained.",
     demo_option_specs, NULL, command_demo, 1, 1},
    {"train", "[options]", "train the seed's ResNet3D, probing every layer every step into DIR/run.db",
     "Trains the seed's ResNet3D with Keras semantics, probing every layer every step into DIR/run.db, and "
     "names the first non-finite value if one appears; then writes the report (DIR/report/index.html). "
     "Exits 0 when training ends, 3 when it stopped at a NaN.",
     train_option_specs, NULL, command_train, 1, 1},
    {"init", "[train options]", "write the run database and the untrained model's checkpoint",
     "Writes the run database and the checkpoint of the untrained model (train --max-steps 0 --no-report), "
     "to compare initializations or to start a run later with train --resume.",
     no_options, "train", command_init, 1, 1},
    {"report", "RUN/run.db [-o DIR]", "write the NaN (or health) report of a run: verdict, figures, rules",
     "Writes the NaN report of a run (or, without a NaN, its health report): index.html with the verdict card, "
     "verdict.txt, figures as PNG and SVG, their gnuplot scripts and data.",
     report_option_specs, NULL, command_report, 0, 0},
    {"replay", "RUN_DIR [--step S] [--precision float|double|both]",
     "run a step of a run again in float32 and float64: reproducible? float32's fault?",
     "Runs one step of a run again from its checkpoint: in float32 (does the NaN recur, bit for bit?) and in "
     "float64 (a real divergence, a float32 artefact, or the maths itself?), with the terms that made the bad "
     "element. Rows go to run.db (replays, replay_tensors, replay_terms); the report is rewritten.",
     replay_option_specs, NULL, run_replay, 1, 0},
    {"compare", "A/run.db B/run.db ... -o DIR", "compare runs side by side (ablation arms)",
     "Compares runs (the arms of an ablation): val_loss and val_acc per epoch, each arm's first NaN, and the "
     "statistics that separate the arms, into DIR/index.html.",
     compare_option_specs, NULL, command_compare, 0, 0},
    {"ablate", "(--grid KEY=V1,V2,... ... | --arm KEY=V,KEY=V ...) [--seeds N] [train options] [-o DIR] [--jobs N]",
     "train every arm of a grid (--grid) or a list (--arm), then compare them",
     "Trains every arm of the grid (KEY is any train option without the dashes, e.g. --grid "
     "init=he_normal,glorot_uniform --grid l2=0,1e-4 is the seed's 2x2), or the arms listed one by one with "
     "--arm (the seed's three arms: --arm init=he_normal,l2=0 --arm init=glorot_uniform,l2=1e-4 --arm "
     "init=he_normal,l2=1e-4), each into DIR/arm-N-..., with the other train options shared; --seeds N trains "
     "every arm N times with seeds S..S+N-1 so the comparison can tell settings from seed spread. Then writes "
     "DIR/compare/index.html and DIR/compare/verdict.txt: what separates the arms. --jobs N runs N arms at once "
     "(threads are shared out unless --threads is given). An arm that stops at a NaN is a result; an arm that "
     "fails makes ablate exit 1.",
     ablate_option_specs, "train", run_ablate, 1, 1},
    {"export-keras", "RUN_DIR -o FILE.h5 [--optimizer]",
     "write a run's state as a tf.keras .h5 (model.load_weights() reads it)",
     "Writes the run's last checkpoint in the tf.keras 2.x model.save() layout: model_config, training_config "
     "and model_weights, which model.load_weights() accepts by name and by order; --optimizer adds Adam's "
     "state.",
     export_keras_option_specs, NULL, run_export_keras, 0, 0},
    {"data", "DIR [options]", "list a video dataset and write a contact sheet of its clips",
     "Lists a video dataset (classes, durations, resolutions, frame rates, files that cannot be decoded) and "
     "writes a contact sheet of training clips as the network sees them (resize, crop and --normalize "
     "applied). Exits 1 when some videos cannot be used, unless --skip-bad-videos.",
     data_option_specs, NULL, run_data, 0, 0},
    {"summary", "[options]", "print the network like Keras' model.summary()",
     "Prints the network as Keras' model.summary() would, with each layer's Keras name and structural path.",
     summary_option_specs, NULL, command_summary, 0, 0},
    {"schema", "", "print the SQL schema of run.db", "Prints the SQL schema of run.db (tables, indexes, views).",
     no_options, NULL, command_schema, 0, 0},
    {"doctor", "[options]", "print the CPU, BLAS kernel (and why), threads, sgemm rate, SQLite and gnuplot",
     "Prints the CPU and its features, the BLAS library, the kernel that runs and why, the threads, a measured "
     "sgemm rate, and the SQLite and gnuplot versions (also: nanprobe version --verbose). Exits 1 when the "
     "sgemm check fails.",
     doctor_option_specs, NULL, run_doctor, 1, 0},
    {"version", "[--verbose]", "print the version (--verbose: as doctor)",
     "Prints the version; with --verbose, what doctor prints.", version_option_specs, NULL, command_version, 0, 0},
    {"help", "[COMMAND] [--man | --markdown | --completion]", "this list, a command's help, or the manual",
     "Prints the list of commands, or COMMAND's help; --man prints the man page (nanprobe(1), or "
     "nanprobe-COMMAND(1)), --markdown the options reference (docs/options.md), --completion the bash "
     "completion. All of them come from the same tables as the parser.",
     help_option_specs, NULL, command_help, 0, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
};

const command_spec *command_find(const char *name)
{
    for (int i = 0; commands[i].name; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

void command_print_help(FILE *out, const command_spec *command)
{
    char usage[512];
    snprintf(usage, sizeof usage, "nanprobe %s %s", command->name, command->synopsis);
    options_print_help(out, usage, command->description, command->options);
    if (command->inherits)
        fprintf(out, "\nand every option of nanprobe %s (see nanprobe %s --help).\n", command->inherits,
                command->inherits);
}

int command_options(const char *name, void *base, int argc, char **argv, const char **positional,
                    int max_positional, int *positional_count)
{
    const command_spec *command = command_find(name);
    error err;
    int help = 0;
    options_init(name, command->options, base);
    if (options_parse(name, command->options, base, argc, argv, positional, max_positional, positional_count, NULL,
                      &help, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return EXIT_USAGE;
    }
    if (help) {
        command_print_help(stdout, command);
        return EXIT_OK;
    }
    return -1;
}
