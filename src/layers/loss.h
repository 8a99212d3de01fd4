/* loss.h: the objective, computed from the logits as tf.keras does.
 *
 * Dense(softmax) + categorical_crossentropy in tf.keras is evaluated from the
 * logits:  CE = logsumexp(z) - z[label],  dCE/dz = softmax(z) - onehot,
 * averaged over the batch.  With one output, Dense(sigmoid) +
 * binary_crossentropy is likewise  max(z,0) - z*y + log(1 + exp(-|z|)),
 * d/dz = sigmoid(z) - y.  Neither form overflows for finite logits. */
#ifndef NANPROBE_LOSS_H
#define NANPROBE_LOSS_H

#include "real.h"

typedef struct loss_result {
    double loss;  /* mean over the batch */
    int correct;  /* samples whose prediction matches the label */
} loss_result;

/* classes > 1: softmax cross-entropy; classes == 1: sigmoid binary
 * cross-entropy with labels 0/1.  dlogits (may be NULL) receives the
 * gradient of the batch mean. */
loss_result loss_from_logits(int batch, int classes, const real *logits, const int *labels,
                             real *dlogits);

#endif
