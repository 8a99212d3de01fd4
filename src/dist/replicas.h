/* replicas.h: what the ranks of a data-parallel run agree on after every
 * step, before rank 0 writes it: the step's loss and accuracy over the
 * global batch, the sentinel's first non-finite value, and the per-layer
 * statistics of all replicas merged into rank 0's rows.
 *
 * The sentinel costs one small allreduce per step (sums of the loss,
 * correct and samples, and the minimum of an order key): each rank's first
 * event of the step gets a key from its place in execution order (the
 * input, then the forward pass layer by layer, the loss, the backward pass
 * from the last layer, the optimizer), times the number of ranks, plus the
 * rank; the smallest key wins, so the value that appeared first, on the
 * lowest rank on a tie, is named.  Only when there is one does the winner
 * broadcast it; every rank then adopts it, so all stop together.  The event
 * names the rank, the clip's sample id and its position in the global
 * batch, and the element. */
#ifndef NANPROBE_DIST_REPLICAS_H
#define NANPROBE_DIST_REPLICAS_H

#include "comm.h"
#include "probe.h"
#include "shard.h"

typedef struct dist_replicas {
    dist_comm *comm;
    const model *m;
    int sync_bn;
    int layer_count;
    int global_batch;
    unsigned char *send, *receive;
    int send_capacity, receive_capacity;
    int *counts;
    int event_agreed; /* the run's first event is agreed: there is no other */
    double seconds;
} dist_replicas;

int dist_replicas_open(dist_replicas *r, dist_comm *comm, probe_session *ps, const model *m, int sync_bn,
                       int global_batch, error *err);
void dist_replicas_close(dist_replicas *r);

typedef struct dist_step_totals {
    double loss_sum; /* data loss x samples, over the ranks */
    double correct;
    double samples;
    double stop;     /* ranks asked to stop (SIGINT/SIGTERM): > 0 stops all */
} dist_step_totals;

/* Called by every rank after probe_after_update and before probe_step_end
 * (rows set), or after a validation pass (rows 0: sums and sentinel only).
 * totals holds this rank's and comes back with everyone's. */
int dist_replicas_step(dist_replicas *r, probe_session *ps, const dist_shard *shard, int rows,
                       dist_step_totals *totals, error *err);

/* The order key of an event in a step's execution (smaller is earlier). */
double dist_event_order(const nonfinite_event *e, int layer_count);

#endif
