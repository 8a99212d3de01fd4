/* snapshot.c: in-memory copies of the training state (see snapshot.h). */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "parallel.h"

size_t snapshot_bytes(const model *m)
{
    return (3 * m->weights.capacity + m->moving.capacity) * sizeof(float);
}

int snapshot_init(snapshot *s, const model *m, error *err)
{
    memset(s, 0, sizeof *s);
    s->step = -1;
    s->weights_count = m->weights.capacity;
    s->moving_count = m->moving.capacity;
    s->weights = malloc(s->weights_count * sizeof(float));
    s->adam_m = malloc(s->weights_count * sizeof(float));
    s->adam_v = malloc(s->weights_count * sizeof(float));
    s->moving = malloc(s->moving_count * sizeof(float));
    if (!s->weights || !s->adam_m || !s->adam_v || !s->moving) {
        snapshot_free(s);
        return error_set(err, "cannot allocate %.2f GiB for the replay snapshot (--snapshot-every 0 turns it off)",
                         (double)snapshot_bytes(m) / (1 << 30));
    }
    return 0;
}

void snapshot_free(snapshot *s)
{
    free(s->weights);
    free(s->adam_m);
    free(s->adam_v);
    free(s->moving);
    memset(s, 0, sizeof *s);
    s->step = -1;
}

/* A copy split over the threads: one core's memcpy does not saturate the
 * memory bus, and this is the snapshot's whole cost. */
static void copy(float *to, const float *from, size_t n)
{
    #pragma omp parallel
    {
        size_t lo, hi;
        parallel_range(n, 4096, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        if (hi > lo) memcpy(to + lo, from + lo, (hi - lo) * sizeof(float));
    }
}

void snapshot_take(snapshot *s, const model *m, const checkpoint_state *state)
{
    copy(s->weights, m->weights.base, s->weights_count);
    copy(s->adam_m, m->adam_m.base, s->weights_count);
    copy(s->adam_v, m->adam_v.base, s->weights_count);
    copy(s->moving, m->moving.base, s->moving_count);
    s->state = *state;
    s->step = state->step;
}

void snapshot_restore(const snapshot *s, model *m, checkpoint_state *state)
{
    copy(m->weights.base, s->weights, s->weights_count);
    copy(m->adam_m.base, s->adam_m, s->weights_count);
    copy(m->adam_v.base, s->adam_v, s->weights_count);
    copy(m->moving.base, s->moving, s->moving_count);
    *state = s->state;
}
