/* snapshot.h: the state at the start of a recent step, kept in memory so
 * that the step can be run again (replay.h).
 *
 * A snapshot copies what the next steps change: weights, BatchNorm moving
 * statistics, Adam's m and v, and the loop position with the learning rate
 * and callback state (checkpoint_state).  Everything else a step needs is a
 * function of the seed and the position (the batch, the clips), so the
 * state at the start of step s is the snapshot at k < s followed by a
 * deterministic rerun of steps k+1 .. s-1.  Taking one every K steps costs
 * one copy of 4 x 254 MB per K steps for ResNet3D-34 (make bench measures
 * it) and bounds a replay's rerun to K-1 steps. */
#ifndef NANPROBE_SNAPSHOT_H
#define NANPROBE_SNAPSHOT_H

#include "checkpoint.h"
#include "model.h"

typedef struct snapshot {
    long step;          /* the state after this many steps; -1: empty */
    checkpoint_state state;
    float *weights, *moving, *adam_m, *adam_v; /* copies of the model's arenas */
    size_t weights_count, moving_count;
} snapshot;

/* Allocates room for m's state (nothing is copied yet). */
int snapshot_init(snapshot *s, const model *m, error *err);
void snapshot_free(snapshot *s);
void snapshot_take(snapshot *s, const model *m, const checkpoint_state *state);
/* Puts the snapshot back into m and *state. */
void snapshot_restore(const snapshot *s, model *m, checkpoint_state *state);
/* Bytes a snapshot of m holds. */
size_t snapshot_bytes(const model *m);

#endif
