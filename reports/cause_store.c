/* cause_store.c: the cause_chain rows (see cause_store.h). */
#include "cause_store.h"

#include <math.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"

static void bind_real_or_null(sqlite3_stmt *st, int column, double v)
{
    if (isfinite(v)) sqlite3_bind_double(st, column, v);
    else sqlite3_bind_null(st, column);
}

static int insert_chain(sqlite3_stmt *st, const rundata *d, const cause_trace *t, const cause_chain *c, int chain)
{
    for (int i = 0; i < c->count; i++) {
        const cause_link *k = &c->links[i];
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, d->run.run_id);
        sqlite3_bind_int(st, 2, chain);
        sqlite3_bind_int(st, 3, i);
        sqlite3_bind_int(st, 4, k->step);
        sqlite3_bind_int(st, 5, k->step_before);
        sqlite3_bind_int(st, 6, d->layers[k->layer].layer_id);
        sqlite3_bind_text(st, 7, d->layers[k->layer].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, k->tensor, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, k->statistic, -1, SQLITE_STATIC);
        bind_real_or_null(st, 10, k->before);
        bind_real_or_null(st, 11, k->after);
        bind_real_or_null(st, 12, k->decades);
        if (k->onset_step > 0) sqlite3_bind_int(st, 13, k->onset_step);
        else sqlite3_bind_null(st, 13);
        sqlite3_bind_text(st, 14, cause_role_names[k->role < CAUSE_ROLE_COUNT ? k->role : CAUSE_ROLE_LINK], -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 15, mechanism_defs[t->klass].key, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 16, t->weak);
        if (k->sample_id >= 0) sqlite3_bind_int64(st, 17, k->sample_id);
        else sqlite3_bind_null(st, 17);
        if (sqlite3_step(st) != SQLITE_DONE) return -1;
    }
    return 0;
}

int cause_store(const rundata *d, const cause_trace *t, const char *db_path, error *err)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        error_set(err, "%s: cannot open for writing the cause chain: %s", db_path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st = NULL, *del = NULL;
    int rc = -1;
    /* the schema is all IF NOT EXISTS: this only adds cause_chain to an
     * older database */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, db_schema_sql(), NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM cause_chain WHERE run_id = ?", -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO cause_chain (run_id, chain, position, step, step_before, layer_id, "
                           "layer_name, tensor, statistic, value_before, value_after, decades, onset_step, role, "
                           "mechanism, weak, sample_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int(del, 1, d->run.run_id);
    if (sqlite3_step(del) != SQLITE_DONE) goto done;
    if (t->klass != MECHANISM_NONE &&
        (insert_chain(st, d, t, &t->chain, 0) || (t->runner_up.count > 1 && insert_chain(st, d, t, &t->runner_up, 1))))
        goto done;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK) rc = 0;
done:
    if (rc) {
        error_set(err, "%s: cannot write the cause chain: %s", db_path, sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(del);
    sqlite3_close(db);
    return rc;
}
