/* precursor.c: ranking per-layer departures before a NaN (see precursor.h). */
#include "precursor.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOG_FLOOR 1e-30

const char *precursor_label(series_id s)
{
    if (s == SERIES_UPDATE_RATIO) return "update/weight ratio per unit lr";
    return series_defs[s].label;
}

/* The k-th smallest of a[0..n) (Hoare's selection; reorders a). */
static double select_kth(double *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++, j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return a[k];
}

/* Median of n values (reorders a scratch copy): linear time, because it runs
 * twice for each of ~1000 series of up to 10,000 points. */
static double median_of(const double *values, int n, double *scratch)
{
    memcpy(scratch, values, sizeof *values * (size_t)n);
    double upper = select_kth(scratch, n, n / 2);
    if (n % 2) return upper;
    double lower = scratch[0]; /* the largest of the lower half, which now sits before n/2 */
    for (int i = 1; i < n / 2; i++)
        if (scratch[i] > lower) lower = scratch[i];
    return 0.5 * (lower + upper);
}

static double log_value(double v)
{
    return log10(fabs(v));
}

/* The direction in which a series heads toward a non-finite value: up for
 * magnitudes (overflow) and for the update ratio (steps outgrowing the
 * weights), down for BatchNorm's smallest variance (division by ~eps).  A
 * departure the other way is still ranked, at a quarter of its score: a
 * kernel norm that shrinks under L2 raises the effective learning rate, but
 * it is not what overflows. */
static int danger_direction(series_id s)
{
    return s == SERIES_BN_MIN_VARIANCE ? -1 : 1;
}

/* A growth that ended within a few decades of FLT_MAX is the overflow
 * itself in the making, whatever its size relative to other departures:
 * up to 4x the score, from 1x at 6 decades of headroom to 4x at none. */
static double overflow_proximity(double peak)
{
    double headroom = log10((double)FLT_MAX) - log10(fabs(peak));
    double bonus = (6.0 - headroom) / 2.0;
    if (bonus < 0.0) bonus = 0.0;
    if (bonus > 3.0) bonus = 3.0;
    return 1.0 + bonus;
}

/* Analyses one series; returns 0 when it has too few points. */
static int analyse(const int *steps, const double *logs, const double *values, int n, int end_step,
                   double *scratch, precursor *out)
{
    if (n < 8) return 0;
    int nb = n / 4 > 4 ? n / 4 : 4;
    if (nb > n - 4) nb = n - 4;
    double base = median_of(logs, nb, scratch);
    for (int i = 0; i < nb; i++) scratch[nb + i] = fabs(logs[i] - base);
    double mad = median_of(scratch + nb, nb, scratch + 2 * nb);
    double band = 3.0 * 1.4826 * mad;
    if (band < log10(3.0)) band = log10(3.0);

    int peak = nb;
    for (int i = nb; i < n; i++)
        if (fabs(logs[i] - base) > fabs(logs[peak] - base)) peak = i;
    double departure = logs[peak] - base;
    double sign = departure >= 0 ? 1.0 : -1.0;

    int onset = -1;
    if (fabs(departure) > band) {
        onset = peak;
        int misses = 0, tolerance = 2 + n / 100;
        for (int i = peak - 1; i >= nb; i--) {
            if (sign * (logs[i] - base) > band) {
                onset = i;
                misses = 0;
            } else if (++misses > tolerance) {
                break;
            }
        }
    }
    memset(out, 0, sizeof *out);
    out->points = n;
    out->baseline = pow(10.0, base);
    out->band = band;
    out->departure = departure;
    out->peak_value = values[peak];
    out->peak_step = steps[peak];
    out->onset_step = onset >= 0 ? steps[onset] : 0;
    out->last_value = values[n - 1];
    out->last_step = steps[n - 1];
    out->excess = fabs(departure) - band;
    if (out->excess > 0 && onset >= 0) {
        double window = (double)(end_step - steps[nb]);
        double lead = (double)(end_step - steps[onset]);
        double weight = window > 0 ? 1.0 + lead / window : 1.0;
        if (weight > 2.0) weight = 2.0;
        out->score = out->excess * weight;
    }
    return 1;
}

static int compare_precursor(const void *a, const void *b)
{
    const precursor *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (fabs(x->departure) != fabs(y->departure)) return fabs(x->departure) > fabs(y->departure) ? -1 : 1;
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    return (int)x->series - (int)y->series;
}

int precursor_rank(const rundata *d, int end_step, precursor_ranking *out, error *err)
{
    memset(out, 0, sizeof *out);
    out->end_step = end_step;
    int capacity = 0;
    for (int s = 0; s < SERIES_COUNT; s++)
        if ((PRECURSOR_SERIES & SERIES_BIT(s)) && d->series[s]) capacity += d->layer_count;
    if (capacity == 0 || d->probe_count == 0) return 0;
    int n_max = d->probe_count;
    out->items = malloc(sizeof *out->items * (size_t)capacity);
    int *steps = malloc(sizeof *steps * (size_t)n_max);
    double *logs = malloc(sizeof *logs * (size_t)n_max);
    double *values = malloc(sizeof *values * (size_t)n_max);
    double *scratch = malloc(sizeof *scratch * (size_t)n_max * 3);
    /* The learning rate of every probe, for the update ratio. */
    double *lr = malloc(sizeof *lr * (size_t)n_max);
    if (!out->items || !steps || !logs || !values || !scratch || !lr) {
        free(steps), free(logs), free(values), free(scratch), free(lr);
        precursor_free(out);
        return error_set(err, "out of memory ranking %d series of %d steps", capacity, n_max);
    }
    for (int p = 0; p < d->probe_count; p++) {
        const step_info *si = rundata_step(d, d->probe_steps[p]);
        lr[p] = si && si->lr > 0 ? si->lr : NAN;
    }
    for (int s = 0; s < SERIES_COUNT; s++) {
        if (!(PRECURSOR_SERIES & SERIES_BIT(s)) || !d->series[s]) continue;
        for (int l = 0; l < d->layer_count; l++) {
            int n = 0;
            for (int p = 0; p < d->probe_count && d->probe_steps[p] < end_step; p++) {
                double v = rundata_value(d, (series_id)s, p, l);
                /* Exact zeros (a gradient behind dead ReLUs) carry no scale:
                 * on a log axis they would be a fall of ~30 decades and drown
                 * every real growth.  The dead-ReLU rule reports them. */
                if (!isfinite(v) || fabs(v) < LOG_FLOOR) continue;
                if (s == SERIES_UPDATE_RATIO) {
                    if (!isfinite(lr[p])) continue;
                    v /= lr[p];
                }
                steps[n] = d->probe_steps[p];
                values[n] = v;
                logs[n] = log_value(v);
                n++;
            }
            precursor item;
            if (!analyse(steps, logs, values, n, end_step, scratch, &item)) continue;
            if ((item.departure > 0 ? 1 : -1) != danger_direction((series_id)s)) item.score *= 0.25;
            else if (item.departure > 0) item.score *= overflow_proximity(item.peak_value);
            item.series = (series_id)s;
            item.layer = l;
            out->items[out->count++] = item;
        }
    }
    free(steps), free(logs), free(values), free(scratch), free(lr);
    qsort(out->items, (size_t)out->count, sizeof *out->items, compare_precursor);
    while (out->candidates < out->count && out->items[out->candidates].score > 0) out->candidates++;
    return 0;
}

void precursor_free(precursor_ranking *r)
{
    free(r->items);
    memset(r, 0, sizeof *r);
}

const precursor *precursor_largest_elsewhere(const precursor_ranking *r, int layer)
{
    const precursor *best = NULL;
    for (int i = 0; i < r->count; i++)
        if (r->items[i].layer != layer && (!best || fabs(r->items[i].departure) > fabs(best->departure)))
            best = &r->items[i];
    return best;
}
