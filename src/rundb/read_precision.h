/* read_precision.h: what a run database says about precision: the
 * emulated precision and BatchNorm variance it trained with, its loss
 * scale (skipped steps, the scale's floor), one-pass variances that went
 * negative, and the precision ladder's rungs (replay_precisions).  Every
 * part is optional: a run of an older nanprobe has none of it. */
#ifndef NANPROBE_READ_PRECISION_H
#define NANPROBE_READ_PRECISION_H

#include <sqlite3.h>
#include <stddef.h>

#define PRECISION_LADDER_MAX 16

typedef struct ladder_info {
    int step;
    char precision[24];
    int failed, skipped;
    int bad_layer; /* -1: none */
    char bad_tensor[32], bad_value[8];
    int lost_layer; /* -1: none */
    char lost_tensor[32];
} ladder_info;

typedef struct precision_info {
    char precision[24];  /* the run's, "float32" when not recorded */
    char bn_variance[16]; /* "two_pass" when not recorded */
    int scaled_steps, skipped_steps;
    int trailing_skipped; /* consecutive skipped steps that end the run */
    double last_scale;    /* 0 without loss scaling */
    int bn_negative_steps, first_bn_negative_step; /* steps with a negative one-pass variance */
    ladder_info ladder[PRECISION_LADDER_MAX];
    int ladder_count;
} precision_info;

void precision_info_load(precision_info *p, sqlite3 *db, int run_id);

/* The rungs of the ladder at `step` that held (failed = 0 or 1), as "a, b". */
void precision_ladder_list(const precision_info *p, int step, int failed, char *out, size_t size);

#endif
