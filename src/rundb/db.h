/* db.h: the run database (run.db): schema, writing, and opening for reports.
 *
 * The schema lives in src/rundb/schema.sql (compiled in as a string) and is
 * documented in docs/database.md; `nanprobe schema` prints it. */
#ifndef NANPROBE_DB_H
#define NANPROBE_DB_H

#include <sqlite3.h>

#include "error.h"
#include "run_enums.h"

#define DB_SCHEMA_VERSION 1

/* The full CREATE script of src/rundb/schema.sql. */
const char *db_schema_sql(void);
/* The SQLite library nanprobe runs on ("3.40.1"), for `nanprobe doctor`. */
const char *db_sqlite_version(void);

/* Opens an existing run database read-only for reports, checking that it is
 * a nanprobe database of a schema version this build understands. */
int db_open_for_reading(sqlite3 **out, const char *path, error *err);

/* Opens any SQLite file read-only (mode=ro; immutable when a WAL file sits
 * in a place we cannot write and holds nothing pending).  single_thread:
 * the connection stays in one thread (SQLITE_OPEN_NOMUTEX).  Messages say
 * what is true: not SQLite, unreadable, or WAL content that cannot be read
 * from here. */
int db_open_reader(sqlite3 **out, const char *path, int single_thread, error *err);

/* Whether table has column: a reader of a column that came after the first
 * schema (events.val_batch, events.inject_kind, ...) asks first. */
int db_has_column(sqlite3 *db, const char *table, const char *column);
/* Adds table.column (declaration: "INTEGER", ...) to a database made
 * before the column existed; nothing when it is there. */
int db_add_column(sqlite3 *db, const char *table, const char *column, const char *declaration);

/* Opens an existing database for writing, in WAL mode. */
int db_open_for_writing(sqlite3 **out, const char *path, error *err);

struct model;
struct tensor_stats;

/* The runs row of a new run (text fields are copied by SQLite). */
typedef struct run_row {
    const char *name, *version, *started_at, *clip, *init, *data, *normalize, *config_json;
    const char *identity; /* the run directory's identity, shared with its checkpoint */
    int depth, width, classes, batch, probe_every;
    double l2, lr;
    long long seed;
} run_row;

typedef struct step_row {
    long step;
    int epoch;
    double lr, loss, data_loss, l2_penalty, accuracy, seconds;
    int probed;
    const char *sample_ids; /* "17,4,99" */
    double loss_scale;      /* mixed_float16's loss scale this step used; 0: no loss scaling (NULL) */
    int skipped;            /* the loss scale skipped this step's update */
} step_row;

typedef struct epoch_row {
    int epoch;
    long last_step;
    double loss, accuracy, val_loss, val_accuracy, lr, seconds;
    int has_validation;
} epoch_row;

/* An events row; integer fields < 0 and NULL strings are stored as NULL.
 * pass and value_class belong to a first non-finite value (EVENT_NAN),
 * inject_kind to an injection (EVENT_INJECTION, whose element, when it hit
 * one, is in element_index and the coordinates, and whose scale-weights
 * factor is old_value); for other kinds they are stored as NULL. */
typedef struct event_row {
    long step;
    int epoch;
    event_kind kind;
    int layer;
    const char *layer_name, *layer_path, *tensor;
    probe_pass pass;
    value_class value_class;
    injection_kind inject_kind;
    long long element_index;
    int sample, d, h, w, channel;
    long sample_id;
    int is_origin;
    double old_value, new_value; /* NaN = NULL */
    const char *message;
} event_row;

/* Keeps the database handle and one prepared statement per kind of row.
 * Rows go in inside db_writer_begin / db_writer_commit: one transaction per
 * step, so a killed process leaves every committed step and nothing half. */
typedef struct db_writer {
    sqlite3 *db;
    long long run_id;
    sqlite3_stmt *insert_step, *insert_stats, *insert_metric, *insert_input, *insert_epoch, *insert_event,
        *mark_probed, *begin, *commit;
} db_writer;

/* Creates path with the schema and writes the run and layers rows, all
 * committed before the file appears under its name (see db.c). */
int db_writer_create(db_writer *w, const char *path, const run_row *run, const struct model *m, error *err);
/* Reopens a run database to continue its newest run after step (later
 * rows, left by a run that died after its last checkpoint, are deleted:
 * the resumed run rewrites them identically).  Fails unless that run's
 * identity is `identity` (the checkpoint's). */
int db_writer_resume(db_writer *w, const char *path, long step, const char *identity, error *err);
/* Reopens a run database to add rows about steps already written (a
 * replay), deleting nothing; the newest run must be `identity`'s. */
int db_writer_attach(db_writer *w, const char *path, const char *identity, error *err);
int db_writer_begin(db_writer *w, error *err);
int db_writer_commit(db_writer *w, error *err);
/* Undoes the open transaction (after a failed write; never fails). */
void db_writer_rollback(db_writer *w);
int db_write_step(db_writer *w, const step_row *row, error *err);
int db_write_stats(db_writer *w, long step, int layer_id, const char *tensor_name, const struct tensor_stats *s,
                   error *err);
int db_write_metric(db_writer *w, long step, int layer_id, const char *metric, double value, error *err);
int db_write_input(db_writer *w, long step, int position, long sample_id, int label, const struct tensor_stats *s,
                   error *err);
int db_write_epoch(db_writer *w, const epoch_row *row, error *err);
int db_write_event(db_writer *w, const event_row *row, error *err);
int db_mark_probed(db_writer *w, long step, error *err);
/* Sets runs.status (and finished_at unless status is RUN_RUNNING). */
int db_set_status(db_writer *w, run_status status, error *err);
void db_writer_close(db_writer *w);

#endif
