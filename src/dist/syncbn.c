/* syncbn.c: synchronized BatchNorm statistics over MPI (see syncbn.h). */
#include "syncbn.h"

#include <stdlib.h>
#include <string.h>

#include "merge.h"

static void merge_moments(void *context, int channels, double *count, double *mean, double *m2)
{
    dist_syncbn *s = context;
    if (s->failed) return; /* the step is lost already; keep the local statistics */
    double start = dist_seconds();
    double mine[3 * channels];
    memcpy(mine, count, sizeof(double) * (size_t)channels);
    memcpy(mine + channels, mean, sizeof(double) * (size_t)channels);
    memcpy(mine + 2 * channels, m2, sizeof(double) * (size_t)channels);
    if (dist_allgather_doubles_timed(s->comm, mine, 3 * channels, s->gathered, "--sync-bn statistics",
                                     &s->failure)) {
        s->failed = 1;
        return;
    }
    dist_moments_merge(s->comm->size, channels, s->gathered, count, mean, m2);
    s->seconds += dist_seconds() - start;
}

static void sum(void *context, double *values, int n)
{
    dist_syncbn *s = context;
    if (s->failed) return;
    double start = dist_seconds();
    if (dist_sum_doubles_timed(s->comm, values, n, "--sync-bn gradient sums", &s->failure)) s->failed = 1;
    s->seconds += dist_seconds() - start;
}

int dist_syncbn_attach(dist_syncbn *s, dist_comm *comm, model *m, error *err)
{
    memset(s, 0, sizeof *s);
    s->comm = comm;
    s->sync = (batchnorm_sync){.merge_moments = merge_moments, .sum = sum, .context = s};
    int widest = 1;
    for (int i = 0; i < m->layer_count; i++) {
        const layer *l = &m->layers[i];
        if (l->kind == LAYER_BATCHNORM && l->output.shape[l->output.rank - 1] > widest)
            widest = l->output.shape[l->output.rank - 1];
    }
    s->gathered = malloc(sizeof(double) * 3 * (size_t)widest * (size_t)comm->size);
    if (!s->gathered) return error_set(err, "out of memory for --sync-bn");
    for (int i = 0; i < m->layer_count; i++)
        if (m->layers[i].kind == LAYER_BATCHNORM) m->layers[i].batch_stats.sync = &s->sync;
    return 0;
}

void dist_syncbn_detach(dist_syncbn *s, model *m)
{
    for (int i = 0; i < m->layer_count; i++)
        if (m->layers[i].batch_stats.sync == &s->sync) m->layers[i].batch_stats.sync = NULL;
    free(s->gathered);
    s->gathered = NULL;
}

int dist_syncbn_check(dist_syncbn *s, error *err)
{
    if (!s->failed) return 0;
    s->failed = 0;
    if (err) *err = s->failure;
    return -1;
}
