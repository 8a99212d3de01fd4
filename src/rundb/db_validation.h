/* db_validation.h: the validation pass's rows in run.db (schema.sql, the
 * "validation" block): per-layer statistics in inference mode
 * (validation_stats), each BatchNorm's moving statistics against the batch
 * statistics of the last training steps (validation_batchnorm), and the
 * val_batch of a 'nan' event met in validation.  Kept beside db.c, whose
 * writer it borrows (the rows go inside its transactions). */
#ifndef NANPROBE_DB_VALIDATION_H
#define NANPROBE_DB_VALIDATION_H

#include "db.h"

struct tensor_stats;

typedef struct validation_bn_row {
    int epoch, layer_id, channels, train_steps;
    long step;
    double var_ratio_min, var_ratio_max, mean_shift_max, inference_scale, moving_variance_min; /* NaN = NULL */
    int scale_channel, bad_moving_variance, bad_channel; /* channels: -1 = NULL */
} validation_bn_row;

typedef struct db_validation {
    db_writer *w;
    sqlite3_stmt *insert_stats, *insert_bn, *set_val_batch;
} db_validation;

/* Prepares the statements; a database made before events.val_batch
 * existed gains the column (a resumed or replayed old run). */
int db_validation_open(db_validation *v, db_writer *w, error *err);
void db_validation_close(db_validation *v);

int db_validation_write_stats(db_validation *v, int epoch, int val_batch, long step, int layer_id,
                              const struct tensor_stats *s, error *err);
int db_validation_write_batchnorm(db_validation *v, const validation_bn_row *row, error *err);
/* The events row just written (db_write_event) is the validation batch's. */
int db_validation_mark_event(db_validation *v, int val_batch, error *err);
/* --resume from the checkpoint at `step`: the rows of validations after it
 * go, as the steps' do, and those at it too when that epoch's validation
 * runs again (redo_at_step: the checkpoint was taken before it). */
int db_validation_resume(db_writer *w, long step, int redo_at_step, error *err);

#endif
