/* shard.h: how a global batch of N clips is split over R ranks.
 *
 * Rank r takes the contiguous positions [start, start + count) of the
 * global batch, in rank order, so that rank 0's clips come first, then rank
 * 1's, ...: concatenating the replicas' tensors along the batch axis gives
 * the single-process batch.  The remainder N mod R goes one clip each to the
 * lowest ranks (N = 10 over 3 ranks: 4, 3, 3).  The loss is the mean over the
 * global batch, so rank r's gradient is weighted by its share count/N. */
#ifndef NANPROBE_DIST_SHARD_H
#define NANPROBE_DIST_SHARD_H

typedef struct dist_shard {
    int start, count;
} dist_shard;

dist_shard dist_shard_of(int batch, int rank, int size);
/* The largest shard of any batch up to `batch` (the model's buffer size). */
int dist_shard_capacity(int batch, int size);

#endif
