/* callbacks.h: Keras' ReduceLROnPlateau and EarlyStopping on val_loss,
 * step for step as tf.keras 2.x implements them.
 *
 * ReduceLROnPlateau(factor, patience, min_lr, min_delta, cooldown 0, mode
 * min): an epoch improves when val_loss < best - min_delta; otherwise wait
 * grows, and when wait >= patience and lr > min_lr, lr = max(lr*factor,
 * min_lr) and wait restarts.  The learning rate lives in a float32 variable,
 * as in Keras, so 1e-3 * 0.1 lands exactly on float32(1e-4) and stops there.
 *
 * EarlyStopping(patience, min_delta): wait grows every epoch and restarts
 * on an improvement; training stops when wait >= patience, never after the
 * first epoch.  A NaN val_loss is never an improvement for either. */
#ifndef NANPROBE_CALLBACKS_H
#define NANPROBE_CALLBACKS_H

typedef struct reduce_lr_on_plateau {
    double factor; /* Python floats in Keras: the product is taken in double */
    int patience;
    double min_lr;
    double min_delta;
    double best; /* +inf until the first finite val_loss */
    int wait;
} reduce_lr_on_plateau;

/* The seed's settings: factor 0.1, patience 1, min_lr 1e-4, min_delta 1e-4. */
void reduce_lr_init(reduce_lr_on_plateau *r, double factor, int patience, double min_lr, double min_delta);
/* Feeds one epoch's val_loss; returns 1 and lowers *lr when it reduces. */
int reduce_lr_update(reduce_lr_on_plateau *r, double val_loss, float *lr);

typedef struct early_stopping {
    int patience; /* < 0: off */
    double min_delta;
    double best;
    int wait;
} early_stopping;

void early_stopping_init(early_stopping *e, int patience, double min_delta);
/* epoch counts from 0 as in Keras; returns 1 when training should stop. */
int early_stopping_update(early_stopping *e, double val_loss, int epoch);

#endif
