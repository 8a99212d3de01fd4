/* db.c: opening run databases and applying the schema (see db.h). */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db_bind.h"
#include "model.h"
#include "schema_sql.h" /* generated from src/rundb/schema.sql: static const char schema_sql[] */
#include "stats.h"
#include "summary.h"

const char *db_schema_sql(void)
{
    return schema_sql;
}

const char *db_sqlite_version(void)
{
    return sqlite3_libversion();
}

/* The first 100 bytes of a SQLite file: "SQLite format 3\0", and bytes 18
 * and 19 are 2 in WAL mode. */
static int read_header(const char *path, unsigned char header[100])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    ssize_t n = read(fd, header, 100);
    close(fd);
    return n == 100 ? 0 : -1;
}

/* "file:" + the path with the characters a URI gives meaning percent-encoded. */
static char *uri_of(const char *path, const char *query)
{
    size_t n = strlen(path), k = 0;
    char *uri = malloc(3 * n + strlen(query) + 8);
    if (!uri) return NULL;
    k += (size_t)sprintf(uri, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x20 || *p >= 0x7f) k += (size_t)sprintf(uri + k, "%%%02X", *p);
        else uri[k++] = (char)*p;
    }
    strcpy(uri + k, query);
    return uri;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Reads PRAGMA user_version: -1 when the file cannot be read as a database. */
static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

static int open_recovering(sqlite3 **out, const char *path, int flags)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | flags, NULL) == SQLITE_OK) {
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL) == SQLITE_OK && schema_version(db) >= 0) {
            *out = db;
            return 0;
        }
    }
    sqlite3_close(db);
    return -1;
}

/* Opens read-only: nothing is ever written, not even a side file.
 *   - A rollback-journal file (what a finished run leaves) opens with
 *     mode=ro.
 *   - A WAL file with no -wal content pending (its writer closed) is the
 *     whole database: it opens immutable, because even a read-only WAL
 *     connection creates -shm (and -wal) beside the file, which a read-only
 *     place (a mount, another user's directory) does not allow and which
 *     would change what the user has.
 *   - A WAL file with content pending (a live run, or a killed one) needs
 *     the normal WAL read (a killed one first a recovery of its -shm, see
 *     open_recovering); where the -shm cannot be made, the message says so
 *     instead of "not a database". */
static int open_read_only(sqlite3 **out, const char *path, int flags, error *err)
{
    *out = NULL;
    unsigned char header[100];
    if (read_header(path, header) || memcmp(header, "SQLite format 3", 16) != 0)
        return error_set(err, "%s: not a SQLite database (expected a run.db written by nanprobe train)", path);
    int wal = header[18] == 2 && header[19] == 2;
    char wal_path[4200];
    snprintf(wal_path, sizeof wal_path, "%s-wal", path);
    long long pending = wal ? file_size(wal_path) : -1;
    char *uri = uri_of(path, wal && pending <= 0 ? "?mode=ro&immutable=1" : "?mode=ro");
    if (!uri) return error_set(err, "out of memory opening %s", path);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | flags, NULL);
    free(uri);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        /* Nothing stored in the file (a view, a trigger, a default) may
         * call a function with side effects. */
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        if (schema_version(db) >= 0) {
            *out = db;
            return 0;
        }
    }
    int code = db ? sqlite3_errcode(db) & 0xff : SQLITE_NOMEM;
    char message[256];
    snprintf(message, sizeof message, "%s", db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    /* A killed writer's WAL must be recovered (its -shm index rebuilt)
     * before anyone can read it, which a read-only connection cannot do.
     * Where the directory is writable, a connection that may write but is
     * query_only and never checkpoints does it: the -shm is rebuilt, run.db
     * and its -wal stay as they are. */
    if (pending > 0 && code == SQLITE_READONLY && open_recovering(out, path, flags) == 0) return 0;
    if (pending > 0 && (code == SQLITE_CANTOPEN || code == SQLITE_READONLY || code == SQLITE_IOERR))
        return error_set(err, "%s: cannot read it here: its directory is not writable and %lld bytes of committed "
                         "steps are still in %s (the run did not finish cleanly); copy the run directory somewhere "
                         "writable and report from there", path, pending, wal_path);
    return error_set(err, "%s: cannot read the database: %s", path, message);
}

int db_open_reader(sqlite3 **out, const char *path, int single_thread, error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return error_set(err, "%s: no such file (expected a run.db written by nanprobe train)", path);
    if (!S_ISREG(st.st_mode)) return error_set(err, "%s: not a regular file (expected a run.db)", path);
    return open_read_only(out, path, single_thread ? SQLITE_OPEN_NOMUTEX : 0, err);
}

int db_open_for_reading(sqlite3 **out, const char *path, error *err)
{
    sqlite3 *db = NULL;
    if (db_open_reader(&db, path, 0, err)) return -1;
    int version = schema_version(db);
    /* The tables a report reads must be tables: a view of the same name
     * (a recursive one, say) would make a report's query run forever. */
    sqlite3_stmt *probe = NULL;
    int tables = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('runs', 'layers', "
                           "'steps', 'epochs', 'stats', 'layer_metrics', 'input_samples', 'events')",
                           -1, &probe, NULL) == SQLITE_OK &&
        sqlite3_step(probe) == SQLITE_ROW)
        tables = sqlite3_column_int(probe, 0);
    sqlite3_finalize(probe);
    int has_runs = sqlite3_prepare_v2(db, "SELECT run_id FROM runs LIMIT 1", -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    if (has_runs && version > 0 && version <= DB_SCHEMA_VERSION && tables != 8) {
        error_set(err, "%s: damaged database: the tables of schema version %d are not all there (or some are views)",
                  path, version);
        sqlite3_close(db);
        return -1;
    }
    if (!has_runs || version == 0) {
        error_set(err, "%s: a SQLite database, but not one written by nanprobe (no runs table)", path);
        sqlite3_close(db);
        return -1;
    }
    if (version > DB_SCHEMA_VERSION) {
        error_set(err, "%s: schema version %d is newer than this nanprobe understands (%d)", path, version,
                  DB_SCHEMA_VERSION);
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static int open_writable(sqlite3 **out, const char *path, int create, error *err)
{
    *out = NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | (create ? SQLITE_OPEN_CREATE : 0), NULL) != SQLITE_OK) {
        error_set(err, "%s: cannot %s the database: %s", path, create ? "create" : "open",
                  db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    /* A step writes ~2,000 rows; a larger lookaside (SQLite's per-connection
     * small-object pool) serves the statement's transient allocations
     * without going to malloc every row. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 512, 2048);
    *out = db;
    return 0;
}

int db_open_for_writing(sqlite3 **out, const char *path, error *err)
{
    if (open_writable(out, path, 0, err)) return -1;
    char *message = NULL;
    /* WAL: a commit is one append to the log, readers (a report while the
     * run goes on) do not block the writer, and a killed process leaves the
     * last committed step intact. */
    if (sqlite3_exec(*out, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, &message) != SQLITE_OK) {
        error_set(err, "%s: cannot open for writing: %s", path, message ? message : sqlite3_errmsg(*out));
        sqlite3_free(message);
        sqlite3_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ writer */

static int sqlite_failure(db_writer *w, error *err, const char *what)
{
    int code = sqlite3_errcode(w->db) & 0xff, system_errno = sqlite3_system_errno(w->db);
    char hint[160] = "";
    if (code == SQLITE_FULL) snprintf(hint, sizeof hint, " (the disk is full)");
    else if (code == SQLITE_IOERR && system_errno) snprintf(hint, sizeof hint, " (%s)", strerror(system_errno));
    return error_set(err, "run database: %s failed: %s%s; every step committed before is in the database", what,
                     sqlite3_errmsg(w->db), hint);
}

static int prepare(db_writer *w, sqlite3_stmt **st, const char *sql, error *err)
{
    if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return sqlite_failure(w, err, "preparing a statement");
    return 0;
}

static int prepare_all(db_writer *w, error *err)
{
    return prepare(w, &w->insert_step,
                   "INSERT OR REPLACE INTO steps (run_id, step, epoch, lr, loss, data_loss, l2_penalty, accuracy, "
                   "seconds, probed, sample_ids, loss_finite, loss_scale, skipped) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   err) ||
           prepare(w, &w->insert_stats,
                   "INSERT OR REPLACE INTO stats (run_id, step, layer_id, tensor, count, mean, std, min, max, "
                   "absmax, l2norm, zero_fraction, nan_count, posinf_count, neginf_count) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   err) ||
           prepare(w, &w->insert_metric,
                   "INSERT OR REPLACE INTO layer_metrics (run_id, step, layer_id, metric, value) VALUES (?,?,?,?,?)",
                   err) ||
           prepare(w, &w->insert_input,
                   "INSERT OR REPLACE INTO input_samples (run_id, step, position, sample_id, label, mean, std, min, "
                   "max, absmax, nan_count, inf_count) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   err) ||
           prepare(w, &w->insert_epoch,
                   "INSERT OR REPLACE INTO epochs (run_id, epoch, last_step, loss, accuracy, val_loss, "
                   "val_accuracy, lr, seconds) VALUES (?,?,?,?,?,?,?,?,?)",
                   err) ||
           prepare(w, &w->insert_event,
                   "INSERT INTO events (run_id, step, epoch, kind, layer_id, layer_name, layer_path, pass, tensor, "
                   "value_class, element_index, sample, d, h, w, channel, sample_id, is_origin, old_value, "
                   "new_value, message, inject_kind) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   err) ||
           prepare(w, &w->mark_probed, "UPDATE steps SET probed = 1 WHERE run_id = ? AND step = ?", err) ||
           prepare(w, &w->begin, "BEGIN", err) || prepare(w, &w->commit, "COMMIT", err);
}

static int run_statement(db_writer *w, sqlite3_stmt *st, const char *what, error *err)
{
    return db_step_done(st) ? 0 : sqlite_failure(w, err, what);
}

static int exec_sql(db_writer *w, const char *sql, error *err)
{
    char *message = NULL;
    if (sqlite3_exec(w->db, sql, NULL, NULL, &message) != SQLITE_OK) {
        error_set(err, "run database: %s: %s", sql, message ? message : sqlite3_errmsg(w->db));
        sqlite3_free(message);
        return -1;
    }
    return 0;
}

static int apply_schema(db_writer *w, const char *path, error *err)
{
    char *message = NULL;
    if (sqlite3_exec(w->db, schema_sql, NULL, NULL, &message) == SQLITE_OK) return 0;
    error_set(err, "%s: cannot apply the schema: %s", path, message ? message : sqlite3_errmsg(w->db));
    sqlite3_free(message);
    return -1;
}

static int insert_layers(db_writer *w, const model *m, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(w, &st,
                "INSERT INTO layers (run_id, layer_id, name, path, kind, inputs, output_shape, param_count) "
                "VALUES (?,?,?,?,?,?,?,?)",
                err))
        return -1;
    int rc = 0;
    for (int i = 0; i < m->layer_count && rc == 0; i++) {
        const layer *l = &m->layers[i];
        char inputs[128] = "", shape[64];
        for (int k = 0; k < l->input_count; k++) {
            size_t len = strlen(inputs);
            snprintf(inputs + len, sizeof inputs - len, "%s%s", k ? "," : "", m->layers[l->inputs[k]].name);
        }
        tensor_format_shape(&l->output, 1, shape, sizeof shape);
        sqlite3_bind_int64(st, 1, w->run_id);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_text(st, 3, l->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, l->path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, layer_kind_name(l->kind), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, inputs, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 7, shape, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)layer_parameter_count(m, i));
        rc = run_statement(w, st, "inserting a layer", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_run(db_writer *w, const run_row *run, error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(w, &st,
                "INSERT INTO runs (name, version, started_at, status, depth, width, clip, classes, batch, init, l2, "
                "lr, seed, data, normalize, probe_every, config_json, identity) "
                "VALUES (?,?,?,'running',?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                err))
        return -1;
    sqlite3_bind_text(st, 1, run->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, run->version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, run->started_at, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, run->depth);
    sqlite3_bind_int(st, 5, run->width);
    sqlite3_bind_text(st, 6, run->clip, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, run->classes);
    sqlite3_bind_int(st, 8, run->batch);
    sqlite3_bind_text(st, 9, run->init, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 10, run->l2);
    sqlite3_bind_double(st, 11, run->lr);
    sqlite3_bind_int64(st, 12, run->seed);
    sqlite3_bind_text(st, 13, run->data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 14, run->normalize, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 15, run->probe_every);
    sqlite3_bind_text(st, 16, run->config_json, -1, SQLITE_TRANSIENT);
    db_bind_text(st, 17, run->identity);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sqlite_failure(w, err, "inserting the run");
    sqlite3_finalize(st);
    if (rc == 0) w->run_id = sqlite3_last_insert_rowid(w->db);
    return rc;
}

/* Moves the finished file to its name, refusing to replace one that exists
 * (renameat2's RENAME_NOREPLACE; link + unlink where it is not supported). */
static int publish(const char *temporary, const char *path, error *err)
{
    int rc = renameat2(AT_FDCWD, temporary, AT_FDCWD, path, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        rc = link(temporary, path);
        if (rc == 0) unlink(temporary);
    }
    if (rc == 0) return 0;
    int e = errno;
    unlink(temporary);
    if (e == EEXIST) return error_set(err, "%s already exists: another process created a run here", path);
    return error_set(err, "%s: cannot create: %s", path, strerror(e));
}

static void sync_path(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The database is built under PATH-new and renamed into place only once the
 * schema, the run and its layers are committed: a run.db that exists always
 * holds a run, however the creating process died.  A leftover PATH-new is
 * the remains of a creation that was killed and is simply replaced. */
int db_writer_create(db_writer *w, const char *path, const run_row *run, const model *m, error *err)
{
    memset(w, 0, sizeof *w);
    char temporary[4200], journal[4300], directory[4200];
    snprintf(temporary, sizeof temporary, "%s-new", path);
    snprintf(journal, sizeof journal, "%s-journal", temporary);
    unlink(temporary);
    unlink(journal);
    if (open_writable(&w->db, temporary, 1, err)) return -1;
    if (exec_sql(w, "PRAGMA journal_mode=DELETE", err) || exec_sql(w, "BEGIN", err) || apply_schema(w, temporary, err) ||
        insert_run(w, run, err) || insert_layers(w, m, err) || exec_sql(w, "COMMIT", err))
        goto fail;
    long long run_id = w->run_id;
    sqlite3_close(w->db);
    w->db = NULL;
    sync_path(temporary, 0);
    if (publish(temporary, path, err)) return -1;
    snprintf(directory, sizeof directory, "%s", path);
    char *slash = strrchr(directory, '/');
    if (slash) *slash = '\0';
    sync_path(slash ? directory : ".", O_DIRECTORY);
    if (db_open_for_writing(&w->db, path, err) || prepare_all(w, err)) goto fail;
    w->run_id = run_id;
    return 0;
fail:
    db_writer_close(w);
    unlink(temporary);
    return -1;
}

/* Opens path for writing on its newest run, which must be `identity`'s. */
static int open_run_of(db_writer *w, const char *path, const char *identity, const char *what, error *err)
{
    memset(w, 0, sizeof *w);
    /* Checked before anything is written (even the switch to WAL): a
     * refused open leaves the file exactly as it was. */
    if (open_writable(&w->db, path, 0, err)) return -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w->db, "SELECT run_id, identity FROM runs ORDER BY run_id DESC LIMIT 1", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        error_set(err, "%s: no run to %s in this database", path, what);
        db_writer_close(w);
        return -1;
    }
    w->run_id = sqlite3_column_int64(st, 0);
    const unsigned char *stored = sqlite3_column_text(st, 1);
    /* The checkpoint and the database must be the same run: a checkpoint
     * copied in from another run would write its steps under this run's
     * name and configuration. */
    int same = stored && identity && strcmp((const char *)stored, identity) == 0;
    char seen[80];
    snprintf(seen, sizeof seen, "%.64s", stored ? (const char *)stored : "none");
    sqlite3_finalize(st);
    if (!same) {
        error_set(err, "%s: the checkpoint belongs to another run (checkpoint identity %.64s, the database's run "
                  "%s); refusing to %s", path, identity ? identity : "none", seen, what);
        db_writer_close(w);
        return -1;
    }
    return 0;
}

int db_has_column(sqlite3 *db, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

int db_add_column(sqlite3 *db, const char *table, const char *column, const char *declaration)
{
    if (db_has_column(db, table, column)) return 0;
    char sql[200];
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, declaration);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Columns that came after the first schema: a database made before them
 * gains them when a run goes on in it (schema.sql has them for new files;
 * the version stays 1, since a reader checks for a column it needs). */
static int add_later_columns(db_writer *w, error *err)
{
    static const char *const columns[][3] = {
        {"steps", "loss_scale", "REAL"},                    /* --precision */
        {"steps", "skipped", "INTEGER NOT NULL DEFAULT 0"}, /* --precision */
        {"events", "inject_kind", "TEXT"},                  /* --inject */
    };
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
        if (db_add_column(w->db, columns[i][0], columns[i][1], columns[i][2]))
            return sqlite_failure(w, err, "adding a column to a database made by an older nanprobe");
    return 0;
}

int db_writer_attach(db_writer *w, const char *path, const char *identity, error *err)
{
    if (open_run_of(w, path, identity, "replay", err)) return -1;
    /* The schema's CREATE ... IF NOT EXISTS adds tables a database made by
     * an older build lacks (the replay tables), and touches nothing else. */
    if (exec_sql(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err) || exec_sql(w, db_schema_sql(), err) ||
        add_later_columns(w, err) || prepare_all(w, err)) {
        db_writer_close(w);
        return -1;
    }
    return 0;
}

int db_writer_resume(db_writer *w, const char *path, long step, const char *identity, error *err)
{
    if (open_run_of(w, path, identity, "resume", err)) return -1;
    char sql[600];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; BEGIN; DELETE FROM steps WHERE run_id = %lld AND step > %ld; "
             "DELETE FROM stats WHERE run_id = %lld AND step > %ld; "
             "DELETE FROM layer_metrics WHERE run_id = %lld AND step > %ld; "
             "DELETE FROM input_samples WHERE run_id = %lld AND step > %ld; "
             "DELETE FROM events WHERE run_id = %lld AND step > %ld; "
             "UPDATE runs SET resumed_from = %ld, status = 'running', finished_at = NULL WHERE run_id = %lld; COMMIT",
             w->run_id, step, w->run_id, step, w->run_id, step, w->run_id, step, w->run_id, step, step, w->run_id);
    /* A database from an older build gains the tables it lacks (replays). */
    if (exec_sql(w, sql, err) || exec_sql(w, db_schema_sql(), err) || add_later_columns(w, err) ||
        prepare_all(w, err)) {
        db_writer_close(w);
        return -1;
    }
    return 0;
}

int db_writer_begin(db_writer *w, error *err)
{
    return run_statement(w, w->begin, "beginning a transaction", err);
}

int db_writer_commit(db_writer *w, error *err)
{
    if (run_statement(w, w->commit, "committing a step", err)) {
        db_writer_rollback(w);
        return -1;
    }
    return 0;
}

void db_writer_rollback(db_writer *w)
{
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
}

int db_write_step(db_writer *w, const step_row *r, error *err)
{
    sqlite3_stmt *st = w->insert_step;
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, r->step);
    sqlite3_bind_int(st, 3, r->epoch);
    sqlite3_bind_double(st, 4, r->lr);
    db_bind_finite(st, 5, r->loss);
    db_bind_finite(st, 6, r->data_loss);
    db_bind_finite(st, 7, r->l2_penalty);
    db_bind_finite(st, 8, r->accuracy);
    sqlite3_bind_double(st, 9, r->seconds);
    sqlite3_bind_int(st, 10, r->probed);
    sqlite3_bind_text(st, 11, r->sample_ids, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 12, isfinite(r->loss) ? 1 : 0);
    if (r->loss_scale > 0) sqlite3_bind_double(st, 13, r->loss_scale);
    else sqlite3_bind_null(st, 13);
    sqlite3_bind_int(st, 14, r->skipped);
    return run_statement(w, st, "writing a step", err);
}

int db_write_stats(db_writer *w, long step, int layer_id, const char *tensor_name, const tensor_stats *s, error *err)
{
    sqlite3_stmt *st = w->insert_stats;
    int64_t finite = stats_finite(s);
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_int(st, 3, layer_id);
    sqlite3_bind_text(st, 4, tensor_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, s->count);
    db_bind_summary(st, 6, s);
    if (finite > 0) db_bind_finite(st, 11, stats_l2norm(s));
    db_bind_finite(st, 12, s->count ? (double)s->zero_count / (double)s->count : NAN);
    sqlite3_bind_int64(st, 13, s->nan_count);
    sqlite3_bind_int64(st, 14, s->posinf_count);
    sqlite3_bind_int64(st, 15, s->neginf_count);
    return run_statement(w, st, "writing statistics", err);
}

int db_write_metric(db_writer *w, long step, int layer_id, const char *metric, double value, error *err)
{
    sqlite3_stmt *st = w->insert_metric;
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_int(st, 3, layer_id);
    sqlite3_bind_text(st, 4, metric, -1, SQLITE_STATIC);
    db_bind_finite(st, 5, value);
    return run_statement(w, st, "writing a metric", err);
}

int db_write_input(db_writer *w, long step, int position, long sample_id, int label, const tensor_stats *s,
                   error *err)
{
    sqlite3_stmt *st = w->insert_input;
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int64(st, 2, step);
    sqlite3_bind_int(st, 3, position);
    sqlite3_bind_int64(st, 4, sample_id);
    sqlite3_bind_int(st, 5, label);
    db_bind_summary(st, 6, s);
    sqlite3_bind_int64(st, 11, s->nan_count);
    sqlite3_bind_int64(st, 12, s->posinf_count + s->neginf_count);
    return run_statement(w, st, "writing an input sample", err);
}

int db_write_epoch(db_writer *w, const epoch_row *r, error *err)
{
    sqlite3_stmt *st = w->insert_epoch;
    sqlite3_bind_int64(st, 1, w->run_id);
    sqlite3_bind_int(st, 2, r->epoch);
    sqlite3_bind_int64(st, 3, r->last_step);
    db_bind_finite(st, 4, r->loss);
    db_bind_finite(st, 5, r->accuracy);
    db_bind_finite(st, 6, r->has_validation ? r->val_loss : NAN);
    db_bind_finite(st, 7, r->has_validation ? r->val_accuracy : NAN);
    sqlite3_bind_double(st, 8, r->lr);
    sqlite3_bind_double(st, 9, r->seconds);
    return run_statement(w, st, "writing an epoch", err);
}

int db_write_event(db_writer *w, const event_row *r, error *err)
{
    sqlite3_stmt *st = w->insert_event;
    sqlite3_bind_int64(st, 1, w->run_id);
    db_bind_index(st, 2, r->step);
    db_bind_index(st, 3, r->epoch);
    sqlite3_bind_text(st, 4, stored_enum_name(STORED_EVENT_KIND, (int)r->kind), -1, SQLITE_STATIC);
    db_bind_index(st, 5, r->layer);
    db_bind_text(st, 6, r->layer_name);
    db_bind_text(st, 7, r->layer_path);
    const int nan = r->kind == EVENT_NAN, injection = r->kind == EVENT_INJECTION;
    db_bind_text(st, 8, nan ? stored_enum_name(STORED_PASS, (int)r->pass) : NULL);
    db_bind_text(st, 9, r->tensor);
    db_bind_text(st, 10, nan ? stored_enum_name(STORED_VALUE_CLASS, (int)r->value_class) : NULL);
    db_bind_index(st, 11, r->element_index);
    db_bind_index(st, 12, r->sample);
    db_bind_index(st, 13, r->d);
    db_bind_index(st, 14, r->h);
    db_bind_index(st, 15, r->w);
    db_bind_index(st, 16, r->channel);
    db_bind_index(st, 17, r->sample_id);
    db_bind_index(st, 18, r->is_origin);
    db_bind_finite(st, 19, r->old_value);
    db_bind_finite(st, 20, r->new_value);
    sqlite3_bind_text(st, 21, r->message, -1, SQLITE_TRANSIENT);
    db_bind_text(st, 22, injection ? stored_enum_name(STORED_INJECT_KIND, (int)r->inject_kind) : NULL);
    return run_statement(w, st, "writing an event", err);
}

int db_mark_probed(db_writer *w, long step, error *err)
{
    sqlite3_bind_int64(w->mark_probed, 1, w->run_id);
    sqlite3_bind_int64(w->mark_probed, 2, step);
    return run_statement(w, w->mark_probed, "marking a step probed", err);
}

int db_set_status(db_writer *w, run_status status, error *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = status == RUN_RUNNING
                          ? "UPDATE runs SET status = ?1, finished_at = NULL WHERE run_id = ?2"
                          : "UPDATE runs SET status = ?1, finished_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') "
                            "WHERE run_id = ?2";
    if (prepare(w, &st, sql, err)) return -1;
    sqlite3_bind_text(st, 1, stored_enum_name(STORED_RUN_STATUS, (int)status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, w->run_id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sqlite_failure(w, err, "setting the run status");
    sqlite3_finalize(st);
    return rc;
}

void db_writer_close(db_writer *w)
{
    sqlite3_stmt *statements[] = {w->insert_step, w->insert_stats, w->insert_metric, w->insert_input,
                                  w->insert_epoch, w->insert_event, w->mark_probed, w->begin, w->commit};
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) sqlite3_finalize(statements[i]);
    if (w->db) {
        /* Fold the WAL back and leave WAL mode, so run.db is one
         * self-contained file that a read-only place can report from (a WAL
         * database needs a writable -shm beside it).  When a report holds
         * it open this fails harmlessly and the file stays in WAL mode. */
        sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_exec(w->db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
        sqlite3_close(w->db);
    }
    memset(w, 0, sizeof *w);
}
