/* merge.h: how the replicas' measurements combine into one, exactly and in
 * rank order (no MPI here; replicas.c and syncbn.c move the bytes).
 *
 * - BatchNorm moments: per channel (count, mean, M2) merge with Chan et
 *   al.'s pairwise formula, M2 = M2a + M2b + delta^2 na nb / n; no sum of
 *   squares around 0 is ever formed, so mean^2/var of 1e10 does not cancel.
 * - Tensor statistics (src/core/stats.h): count, shifted sums, min, max and
 *   non-finite counts are associative; a replica's first non-finite index is
 *   moved past the elements of the ranks before it (the batch axis is split
 *   in rank order, see shard.h).
 * - Which statistics are sharded (each rank saw a part: activations,
 *   activation gradients, per-replica BatchNorm statistics) and which are
 *   replicated (parameters after the gradient allreduce, synchronized
 *   BatchNorm statistics: every rank holds the same tensor, rank 0's is
 *   taken). */
#ifndef NANPROBE_DIST_MERGE_H
#define NANPROBE_DIST_MERGE_H

#include "stats.h"

/* gathered holds `parts` blocks of 3*channels doubles (count[C], mean[C],
 * M2[C]), in rank order; the union goes into count, mean, m2. */
void dist_moments_merge(int parts, int channels, const double *gathered, double *count, double *mean, double *m2);

/* a := a followed by b (b's elements after a's). */
void dist_stats_append(tensor_stats *a, const tensor_stats *b);

typedef enum dist_rule {
    DIST_REPLICATED, /* identical on every rank: rank 0's */
    DIST_SHARDED,    /* each rank saw a part: appended in rank order */
    DIST_MIN,        /* metrics: the smallest */
    DIST_MAX,        /* metrics: the largest */
    DIST_SUM,        /* metrics: added */
    DIST_SAMPLE_MEAN, /* metrics: a per-sample mean, weighted by each rank's samples */
} dist_rule;

/* The rule for a `stats` row of this tensor, and for a `layer_metrics` row. */
dist_rule dist_stats_rule(const char *tensor, int sync_bn);
dist_rule dist_metric_rule(const char *metric, int sync_bn);
/* Combines a metric value of a later rank into the running one. */
double dist_metric_combine(dist_rule rule, double running, double value, double running_samples, double samples);

#endif
