/* ladder.h: the precision ladder: one training step rerun from the same
 * state in each emulated precision (model_precision.h), to say at which
 * precision its failure appears.
 *
 * The state at the start of the step is rebuilt once (replay.h); each rung
 * restores it, sets the precision and runs the step through the replay's
 * stepper (so mixed_float16 scales the loss and skips as training would),
 * watching every layer output, output gradient and kernel gradient:
 *   - the first that holds a NaN or Inf: where the values left the format's
 *     range (an overflow past 65504 in float16, past float32's in the
 *     others) or an operation had no answer;
 *   - the first that is all zero where float32's is not: where the format
 *     lost every significant digit (float16 underflow, or a cancellation
 *     after TF32/bfloat16 rounding).
 * A rung fails when a non-finite value reaches the loss or the update; a
 * mixed_float16 rung whose only non-finite values are gradients is
 * "skipped": the loss scale absorbs it by skipping the update.
 * float32 always runs first: it is the reference for "all zero". */
#ifndef NANPROBE_LADDER_H
#define NANPROBE_LADDER_H

#include "precision.h"
#include "replay.h"

typedef struct ladder_rung {
    precision_kind precision;
    int failed, skipped;
    float loss_scale; /* 0: none */
    double loss;
    int bad_layer;    /* -1: none */
    char bad_tensor[32];
    value_class bad_value;
    int lost_layer;   /* -1: none */
    char lost_tensor[32];
    char message[480];
} ladder_rung;

#define LADDER_MAX_RUNGS 4

/* Runs step `step` in float32 and each of precisions[0..count) (float32
 * among them is run once), writes rungs[] in that order (float32 first)
 * and returns how many; the model and loop state are put back after.
 * loss_scale: what mixed_float16's rung scales the loss by. */
int ladder_run(replay_session *s, long step, const precision_kind *precisions, int count, float loss_scale,
               ladder_rung *rungs, error *err);

#endif
