/* buckets.h: data-parallel gradient averaging in buckets overlapped with
 * the backward pass, as Horovod's tensor fusion and PyTorch DDP do.
 *
 * The trainable parameters' gradients share one arena in layer order, so a
 * bucket is one contiguous range of it: the parameters of consecutive
 * layers, about --bucket-mb (default 25 MB, DDP's default) together, cut
 * from the last layer backward.  The backward pass visits layers from the
 * last to the first; when it leaves the lowest layer of a bucket, every
 * gradient in the bucket is final, and an MPI_Iallreduce (sum, in place)
 * starts on it from the model's MODEL_AFTER_BACKWARD hook while the
 * remaining layers run.  Every later hook call lets MPI progress the pending
 * ones; dist_buckets_finish waits for all of them (bounded by the
 * communicator's timeout) before the optimizer step.
 *
 * Each rank has scaled its loss gradient by its share of the global batch
 * (shard.h), so the sum is the gradient of the global mean loss.  The hook
 * chains to the one installed before (the probes), which sees the local
 * gradients reaching each layer. */
#ifndef NANPROBE_DIST_BUCKETS_H
#define NANPROBE_DIST_BUCKETS_H

#include "comm.h"
#include "model.h"

typedef struct dist_bucket {
    int lowest_layer; /* complete once this layer's backward has run */
    float *data;
    size_t count;
    dist_request request;
} dist_bucket;

typedef struct dist_buckets {
    dist_comm *comm;
    model *m;
    model_hook inner;
    void *inner_context;
    dist_bucket *buckets; /* in the order they complete */
    int count, started;
    int failed;
    error failure;
    double wait_seconds;  /* blocked in dist_buckets_finish, summed over steps */
    double reduced_bytes; /* per step */
} dist_buckets;

int dist_buckets_attach(dist_buckets *b, dist_comm *comm, model *m, double bucket_megabytes, error *err);
void dist_buckets_detach(dist_buckets *b);
/* After model_backward: starts what has not started, waits for everything. */
int dist_buckets_finish(dist_buckets *b, error *err);
/* Per-replica BatchNorm: every rank moved its own moving statistics; their
 * mean over the ranks (tf.distribute's ON_READ/MEAN aggregation, which a
 * linear moving average allows at any step) replaces them. */
int dist_average_moving(dist_comm *comm, model *m, error *err);

#endif
