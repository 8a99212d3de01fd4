/* keras_cmd.h: the command line of Keras checkpoints: `nanprobe
 * export-keras`, and what `nanprobe train --from-keras FILE` takes from the
 * file before the run opens (src/keras does the reading and writing). */
#ifndef NANPROBE_KERAS_CMD_H
#define NANPROBE_KERAS_CMD_H

#include "error.h"
#include "train.h"

/* nanprobe export-keras RUN_DIR -o FILE.h5 [--optimizer]; returns the exit status. */
int keras_cmd_export(int argc, char **argv);

/* The options --from-keras settles, spelled out ("--depth=18", ...) so that
 * the argument list stored with checkpoints rebuilds the same run. */
typedef struct keras_train_args {
    char text[8][96];
    char *argv[8];
    int count;
} keras_train_args;

/* Reads what o->model.from_keras defines (depth, width, classes, clip, L2, learning
 * rate), fills the options argv did not give, checks those it gave, and
 * prints what was taken from where unless quiet.  Returns 0, -1 with err
 * set when the file cannot be used, or KERAS_CMD_CONFLICT when an option
 * contradicts the file (a usage error). */
#define KERAS_CMD_CONFLICT (-2)
int keras_cmd_prepare_train(train_options *o, int quiet, int argc, char *const *argv, keras_train_args *extra,
                            error *err);

#endif
