/* data_parallel.h: the training loop's side of a data-parallel run under
 * mpirun (src/dist does the communication).
 *
 * Every rank holds the whole model and reads its shard of each global
 * batch (shard.h: contiguous, in rank order; the remainder to the lowest
 * ranks).  Its loss gradient is weighted by its share, the parameter
 * gradients are summed in buckets during backward (buckets.h), so every
 * rank takes the same Adam step on the same weights.  BatchNorm uses each
 * replica's batch statistics (tf.distribute's MirroredStrategy) and the
 * moving statistics are averaged after each step, or, with --sync-bn, the
 * statistics of the global batch (syncbn.h).  After each step the ranks
 * agree on the loss, the sentinel and the statistics (replicas.h); rank 0
 * alone writes the database and the checkpoints.  Validation clips are
 * split over the ranks the same way.
 *
 * With one process (no mpirun) nothing here is attached and the loop runs
 * exactly as before. */
#ifndef NANPROBE_DATA_PARALLEL_H
#define NANPROBE_DATA_PARALLEL_H

#include "buckets.h"
#include "comm.h"
#include "inject.h"
#include "replicas.h"
#include "shard.h"
#include "syncbn.h"
#include "train.h"

typedef struct data_parallel {
    dist_comm *comm;   /* NULL or size 1: a single process */
    int sync_bn;
    dist_buckets buckets;
    dist_syncbn syncbn;
    dist_replicas replicas;
    int buckets_attached, syncbn_attached, replicas_open;
    dist_shard shard;  /* of the current step's batch */
    /* --inject as given (positions in the global batch), and as this rank
     * applies them to its shard (a sample it does not hold: step -1). */
    injection given[TRAIN_MAX_INJECTIONS];
} data_parallel;

int data_parallel_active(const data_parallel *dp);
/* Rank 0 (or the only process): writes the database, checkpoints, reports. */
int data_parallel_writer(const data_parallel *dp);
/* The model's batch capacity for a global batch, and whether every batch
 * of the run gives each rank at least one clip. */
int data_parallel_check(const data_parallel *dp, int batch, long steps_per_epoch, long train_size, error *err);
int data_parallel_capacity(const data_parallel *dp, int batch);

int data_parallel_open(data_parallel *dp, const train_dist_options *o, int batch, model *m, probe_session *ps,
                       const injection *parsed, int injection_count, error *err);
void data_parallel_close(data_parallel *dp, model *m);

/* This rank's part of a global batch of n; the injections follow. */
dist_shard data_parallel_begin_step(data_parallel *dp, int n, injection *active, int injection_count);
/* Weights the local loss gradient by the shard's share of the batch. */
void data_parallel_weight_gradient(const data_parallel *dp, float *logits_gradient, int classes, int batch);
/* After model_backward: the summed gradients (and averaged moving
 * statistics), or the failure of a collective. */
int data_parallel_after_backward(data_parallel *dp, model *m, error *err);

/* Every rank must hold the same weights and moving statistics (the same
 * sums, the same Adam step); compared by a hash at every checkpoint, so a
 * drift between replicas is a failure named with the rank, not a silent
 * checkpoint of rank 0's copy. */
int data_parallel_check_replicas(const data_parallel *dp, const model *m, long step, error *err);

#endif
