/* db_replay.c: writing the replay tables (see db_replay.h).  Shares the
 * db_writer's connection and run id; callers put the rows inside one of
 * its transactions (db_writer_begin / db_writer_commit). */
#include "db_replay.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db_bind.h"

static int failure(db_replay_writer *r, const char *what, error *err)
{
    return error_set(err, "run database: %s failed: %s", what, sqlite3_errmsg(r->w->db));
}

int db_replay_writer_open(db_replay_writer *r, db_writer *w, error *err)
{
    static const char *const sql[4] = {
        "INSERT INTO replays (run_id, step, trigger, snapshot_step, threads, float_rerun, reproduced, "
        "layers_compared, layers_identical, first_difference_layer, rerun_event, double_rerun, finding, "
        "origin_layer, origin_tensor, origin_element, float_value, double_value, double_value_text, double_max_abs, "
        "operation, message, float_seconds, double_seconds, loss_identical) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "INSERT INTO replay_tensors (replay_id, layer_id, tensor, float_max_abs, double_max_abs, relative_error, "
        "double_nonfinite, chain_position, double_value) VALUES (?,?,?,?,?,?,?,?,?)",
        "INSERT OR REPLACE INTO replay_terms (replay_id, rank, source_layer, channel, sample, d, h, w, tap, input, "
        "weight, term) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        "UPDATE replays SET terms_sum = ?2, terms_sum_text = ?3, term_count = ?4, dominant_channel = ?5, "
        "dominant_share = ?6, dominant_input_max = ?7, dominant_weight_typical = ?8, input_npy = ?9, "
        "kernel_npy = ?10 WHERE replay_id = ?1",
    };
    memset(r, 0, sizeof *r);
    r->w = w;
    sqlite3_stmt **const st[4] = {&r->insert_replay, &r->insert_tensor, &r->insert_term, &r->set_provenance};
    if (db_prepare_all(w->db, sql, st, 4) == 0) return 0;
    failure(r, "preparing the replay statements", err);
    db_finalize_all(st, 4);
    return -1;
}

void db_replay_writer_close(db_replay_writer *r)
{
    sqlite3_stmt **const st[4] = {&r->insert_replay, &r->insert_tensor, &r->insert_term, &r->set_provenance};
    db_finalize_all(st, 4);
}

static int finish(db_replay_writer *r, sqlite3_stmt *st, const char *what, error *err)
{
    return db_step_done(st) ? 0 : failure(r, what, err);
}

static void real_text(double x, char *out, size_t size)
{
    if (isnan(x)) snprintf(out, size, "nan");
    else if (isinf(x)) snprintf(out, size, x > 0 ? "+inf" : "-inf");
    else snprintf(out, size, "%.17g", x);
}

int db_write_replay(db_replay_writer *r, const replay_row *row, long long *replay_id, error *err)
{
    sqlite3_stmt *st = r->insert_replay;
    char value_text[40];
    real_text(row->double_value, value_text, sizeof value_text);
    sqlite3_bind_int64(st, 1, r->w->run_id);
    sqlite3_bind_int64(st, 2, row->step);
    db_bind_text(st, 3, stored_enum_name(STORED_REPLAY_TRIGGER, (int)row->trigger));
    sqlite3_bind_int64(st, 4, row->snapshot_step);
    sqlite3_bind_int(st, 5, row->threads);
    sqlite3_bind_int(st, 6, row->float_rerun);
    db_bind_index(st, 7, row->float_rerun ? row->reproduced : -1);
    db_bind_index(st, 8, row->layers_compared > 0 ? row->layers_compared : -1);
    db_bind_index(st, 9, row->layers_compared > 0 ? row->layers_identical : -1);
    db_bind_index(st, 10, row->first_difference_layer);
    db_bind_text(st, 11, row->rerun_event);
    sqlite3_bind_int(st, 12, row->double_rerun);
    db_bind_text(st, 13, stored_enum_name(STORED_REPLAY_FINDING, (int)row->finding));
    db_bind_index(st, 14, row->origin_layer);
    db_bind_text(st, 15, row->origin_layer >= 0 ? row->origin_tensor : NULL);
    db_bind_index(st, 16, row->origin_layer >= 0 ? row->origin_element : -1);
    db_bind_text(st, 17,
                 row->origin_layer >= 0 ? stored_enum_name(STORED_REPLAY_FLOAT_VALUE, (int)row->float_value) : NULL);
    db_bind_real(st, 18, row->double_value);
    db_bind_text(st, 19, row->double_rerun && row->origin_layer >= 0 ? value_text : NULL);
    db_bind_real(st, 20, row->double_max_abs);
    db_bind_text(st, 21, row->operation);
    db_bind_text(st, 22, row->message ? row->message : "");
    db_bind_real(st, 23, row->float_rerun ? row->float_seconds : NAN);
    db_bind_real(st, 24, row->double_rerun ? row->double_seconds : NAN);
    db_bind_index(st, 25, row->float_rerun ? row->loss_identical : -1);
    if (finish(r, st, "writing a replay", err)) return -1;
    *replay_id = sqlite3_last_insert_rowid(r->w->db);
    return 0;
}

int db_write_replay_tensor(db_replay_writer *r, long long replay_id, const replay_tensor_row *row, error *err)
{
    sqlite3_stmt *st = r->insert_tensor;
    sqlite3_bind_int64(st, 1, replay_id);
    sqlite3_bind_int(st, 2, row->layer);
    db_bind_text(st, 3, row->tensor);
    db_bind_real(st, 4, row->float_max_abs);
    db_bind_real(st, 5, row->double_max_abs);
    db_bind_real(st, 6, row->relative_error);
    sqlite3_bind_int64(st, 7, row->double_nonfinite);
    db_bind_index(st, 8, row->chain_position);
    db_bind_real(st, 9, row->double_value);
    return finish(r, st, "writing a replay tensor", err);
}

int db_write_replay_term(db_replay_writer *r, long long replay_id, const replay_term_row *row, error *err)
{
    sqlite3_stmt *st = r->insert_term;
    sqlite3_bind_int64(st, 1, replay_id);
    sqlite3_bind_int(st, 2, row->rank);
    sqlite3_bind_int(st, 3, row->source_layer);
    sqlite3_bind_int(st, 4, row->channel);
    db_bind_index(st, 5, row->sample);
    db_bind_index(st, 6, row->d);
    db_bind_index(st, 7, row->h);
    db_bind_index(st, 8, row->w);
    db_bind_text(st, 9, row->tap);
    db_bind_real(st, 10, row->input);
    db_bind_real(st, 11, row->weight);
    db_bind_real(st, 12, row->term);
    return finish(r, st, "writing a replay term", err);
}

int db_write_replay_provenance(db_replay_writer *r, long long replay_id, const replay_provenance_row *row,
                               error *err)
{
    sqlite3_stmt *st = r->set_provenance;
    char sum_text[40];
    real_text(row->terms_sum, sum_text, sizeof sum_text);
    sqlite3_bind_int64(st, 1, replay_id);
    db_bind_real(st, 2, row->terms_sum);
    db_bind_text(st, 3, sum_text);
    sqlite3_bind_int(st, 4, row->term_count);
    sqlite3_bind_int(st, 5, row->dominant_channel);
    db_bind_real(st, 6, row->dominant_share);
    db_bind_real(st, 7, row->dominant_input_max);
    db_bind_real(st, 8, row->dominant_weight_typical);
    db_bind_text(st, 9, row->input_npy);
    db_bind_text(st, 10, row->kernel_npy);
    return finish(r, st, "writing a replay's provenance", err);
}
