/* callbacks.c: ReduceLROnPlateau and EarlyStopping (see callbacks.h). */
#include "callbacks.h"

#include <math.h>

void reduce_lr_init(reduce_lr_on_plateau *r, double factor, int patience, double min_lr, double min_delta)
{
    r->factor = factor;
    r->patience = patience;
    r->min_lr = min_lr;
    r->min_delta = min_delta;
    r->best = INFINITY;
    r->wait = 0;
}

/* np.less(current, best - min_delta): false for NaN. */
static int improves(double current, double best, double min_delta)
{
    return current < best - min_delta;
}

int reduce_lr_update(reduce_lr_on_plateau *r, double val_loss, float *lr)
{
    if (improves(val_loss, r->best, r->min_delta)) {
        r->best = val_loss;
        r->wait = 0;
        return 0;
    }
    r->wait++;
    if (r->wait < r->patience) return 0;
    if (!(*lr > (float)r->min_lr)) return 0; /* Keras: old_lr > np.float32(min_lr) */
    double reduced = (double)*lr * r->factor;
    *lr = (float)(reduced > r->min_lr ? reduced : r->min_lr);
    r->wait = 0;
    return 1;
}

void early_stopping_init(early_stopping *e, int patience, double min_delta)
{
    e->patience = patience;
    e->min_delta = min_delta;
    e->best = INFINITY;
    e->wait = 0;
}

int early_stopping_update(early_stopping *e, double val_loss, int epoch)
{
    if (e->patience < 0) return 0;
    e->wait++;
    if (improves(val_loss, e->best, e->min_delta)) {
        e->best = val_loss;
        e->wait = 0;
    }
    return e->wait >= e->patience && epoch > 0;
}
