/* progress.h: console output in the manner of Keras' fit().
 *
 * On a terminal: "Epoch 3/10", then a progress bar redrawn in place
 * ("17/50 [=====>........] - ETA: 41s - loss: 2.2712 - acc: 0.1875"), and at
 * the end of the epoch the bar completed with the epoch's time, loss, acc,
 * val_loss, val_acc and lr.  Without a terminal (a log file, CI): one plain
 * line per epoch and nothing in between.  progress_train_callbacks() hands
 * all of it to train_run, which prints nothing itself. */
#ifndef NANPROBE_PROGRESS_H
#define NANPROBE_PROGRESS_H

#include <stdio.h>

#include "train.h"

typedef struct progress {
    FILE *out;
    int terminal;
    int quiet;
    int epoch, epochs;
    long steps;
    double epoch_start, last_draw;
} progress;

void progress_init(progress *p, FILE *out, int quiet);
void progress_epoch_begin(progress *p, int epoch, int epochs, long steps);
void progress_step(progress *p, long done, double loss, double accuracy);
void progress_epoch_end(progress *p, long done, double loss, double accuracy, int has_validation, double val_loss,
                        double val_accuracy, double lr);
/* A line of its own (a callback's message), not disturbing the bar. */
void progress_note(progress *p, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* train_run's callbacks drawing on p: the setup lines, the bar, the epoch
 * lines and notes on p->out (none when quiet), warnings on stderr (always,
 * as "nanprobe train: warning: ..."). */
train_callbacks progress_train_callbacks(progress *p);
/* The per-kind time split of --timing, one JSON line. */
void progress_print_timing(FILE *out, const train_timing *t);

#endif
