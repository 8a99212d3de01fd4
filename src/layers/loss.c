/* loss.c: cross-entropy from logits (see loss.h). */
#include "loss.h"

#include <math.h>

static loss_result softmax_cross_entropy(int batch, int classes, const real *logits,
                                         const int *labels, real *dlogits)
{
    loss_result r = {0.0, 0};
    for (int n = 0; n < batch; n++) {
        const real *z = logits + (long)n * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (z[k] > z[best]) best = k;
        double top = z[best], sum = 0.0;
        for (int k = 0; k < classes; k++) sum += exp((double)z[k] - top);
        double log_sum = top + log(sum);
        r.loss += log_sum - (double)z[labels[n]];
        r.correct += best == labels[n];
        if (dlogits)
            for (int k = 0; k < classes; k++) {
                double p = exp((double)z[k] - log_sum);
                dlogits[(long)n * classes + k] = (real)((p - (k == labels[n])) / batch);
            }
    }
    r.loss /= batch;
    return r;
}

static loss_result sigmoid_binary_cross_entropy(int batch, const real *logits, const int *labels,
                                                real *dlogits)
{
    loss_result r = {0.0, 0};
    for (int n = 0; n < batch; n++) {
        double z = logits[n], y = labels[n];
        r.loss += (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
        r.correct += (z > 0) == (labels[n] == 1);
        if (dlogits) dlogits[n] = (real)((1.0 / (1.0 + exp(-z)) - y) / batch);
    }
    r.loss /= batch;
    return r;
}

loss_result loss_from_logits(int batch, int classes, const real *logits, const int *labels,
                             real *dlogits)
{
    if (classes == 1) return sigmoid_binary_cross_entropy(batch, logits, labels, dlogits);
    return softmax_cross_entropy(batch, classes, logits, labels, dlogits);
}
