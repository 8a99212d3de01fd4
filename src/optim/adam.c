/* adam.c: the Adam update (see adam.h). */
#include "adam.h"

#include <math.h>

real adam_step_size(const adam_config *c, real learning_rate, long t)
{
    double b1 = pow((double)c->beta1, (double)t), b2 = pow((double)c->beta2, (double)t);
    return (real)((double)learning_rate * sqrt(1.0 - b2) / (1.0 - b1));
}

void adam_update(const adam_config *c, size_t count, real alpha, real lambda,
                 real *w, const real *gradient, real *m, real *v,
                 real *l2_gradient, real *applied)
{
    const real twice_lambda = 2.0f * lambda;
    for (size_t i = 0; i < count; i++) {
        real step, old = w[i];
        w[i] = adam_update_element(c, alpha, twice_lambda, old, gradient[i], &m[i], &v[i], &step);
        if (l2_gradient) l2_gradient[i] = twice_lambda * old;
        if (applied) applied[i] = w[i] - old;
    }
}
