/* db_ladder.h: the precision ladder's rows (table replay_precisions, schema.sql). */
#ifndef NANPROBE_DB_LADDER_H
#define NANPROBE_DB_LADDER_H

#include "db.h"
#include "precision.h"

typedef struct ladder_row {
    long step;
    precision_kind precision;
    int failed, skipped;
    double loss_scale; /* 0: none */
    double loss;
    int first_bad_layer; /* -1: none */
    const char *first_bad_tensor;
    value_class first_bad_value;
    int first_lost_layer; /* -1: none */
    const char *first_lost_tensor;
    const char *message;
} ladder_row;

int db_write_ladder(db_writer *w, const ladder_row *row, error *err);

#endif
