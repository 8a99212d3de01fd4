/* merge.c: exact, rank-ordered merging of the replicas' measurements (see
 * merge.h). */
#include "merge.h"

#include <math.h>
#include <string.h>

void dist_moments_merge(int parts, int channels, const double *gathered, double *count, double *mean, double *m2)
{
    for (int c = 0; c < channels; c++) {
        double n = 0.0, mu = 0.0, q = 0.0;
        for (int p = 0; p < parts; p++) {
            const double *block = gathered + (size_t)p * 3 * channels;
            double nb = block[c], mb = block[channels + c], qb = block[2 * channels + c];
            if (nb <= 0.0) continue;
            double total = n + nb, delta = mb - mu;
            mu += delta * (nb / total);
            q += qb + delta * delta * (n * nb / total);
            n = total;
        }
        count[c] = n;
        mean[c] = mu;
        m2[c] = q;
    }
}

void dist_stats_append(tensor_stats *a, const tensor_stats *b)
{
    tensor_stats moved = *b;
    if (moved.first_nonfinite >= 0) moved.first_nonfinite += a->count;
    stats_merge(a, &moved);
}

dist_rule dist_stats_rule(const char *tensor, int sync_bn)
{
    if (strcmp(tensor, "output") == 0 || strcmp(tensor, "output_grad") == 0) return DIST_SHARDED;
    /* Per-replica BatchNorm: each rank normalized with its own batch
     * statistics and moved its own copy of the moving ones (averaged over
     * the ranks after the step); the row describes all replicas' channels. */
    if (strncmp(tensor, "batch_", 6) == 0 || strncmp(tensor, "moving_", 7) == 0)
        return sync_bn ? DIST_REPLICATED : DIST_SHARDED;
    return DIST_REPLICATED;
}

dist_rule dist_metric_rule(const char *metric, int sync_bn)
{
    if (strcmp(metric, "bn.min_variance") == 0) return sync_bn ? DIST_REPLICATED : DIST_MIN;
    if (strncmp(metric, "bn.max_", 7) == 0) return sync_bn ? DIST_REPLICATED : DIST_MAX;
    /* The cells each normalization used: all ranks' when synchronized; the
     * smallest replica's otherwise (what bn_small_count warns about). */
    if (strcmp(metric, "bn.count") == 0) return sync_bn ? DIST_SUM : DIST_MIN;
    if (strcmp(metric, "loss.max_probability") == 0) return DIST_MAX;
    if (strcmp(metric, "loss.mean_max_probability") == 0) return DIST_SAMPLE_MEAN;
    return DIST_REPLICATED;
}

double dist_metric_combine(dist_rule rule, double running, double value, double running_samples, double samples)
{
    switch (rule) {
    case DIST_MIN: return fmin(running, value);
    case DIST_MAX: return fmax(running, value);
    case DIST_SUM: return running + value;
    case DIST_SAMPLE_MEAN:
        return running_samples + samples > 0
                   ? (running * running_samples + value * samples) / (running_samples + samples)
                   : running;
    default: return running;
    }
}
