/* test_names.c: the names run.db stores agree between the writer, the
 * readers and schema.sql.
 *
 * Tensor and metric names (run_names.h): a small run (ResNet3D-18, width 4,
 * L2 on, so every kind of row is written) fills a database; then every name
 * the trainer wrote must be one of the header's tables, every series the
 * reports load must be among the names written, and the name tables hold
 * no empty or repeated entry.  The drift this guards against: the reports
 * once loaded `loss.min_margin`, which no run ever wrote.
 *
 * Every name of those tables is in schema.sql's comments (ROLE.suffix for
 * the per-parameter ones).
 *
 * Stored enumerations (run_enums.h): for every entry of stored_enums[],
 * schema.sql's CHECK list of its column (or, without one, the column's
 * comment) names exactly the enum's names in order, every CHECK in the
 * schema is one of them, and a new run.db refuses a name outside the list.
 * The drift this guards against: schema.sql's comments once lacked the
 * video_decode kind and the validation pass.  A database made before the
 * events.inject_kind column gains it when a run goes on in it. */
#include "db.h"
#include "run_names.h"
#include "read_run.h"
#include "test_db.h"
#include "test_util.h"

#define MAX_NAMES 256

typedef struct name_list {
    char names[MAX_NAMES][64];
    int count;
} name_list;

static int list_has(const name_list *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->names[i], name) == 0) return 1;
    return 0;
}

/* The one column of every row of sql, a name a line. */
static void read_names(sqlite3 *db, const char *sql, name_list *out)
{
    static char rows[MAX_NAMES * 64];
    out->count = 0;
    if (test_sql_rows(db, sql, rows, sizeof rows) < 0) return;
    for (char *line = rows, *end; (end = strchr(line, '\n')) && out->count < MAX_NAMES; line = end + 1) {
        *end = '\0';
        snprintf(out->names[out->count++], sizeof out->names[0], "%.63s", line);
    }
}

/* Every name of the header's tables, once each. */
static void header_names(name_list *out)
{
    out->count = 0;
    for (int k = 0; k < PROBE_PARAM_NAME_COUNT; k++)
        for (int r = 0; r < PROBE_ROLE_COUNT; r++)
            snprintf(out->names[out->count++], sizeof out->names[0], "%s", probe_param_names[k][r]);
    for (int t = 0; t < PROBE_TENSOR_COUNT; t++)
        snprintf(out->names[out->count++], sizeof out->names[0], "%s", probe_tensor_names[t]);
    for (int m = 0; m < PROBE_METRIC_COUNT; m++)
        snprintf(out->names[out->count++], sizeof out->names[0], "%s", probe_metric_names[m]);
    for (int m = 0; m < PROBE_MECH_COUNT; m++)
        snprintf(out->names[out->count++], sizeof out->names[0], "%s", probe_mechanism_names[m]);
}

static void test_tables(const name_list *all)
{
    int empty = 0, repeated = 0;
    for (int i = 0; i < all->count; i++) {
        empty += all->names[i][0] == '\0';
        for (int j = 0; j < i; j++) repeated += strcmp(all->names[i], all->names[j]) == 0;
    }
    CHECK(empty == 0, "%d empty names in run_names.h's tables", empty);
    CHECK(repeated == 0, "%d names repeated in run_names.h's tables", repeated);
    CHECK(strcmp(probe_param_names[PROBE_PARAM_GRAD][0], "kernel.grad") == 0, "role x suffix: %s",
          probe_param_names[PROBE_PARAM_GRAD][0]);
}

static void test_written_names(sqlite3 *db, const name_list *all)
{
    name_list tensors, metrics;
    read_names(db, "SELECT DISTINCT tensor FROM stats ORDER BY 1", &tensors);
    read_names(db, "SELECT DISTINCT metric FROM layer_metrics ORDER BY 1", &metrics);
    CHECK(tensors.count >= 10, "the run wrote %d tensor names", tensors.count);
    CHECK(metrics.count >= 10, "the run wrote %d metric names", metrics.count);
    for (int i = 0; i < tensors.count; i++)
        CHECK(list_has(all, tensors.names[i]), "tensor '%s' written but not in run_names.h", tensors.names[i]);
    for (int i = 0; i < metrics.count; i++)
        CHECK(list_has(all, metrics.names[i]), "metric '%s' written but not in run_names.h", metrics.names[i]);
    /* What the reports load is what the trainer writes. */
    for (int s = 0; s < SERIES_COUNT; s++) {
        const series_def *def = &series_defs[s];
        const name_list *written = def->from_metrics ? &metrics : &tensors;
        CHECK(list_has(written, def->source), "series %s loads %s '%s', which the run did not write", def->key,
              def->from_metrics ? "metric" : "tensor", def->source);
    }
}

/* The CREATE TABLE statement of table in the schema, as [*begin, *end). */
static int table_text(const char *schema, const char *table, const char **begin, const char **end)
{
    char head[96];
    snprintf(head, sizeof head, "CREATE TABLE IF NOT EXISTS %s (", table);
    *begin = strstr(schema, head);
    *end = *begin ? strstr(*begin, "\n)") : NULL; /* ");" or ") WITHOUT ROWID;" */
    return *begin && *end ? 0 : -1;
}

/* The quoted names of "CHECK (column IN ('a', 'b', ...))" in [begin, end), "a|b|..." into out; -1 if none. */
static int check_list(const char *begin, const char *end, const char *column, char *out, size_t size)
{
    char head[96];
    snprintf(head, sizeof head, "CHECK (%s IN (", column);
    const char *p = strstr(begin, head);
    if (!p || p > end) return -1;
    size_t used = 0;
    out[0] = '\0';
    for (p += strlen(head); p < end && strncmp(p, "))", 2) != 0; p++) {
        if (*p != '\'') continue;
        const char *close = strchr(p + 1, '\'');
        if (!close || close > end) return -1;
        used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%.*s", used ? "|" : "",
                                 (int)(close - p - 1), p + 1);
        p = close;
    }
    return 0;
}

/* The comment of column's line in [begin, end), "" when none. */
static void column_comment(const char *begin, const char *end, const char *column, char *out, size_t size)
{
    char head[96];
    snprintf(head, sizeof head, "\n    %s ", column);
    const char *p = strstr(begin, head), *comment = p ? strstr(p, "--") : NULL, *eol = p ? strchr(p + 1, '\n') : NULL;
    out[0] = '\0';
    if (p && p < end && comment && eol && comment < eol) snprintf(out, size, "%.*s", (int)(eol - comment), comment);
}

/* Every name run_names.h's tables hold is documented in schema.sql's
 * comments: literally, or as ROLE.suffix for the per-parameter names. */
static void test_schema_comments(const name_list *all)
{
    static char comments[1 << 17];
    size_t used = 0;
    for (const char *p = strstr(db_schema_sql(), "--"); p && used < sizeof comments; p = strstr(p, "--")) {
        const char *eol = strchr(p, '\n');
        int length = eol ? (int)(eol - p) : (int)strlen(p);
        used += (size_t)snprintf(comments + used, sizeof comments - used, "%.*s\n", length, p);
        p += length;
    }
    for (int i = 0; i < all->count; i++) {
        const char *name = all->names[i], *dot = strchr(name, '.');
        char role_form[80] = "";
        for (int r = 0; dot && r < PROBE_ROLE_COUNT; r++) {
            const char *role = probe_param_names[PROBE_PARAM_VALUE][r];
            if (strlen(role) == (size_t)(dot - name) && strncmp(name, role, strlen(role)) == 0)
                snprintf(role_form, sizeof role_form, "ROLE%s", dot);
        }
        CHECK(strstr(comments, name) || (role_form[0] && strstr(comments, role_form)),
              "'%s' (or '%s') is not in schema.sql's comments", name, role_form);
    }
}

static void join_names(const stored_enum_def *e, const char *separator, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < e->count && used < size; k++)
        used += (size_t)snprintf(out + used, size - used, "%s%s", k ? separator : "", e->names[k]);
}

static void test_schema_enums(void)
{
    const char *schema = db_schema_sql();
    int checks = 0;
    for (int i = 0; i < STORED_ENUM_COUNT; i++) {
        const stored_enum_def *e = &stored_enums[i];
        char table[64], expected[1024], listed[1024], comment[1024];
        const char *dot = strchr(e->column, '.'), *begin, *end;
        snprintf(table, sizeof table, "%.*s", dot ? (int)(dot - e->column) : 0, e->column);
        if (!dot || table_text(schema, table, &begin, &end)) {
            CHECK(0, "stored_enums[%d]: no table for column %s in schema.sql", i, e->column);
            continue;
        }
        join_names(e, "|", expected, sizeof expected);
        if (check_list(begin, end, dot + 1, listed, sizeof listed) == 0) {
            checks++;
            CHECK(strcmp(listed, expected) == 0, "schema.sql's CHECK of %s lists %s; run_enums.c's names are %s",
                  e->column, listed, expected);
            continue;
        }
        /* Without a CHECK, the column's comment says the names: "a | b | c". */
        column_comment(begin, end, dot + 1, comment, sizeof comment);
        char spaced[1024];
        join_names(e, " | ", spaced, sizeof spaced);
        CHECK(strstr(comment, spaced) != NULL, "schema.sql: %s has neither a CHECK nor a comment listing %s (%s)",
              e->column, spaced, comment);
    }
    int in_schema = 0;
    for (const char *p = strstr(schema, "CHECK ("); p; p = strstr(p + 1, "CHECK (")) in_schema++;
    CHECK(checks > 0 && in_schema == checks, "schema.sql has %d CHECKs, %d of them of stored_enums[]' columns",
          in_schema, checks);
}

/* A new run.db refuses what is not a name: the CHECKs are live. */
static void test_checks_enforced(sqlite3 *db)
{
    const char *bad[] = {
        "INSERT INTO events (run_id, kind, message) VALUES (1, 'video-decode', 'x')",
        "UPDATE runs SET status = 'done'",
        "INSERT INTO events (run_id, kind, message, inject_kind) VALUES (1, 'injection', 'x', 'scale')",
    };
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sqlite3_exec(db, bad[i], NULL, NULL, NULL);
        CHECK(rc == SQLITE_CONSTRAINT, "%s: SQLite said %d, not a constraint failure", bad[i], rc);
    }
    int rc = sqlite3_exec(db, "INSERT INTO events (run_id, kind, message, inject_kind) VALUES (1, 'injection', 'x', "
                              "'scale-weights')", NULL, NULL, NULL);
    CHECK(rc == SQLITE_OK, "a valid injection row is refused (%d)", rc);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int query_text(const char *path, const char *sql, char *out, size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        rc = 0;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

/* A run.db made before events.inject_kind (the column dropped) is resumed
 * with an injection: the column is added and holds the kind, and the row's
 * element is the one the sentinel then finds. */
static void test_old_database(const char *nanprobe, const char *dir)
{
    char out[300], run[300], path[400], output[8192], text[256];
    snprintf(out, sizeof out, "--out=%s/old", dir);
    snprintf(run, sizeof run, "%s/old", dir);
    snprintf(path, sizeof path, "%s/old/run.db", dir);
    char *train[] = {(char *)nanprobe, "train", "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3",
                     "--batch=2", "--train-clips=4", "--val-clips=2", "--epochs=1", "--threads=1", "--max-steps=1",
                     "--no-report", "--quiet", out, NULL};
    int status = test_run(train, output, sizeof output);
    CHECK(status == 0, "train exited %d: %s", status, output);
    CHECK(query_text(path, "ALTER TABLE events DROP COLUMN inject_kind", text, sizeof text) == 0,
          "cannot drop events.inject_kind");
    query_text(path, "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'inject_kind'", text, sizeof text);
    CHECK(strcmp(text, "0") == 0, "the old database still has inject_kind (%s)", text);
    char *resume[] = {(char *)nanprobe, "train", "--resume", run, "--quiet", "--no-report",
                      "--inject=inf-forward@layer=conv3d_2,step=2", NULL};
    status = test_run(resume, output, sizeof output);
    CHECK(status == 3, "resume with an injection exited %d (3: a NaN): %s", status, output);
    query_text(path, "SELECT inject_kind || ' ' || layer_name || ' ' || element_index FROM events "
                     "WHERE kind = 'injection'", text, sizeof text);
    CHECK(strncmp(text, "inf-forward conv3d_2 ", 21) == 0, "the injection row reads '%s'", text);
    char nan[256];
    query_text(path, "SELECT 'inf-forward ' || layer_name || ' ' || element_index FROM first_nan", nan, sizeof nan);
    CHECK(text[0] && strcmp(text, nan) == 0, "injected '%s', the sentinel found '%s'", text, nan);

    /* Without the column again, a report takes the kind from the message. */
    query_text(path, "ALTER TABLE events DROP COLUMN inject_kind", text, sizeof text);
    char *report[] = {(char *)nanprobe, "report", path, NULL};
    status = test_run(report, output, sizeof output);
    CHECK(status == 0 && strstr(output, "Cause: injected fault at conv3d_2"), "report of the old file: exit %d: %s",
          status, output);
}

/* events.inject_kind read back: the column, else an older file's message. */
static void test_injection_kind_read(void)
{
    static const struct {
        const char *column, *message;
        int kind;
    } cases[] = {
        {"inf-backward", "injected +Inf into element 3 of dense (--inject inf-forward@layer=dense,step=2)",
         INJECT_INF_BACKWARD},
        {NULL, "injected a factor of 1e+30 on conv3d_5/kernel (--inject scale-weights@layer=conv3d_5,factor=1e30)",
         INJECT_SCALE_WEIGHTS},
        {NULL, "injected NaN into element 7 of input_1 (--inject nan-input@step=1,sample=0)", INJECT_NAN_INPUT},
        {"scale", "(--inject scale-weights@layer=x)", -1},
        {NULL, "checkpoint at step 3 (--max-steps)", -1},
        {NULL, "(--inject scale-weights-and-more@layer=x)", -1},
        {NULL, NULL, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int kind = stored_injection_kind(cases[i].column, cases[i].message);
        CHECK(kind == cases[i].kind, "inject_kind %s, message '%s': %d, expected %d",
              cases[i].column ? cases[i].column : "NULL", cases[i].message ? cases[i].message : "NULL", kind,
              cases[i].kind);
    }
}

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    name_list all;
    header_names(&all);
    test_tables(&all);
    test_schema_enums();
    test_schema_comments(&all);
    test_injection_kind_read();

    char dir[256], output[8192];
    if (test_temp_dir(dir, sizeof dir, "names")) {
        CHECK(0, "cannot create a temporary directory");
        return test_finish();
    }
    char out[300];
    snprintf(out, sizeof out, "--out=%s/run", dir);
    char *train[] = {(char *)nanprobe, "train", "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3",
                     "--batch=2", "--train-clips=4", "--val-clips=2", "--epochs=1", "--threads=1", "--l2=1e-4",
                     "--no-report", "--quiet", out, NULL};
    int status = test_run(train, output, sizeof output);
    CHECK(status == 0, "train exited %d: %s", status, output);
    char path[400];
    snprintf(path, sizeof path, "%s/run", dir);
    sqlite3 *db = test_db_open(path, SQLITE_OPEN_READWRITE);
    if (db) {
        test_written_names(db, &all);
        test_checks_enforced(db);
    } else {
        CHECK(0, "cannot open %s/run.db", path);
    }
    sqlite3_close(db);
    test_old_database(nanprobe, dir);
    test_remove_tree(dir);
    return test_finish();
}
