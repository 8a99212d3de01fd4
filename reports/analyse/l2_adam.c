/* l2_adam.c: the L2 x Adam evidence of one run (see l2_adam.h). */
#include "l2_adam.h"

#include <math.h>

#include "mechanism.h"

#define SHRUNK 0.5    /* data taps at <= 1/2 of their first probed norm */
#define DOMINATED 0.5 /* on >= half of their coordinates, |2 lambda w| > |g| */
#define RECENT 0.1    /* the last 10 % of the probes before the end (at least one) */

/* The mean of series s for layer l over probes [begin, end). */
static double mean_value(const rundata *d, series_id s, int l, int begin, int end)
{
    double sum = 0;
    int n = 0;
    for (int p = begin; p < end; p++) {
        double v = rundata_value(d, s, p, l);
        if (isfinite(v)) sum += v, n++;
    }
    return n ? sum / n : NAN;
}

void l2_adam_evidence(const rundata *d, int end_step, strbuf *out)
{
    if (!d->series[SERIES_DATA_NORM] || !d->series[SERIES_L2_DOMINANT_FRACTION] || !(d->run.l2 > 0)) return;
    int end = 0;
    while (end < d->probe_count && d->probe_steps[end] < end_step) end++;
    int begin = end - (int)(RECENT * end) - 1;
    if (begin < 1) return;
    int worst = -1, step = 0;
    double worst_ratio = SHRUNK, dominated = NAN;
    for (int l = 0; l < d->layer_count; l++) {
        double first = rundata_first_value(d, SERIES_DATA_NORM, l, end, &step);
        double ratio = mean_value(d, SERIES_DATA_NORM, l, begin, end) / first;
        double share = mean_value(d, SERIES_L2_DOMINANT_FRACTION, l, begin, end);
        if (!(first > 0) || !(ratio <= worst_ratio) || !(share >= DOMINATED)) continue;
        worst = l, worst_ratio = ratio, dominated = share;
    }
    if (worst < 0) return;
    const mechanism_def *m = &mechanism_defs[MECHANISM_L2_ADAM];
    double u0 = rundata_first_value(d, SERIES_DATA_UPDATE_RATIO, worst, end, &step);
    double u1 = mean_value(d, SERIES_DATA_UPDATE_RATIO, worst, begin, end);
    strbuf_printf(out,
                  "L2 x Adam: the data taps of %s shrank to x%.3g of their first probed norm by step %d, with "
                  "|2 lambda w| > |g| on %.0f %% of their coordinates; their relative step went from %.3g to %.3g. "
                  "%s: %s. Fix: %s.\n",
                  d->layers[worst].name, worst_ratio, d->probe_steps[end - 1], 100.0 * dominated, u0, u1, m->title,
                  m->sentence, m->fix);
}
