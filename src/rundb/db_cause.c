/* db_cause.c: the cause_chain rows (see db_cause.h). */
#include "db_cause.h"

#include <stddef.h>

#include "db.h"
#include "db_bind.h"

static int insert_links(sqlite3_stmt *st, const db_cause_chain *c)
{
    for (int i = 0; i < c->count; i++) {
        const db_cause_link *k = &c->links[i];
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, c->run_id);
        sqlite3_bind_int(st, 2, k->chain);
        sqlite3_bind_int(st, 3, k->position);
        sqlite3_bind_int(st, 4, k->step);
        sqlite3_bind_int(st, 5, k->step_before);
        sqlite3_bind_int(st, 6, k->layer_id);
        db_bind_text(st, 7, k->layer_name);
        db_bind_text(st, 8, k->tensor);
        db_bind_text(st, 9, k->statistic);
        db_bind_finite(st, 10, k->before);
        db_bind_finite(st, 11, k->after);
        db_bind_finite(st, 12, k->decades);
        db_bind_index(st, 13, k->onset_step > 0 ? k->onset_step : -1);
        sqlite3_bind_text(st, 14, chain_role_names[(unsigned)k->role < CHAIN_ROLE_COUNT ? k->role : CHAIN_LINK], -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 15, mechanism_names[(unsigned)c->mechanism < MECHANISM_COUNT ? c->mechanism : 0], -1,
                          SQLITE_STATIC);
        sqlite3_bind_int(st, 16, c->weak);
        db_bind_index(st, 17, k->sample_id);
        if (sqlite3_step(st) != SQLITE_DONE) return -1;
    }
    return 0;
}

int db_cause_store(const char *db_path, const db_cause_chain *c, error *err)
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
    sqlite3_bind_int(del, 1, c->run_id);
    if (sqlite3_step(del) != SQLITE_DONE) goto done;
    if (c->mechanism != MECHANISM_NONE && insert_links(st, c)) goto done;
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
