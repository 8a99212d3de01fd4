/* fuzz_rundata.c: the report's side of a run.db (rundata_load, then the
 * precursor ranking, the rules and the verdict), on hostile databases.
 *
 * An input that starts with SQLite's magic is taken as the database file
 * itself.  Anything else is SQL run against a fresh database holding the
 * schema, so the fuzzer can plant any value in any column (a step of 1.5,
 * a layer_id of 2^40, a view in place of a table) without having to forge
 * b-tree pages.  That SQL may not attach files or change pragmas, and a
 * progress handler cuts it off after a bounded amount of work. */
#include "fuzz.h"

#include <sqlite3.h>

#include "db.h"
#include "precursor.h"
#include "rules.h"
#include "read_run.h"
#include "strbuf.h"
#include "verdict.h"

static int deny_outside(void *unused, int action, const char *a, const char *b, const char *c, const char *d)
{
    (void)unused, (void)a, (void)b, (void)c, (void)d;
    return action == SQLITE_ATTACH || action == SQLITE_DETACH || action == SQLITE_PRAGMA ? SQLITE_DENY : SQLITE_OK;
}

static int stop_after(void *counter)
{
    return ++*(int *)counter > 2000; /* x 1000 virtual machine steps */
}

static void build_from_sql(const char *path, const uint8_t *data, size_t size)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) abort();
    /* No fsync per statement: the file lives for one input.  Any value in
     * any column, past schema.sql's CHECKs too: a file made before them, or
     * edited, holds anything. */
    sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY; PRAGMA ignore_check_constraints=1; BEGIN",
                 NULL, NULL, NULL);
    sqlite3_exec(db, db_schema_sql(), NULL, NULL, NULL);
    sqlite3_exec(db, "COMMIT; BEGIN", NULL, NULL, NULL);
    char *sql = fuzz_string(data, size);
    int counter = 0;
    sqlite3_set_authorizer(db, deny_outside, NULL);
    sqlite3_progress_handler(db, 1000, stop_after, &counter);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_progress_handler(db, 0, NULL, NULL);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    free(sql);
    sqlite3_close(db);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    char path[256], side[300];
    snprintf(path, sizeof path, "%s/run.db", fuzz_scratch("rundata"));
    static const char *const sides[] = {"-wal", "-shm", "-journal"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, sides[i]);
        unlink(side);
    }
    unlink(path);
    if (size >= 16 && memcmp(data, "SQLite format 3", 16) == 0) {
        if (test_write_file(path, data, size)) return 0;
    } else {
        build_from_sql(path, data, size);
    }
    rundata d;
    error err;
    if (rundata_load(&d, path, SERIES_ALL, 1, &err) == 0) {
        const event_info *nan = rundata_first_nan(&d);
        int end_step = nan ? nan->step : d.steps[d.step_count - 1].step + 1;
        precursor_ranking ranking;
        if (precursor_rank(&d, end_step, &ranking, &err) == 0) {
            rule_finding findings[RULE_COUNT];
            rules_evaluate(&d, end_step, findings);
            strbuf verdict = {0};
            verdict_compose(&d, &ranking, findings, &verdict);
            strbuf_free(&verdict);
            precursor_free(&ranking);
        }
        rundata_free(&d);
    }
    return 0;
}
