/* checkpoint.h: everything a run needs to continue bit-identically.
 *
 * DIR/checkpoint.bin holds the training options (as the argument list that
 * produced them), the loop position (step, epoch, step within the epoch),
 * the learning rate and callback state, Adam's step count, the epoch's
 * running sums, the weights, the BatchNorm moving statistics and Adam's m
 * and v.  No RNG state is needed: every random stream (initialization,
 * shuffling, synthetic clips) is a function of the seed and of a position
 * (epoch, pass, sample id) that the checkpoint already holds.  It is written to a temporary file, synced
 * and renamed over the old one, so a crash leaves either the old or the new
 * checkpoint, never half of one; a checksum catches a damaged file. */
#ifndef NANPROBE_CHECKPOINT_H
#define NANPROBE_CHECKPOINT_H

#include "callbacks.h"
#include "error.h"
#include "model.h"
#include "rng.h"

typedef struct checkpoint_state {
    long step;          /* steps completed */
    int epoch;          /* the epoch in progress (0-based) */
    long epoch_step;    /* steps of that epoch completed */
    float learning_rate;
    long adam_t;
    double kernel_squares; /* sum of w^2 over kernels, for the next penalty */
    double epoch_loss_sum, epoch_correct, epoch_seen, epoch_seconds;
    reduce_lr_on_plateau plateau;
    early_stopping early;
    /* The run's identity (runs.identity in its run.db): --resume refuses a
     * checkpoint whose identity is not the database's. */
    char identity[40];
} checkpoint_state;

/* The file name inside a run directory. */
#define CHECKPOINT_FILE "checkpoint.bin"

int checkpoint_save(const char *dir, const checkpoint_state *state, const model *m, int argc, char *const *argv,
                    error *err);
/* Reads the stored argument list (to rebuild the options and the model
 * before the weights can be loaded).  *argv is one allocation holding the
 * pointers and the strings; free(*argv) releases it. */
int checkpoint_read_arguments(const char *dir, int *argc, char ***argv, error *err);
/* Restores state and the model's buffers; the model must have been built
 * from the same options. */
int checkpoint_load(const char *dir, checkpoint_state *state, model *m, error *err);

#endif
