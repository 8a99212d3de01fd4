/* db_validation.c: the validation rows of run.db (see db_validation.h). */
#include "db_validation.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db_bind.h"
#include "stats.h"

static int failure(db_writer *w, const char *what, error *err)
{
    return error_set(err, "run database: %s failed: %s", what, sqlite3_errmsg(w->db));
}

int db_validation_open(db_validation *v, db_writer *w, error *err)
{
    memset(v, 0, sizeof *v);
    v->w = w;
    if (db_add_column(w->db, "events", "val_batch", "INTEGER")) return failure(w, "adding events.val_batch", err);
    const char *stats_sql = "INSERT OR REPLACE INTO validation_stats (run_id, epoch, val_batch, step, layer_id, tensor, "
                            "count, mean, std, min, max, absmax, nan_count, posinf_count, neginf_count) "
                            "VALUES (?,?,?,?,?,'output',?,?,?,?,?,?,?,?,?)";
    const char *bn_sql = "INSERT OR REPLACE INTO validation_batchnorm (run_id, epoch, step, layer_id, channels, "
                         "train_steps, var_ratio_min, var_ratio_max, mean_shift_max, inference_scale, scale_channel, "
                         "moving_variance_min, bad_moving_variance, bad_channel) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    const char *event_sql = "UPDATE events SET val_batch = ? WHERE event_id = last_insert_rowid()";
    const char *const sql[] = {stats_sql, bn_sql, event_sql};
    sqlite3_stmt **const st[] = {&v->insert_stats, &v->insert_bn, &v->set_val_batch};
    if (db_prepare_all(w->db, sql, st, 3)) {
        failure(w, "preparing the validation rows", err);
        db_validation_close(v);
        return -1;
    }
    return 0;
}

void db_validation_close(db_validation *v)
{
    sqlite3_stmt **const st[] = {&v->insert_stats, &v->insert_bn, &v->set_val_batch};
    db_finalize_all(st, 3);
    memset(v, 0, sizeof *v);
}

static int run(db_validation *v, sqlite3_stmt *st, const char *what, error *err)
{
    return db_step_done(st) ? 0 : failure(v->w, what, err);
}

int db_validation_write_stats(db_validation *v, int epoch, int val_batch, long step, int layer_id,
                              const tensor_stats *s, error *err)
{
    sqlite3_stmt *st = v->insert_stats;
    sqlite3_bind_int64(st, 1, v->w->run_id);
    sqlite3_bind_int(st, 2, epoch);
    sqlite3_bind_int(st, 3, val_batch);
    sqlite3_bind_int64(st, 4, step);
    sqlite3_bind_int(st, 5, layer_id);
    sqlite3_bind_int64(st, 6, s->count);
    db_bind_summary(st, 7, s);
    sqlite3_bind_int64(st, 12, s->nan_count);
    sqlite3_bind_int64(st, 13, s->posinf_count);
    sqlite3_bind_int64(st, 14, s->neginf_count);
    return run(v, st, "writing validation statistics", err);
}

int db_validation_write_batchnorm(db_validation *v, const validation_bn_row *r, error *err)
{
    sqlite3_stmt *st = v->insert_bn;
    sqlite3_bind_int64(st, 1, v->w->run_id);
    sqlite3_bind_int(st, 2, r->epoch);
    sqlite3_bind_int64(st, 3, r->step);
    sqlite3_bind_int(st, 4, r->layer_id);
    sqlite3_bind_int(st, 5, r->channels);
    sqlite3_bind_int(st, 6, r->train_steps);
    db_bind_finite(st, 7, r->var_ratio_min);
    db_bind_finite(st, 8, r->var_ratio_max);
    db_bind_finite(st, 9, r->mean_shift_max);
    db_bind_finite(st, 10, r->inference_scale);
    db_bind_index(st, 11, r->scale_channel);
    db_bind_finite(st, 12, r->moving_variance_min);
    sqlite3_bind_int(st, 13, r->bad_moving_variance);
    db_bind_index(st, 14, r->bad_channel);
    return run(v, st, "writing a validation BatchNorm row", err);
}

int db_validation_mark_event(db_validation *v, int val_batch, error *err)
{
    sqlite3_bind_int(v->set_val_batch, 1, val_batch);
    return run(v, v->set_val_batch, "marking the validation event", err);
}

int db_validation_resume(db_writer *w, long step, int redo_at_step, error *err)
{
    char sql[600];
    long after = redo_at_step ? step - 1 : step;
    snprintf(sql, sizeof sql,
             "DELETE FROM validation_stats WHERE run_id = %lld AND step > %ld; "
             "DELETE FROM validation_batchnorm WHERE run_id = %lld AND step > %ld; "
             "DELETE FROM events WHERE run_id = %lld AND pass = 'validation' AND step > %ld",
             w->run_id, after, w->run_id, after, w->run_id, after);
    if (sqlite3_exec(w->db, sql, NULL, NULL, NULL) != SQLITE_OK) return failure(w, "clearing validation rows", err);
    return 0;
}
