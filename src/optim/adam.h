/* adam.h: tf.keras Adam with the L2 gradient folded in.
 *
 *   g = dLoss/dw + 2*lambda*w           (L2 on kernels only; lambda = 0 otherwise)
 *   m = m + (g - m)*(1 - beta1);  v = v + (g*g - v)*(1 - beta2)
 *   w = w - alpha * m / (sqrt(v) + epsilon),
 *   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)      (t counts from 1)
 * This is TensorFlow's ResourceApplyAdam: epsilon is "epsilon hat", added to
 * the uncorrected sqrt(v), unlike PyTorch's Adam. */
#ifndef NANPROBE_ADAM_H
#define NANPROBE_ADAM_H

#include <math.h>
#include <stddef.h>

#include "real.h"

/* float32 in both builds: the constants are the model's (Keras' float32
 * values), and the struct crosses from float code to the double engine. */
typedef struct adam_config {
    float beta1, beta2, epsilon;
} adam_config;

#define ADAM_KERAS_DEFAULTS ((adam_config){0.9f, 0.999f, 1e-7f})

/* One element's update; both update loops (adam_update below, and the
 * fused one in optimizer.c) go through here so they cannot drift apart.
 * Returns the new weight; *step receives alpha*m/(sqrt(v)+eps), the amount
 * subtracted (TensorFlow's order of operations: (m*alpha)/(sqrt(v)+eps)). */
static inline real adam_update_element(const adam_config *c, real alpha, real twice_lambda, real w,
                                        real gradient, real *m, real *v, real *step)
{
    real g = gradient + twice_lambda * w;
    *m += (g - *m) * ((real)1 - c->beta1);
    *v += (g * g - *v) * ((real)1 - c->beta2);
    *step = alpha * *m / (real_sqrt(*v) + c->epsilon);
    return w - *step;
}

/* The bias-corrected step size alpha for step t (t >= 1). */
real adam_step_size(const adam_config *c, real learning_rate, long t);

/* Updates count weights in place.  l2_gradient (may be NULL) receives
 * 2*lambda*w, and applied (may be NULL) the change made to w (new - old), so
 * that probes can summarize them without a second pass over memory. */
void adam_update(const adam_config *c, size_t count, real alpha, real lambda,
                 real *w, const real *gradient, real *m, real *v,
                 real *l2_gradient, real *applied);

#endif
