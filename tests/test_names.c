/* test_names.c: the tensor and metric names of run.db agree between the
 * writer and the readers (run_names.h).
 *
 * A small run (ResNet3D-18, width 4, L2 on, so every kind of row is
 * written) fills a database; then every name the trainer wrote must be one
 * of the header's tables, every series the reports load must be among the
 * names written, and the name tables hold no empty or repeated entry.  The
 * drift this guards against: the reports once loaded `loss.min_margin`,
 * which no run ever wrote. */
#include "run_names.h"
#include "rundata.h"
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

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    name_list all;
    header_names(&all);
    test_tables(&all);

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
    sqlite3 *db = test_db_open(path, SQLITE_OPEN_READONLY);
    if (db) test_written_names(db, &all);
    else CHECK(0, "cannot open %s/run.db", path);
    sqlite3_close(db);
    test_remove_tree(dir);
    return test_finish();
}
