/* syncbn.h: synchronized BatchNorm over MPI (--sync-bn): the reductions of
 * src/layers/batchnorm.h's batchnorm_sync, attached to every BatchNorm
 * layer of a model.
 *
 * Forward: each rank's per-channel (count, mean, M2), in double, are
 * all-gathered and merged in rank order (merge.h), so every rank holds the
 * same, exact statistics of the global batch.  Backward: the per-channel
 * sums of dy and dy*xhat are summed over the ranks in double.  A failed
 * collective is remembered and reported after the step (the layer calls
 * cannot return an error). */
#ifndef NANPROBE_DIST_SYNCBN_H
#define NANPROBE_DIST_SYNCBN_H

#include "batchnorm.h"
#include "comm.h"
#include "model.h"

typedef struct dist_syncbn {
    dist_comm *comm;
    batchnorm_sync sync;
    double *gathered; /* size x 3 x the widest layer's channels */
    int failed;
    error failure;
    double seconds;   /* in the collectives */
} dist_syncbn;

int dist_syncbn_attach(dist_syncbn *s, dist_comm *comm, model *m, error *err);
void dist_syncbn_detach(dist_syncbn *s, model *m);
/* The first failure of a collective since the last call, or 0. */
int dist_syncbn_check(dist_syncbn *s, error *err);

#endif
