/* replay_data.c: the growth of the shadow replays' float32 error (see replay_data.h). */
#include "replay_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int float_order(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The growth of series k; 0 when it has fewer than two usable points. */
static int series_growth(const replay_shadow *s, int k, float *points, replay_growth *g)
{
    int n = 0;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < s->step_count; i++) {
        float v = s->error[(size_t)i * (size_t)s->series_count + (size_t)k];
        if (!(v > 0) || isinf(v)) continue;
        if (n == 0) g->first_step = s->steps[i];
        g->last_step = s->steps[i];
        g->last = v;
        points[n++] = v;
    }
    if (n < 2) return 0;
    int early = n / 4 > 0 ? n / 4 : 1;
    qsort(points, (size_t)early, sizeof *points, float_order);
    g->series = k;
    g->points = n;
    g->baseline = early % 2 ? points[early / 2] : 0.5 * ((double)points[early / 2 - 1] + points[early / 2]);
    g->decades = log10(g->last / g->baseline);
    return 1;
}

int replay_shadow_growth(const replay_shadow *s, replay_growth *out, int max)
{
    if (!s->error || s->step_count < 2 || max <= 0) return 0;
    float *points = malloc((size_t)s->step_count * sizeof *points);
    if (!points) return 0;
    int n = 0;
    for (int k = 0; k < s->series_count; k++) {
        replay_growth g;
        if (!series_growth(s, k, points, &g)) continue;
        int pos = n < max ? n : max; /* insertion into the top max */
        while (pos > 0 && out[pos - 1].decades < g.decades) pos--;
        if (pos >= max) continue;
        for (int i = (n < max ? n : max - 1); i > pos; i--) out[i] = out[i - 1];
        out[pos] = g;
        if (n < max) n++;
    }
    free(points);
    return n;
}
