/* buckets.c: gradient buckets allreduced during backward (see buckets.h). */
#include "buckets.h"

#include <stdlib.h>
#include <string.h>

static void start_ready(dist_buckets *b, int finished_layer)
{
    while (b->started < b->count && !b->failed && b->buckets[b->started].lowest_layer >= finished_layer) {
        dist_bucket *k = &b->buckets[b->started];
        if (dist_sum_floats_start(b->comm, k->data, k->count, &k->request, &b->failure)) b->failed = 1;
        b->started++;
    }
}

static void bucket_hook(void *context, int layer_index, model_event event)
{
    dist_buckets *b = context;
    if (b->inner) b->inner(b->inner_context, layer_index, event);
    if (event != MODEL_AFTER_BACKWARD) return;
    start_ready(b, layer_index);
    for (int i = 0; i < b->started; i++) dist_progress(&b->buckets[i].request, 1);
}

/* Buckets of whole layers, cut from the last trainable parameter backward
 * once a bucket holds at least `limit` floats.  A layer's parameters never
 * straddle two buckets: its backward writes them all at once. */
static int plan_buckets(dist_buckets *b, size_t limit, error *err)
{
    model *m = b->m;
    b->buckets = calloc((size_t)m->param_count + 1, sizeof(dist_bucket));
    if (!b->buckets) return error_set(err, "out of memory for the gradient buckets");
    int i = m->param_count - 1;
    while (i >= 0) {
        if (!m->params[i].trainable) {
            i--;
            continue;
        }
        dist_bucket *k = &b->buckets[b->count++];
        float *end = m->params[i].gradient + m->params[i].value.count;
        size_t floats = 0;
        int last_layer = m->params[i].layer;
        for (; i >= 0; i--) {
            const parameter *p = &m->params[i];
            if (!p->trainable) continue;
            if (floats >= limit && p->layer != last_layer) break;
            floats += p->value.count;
            k->data = p->gradient;
            k->lowest_layer = last_layer = p->layer;
        }
        /* One range: the arena's alignment padding between parameters rides along. */
        k->count = (size_t)(end - k->data);
        b->reduced_bytes += 4.0 * (double)k->count;
    }
    return 0;
}

int dist_buckets_attach(dist_buckets *b, dist_comm *comm, model *m, double bucket_megabytes, error *err)
{
    memset(b, 0, sizeof *b);
    b->comm = comm;
    b->m = m;
    size_t limit = (size_t)(bucket_megabytes * 1e6 / 4.0);
    if (limit < 1) limit = 1;
    if (plan_buckets(b, limit, err)) return -1;
    b->inner = m->hook;
    b->inner_context = m->hook_context;
    m->hook = bucket_hook;
    m->hook_context = b;
    return 0;
}

void dist_buckets_detach(dist_buckets *b)
{
    if (b->m && b->m->hook_context == b) {
        b->m->hook = b->inner;
        b->m->hook_context = b->inner_context;
    }
    free(b->buckets);
    b->buckets = NULL;
    b->count = 0;
}

int dist_buckets_finish(dist_buckets *b, error *err)
{
    start_ready(b, 0);
    double start = dist_seconds();
    for (int i = 0; i < b->count && !b->failed; i++)
        if (dist_wait_all(b->comm, &b->buckets[i].request, 1, "gradient allreduce", &b->failure)) b->failed = 1;
    b->wait_seconds += dist_seconds() - start;
    b->started = 0;
    if (b->failed) {
        b->failed = 0;
        if (err) *err = b->failure;
        return -1;
    }
    return 0;
}

int dist_average_moving(dist_comm *comm, model *m, error *err)
{
    if (comm->size < 2) return 0;
    if (dist_sum_floats_timed(comm, m->moving.base, m->moving.used, "moving-statistics allreduce", err)) return -1;
    const float scale = 1.0f / (float)comm->size;
    for (size_t i = 0; i < m->moving.used; i++) m->moving.base[i] *= scale;
    return 0;
}
