/* test_replay_report.c: how reports show a replay (reports/replay_*.c,
 * report_replay.c) on real run databases: a tiny run trained here with a
 * planted +Inf (and a healthy one), its replay rows written through the
 * replay writer (src/rundb/db_replay.h) with a known finding each.
 *
 * Checks: each finding's verdict sentence, "Not reproducible" before the
 * Cause line and the Precision line after the Fix line; the HTML section
 * (float32 rerun, float64 value, provenance sentence, the terms largest
 * first, the worst tensors and the chain's origin, copied .npy slices); the
 * rising shadow error in the verdict and its figure, and no such line for a
 * flat one; the writer's text twins of NaN, +inf and 1.5e40; an old
 * database without the replay tables, and a view in their place; hostile
 * rows (unknown finding, layer ids out of range, NaN and absurd values, a
 * huge term count, 100,000 terms, HTML in a message, a path outside the run
 * directory); `nanprobe schema` and `nanprobe report` carrying the tables
 * and the lines. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "db_replay.h"
#include "report.h"
#include "test_db.h"
#include "test_util.h"

static const char *binary;
static char root[512];

/* ------------------------------------------------------------ helpers */

/* A run directory copied from base: DIR/run.db (and DIR/replay/). */
static void case_dir(const char *base, const char *name, char *dir, size_t size)
{
    char from[700], to[700];
    snprintf(dir, size, "%s/%s", root, name);
    mkdir(dir, 0755);
    snprintf(from, sizeof from, "%s/run.db", base);
    snprintf(to, sizeof to, "%s/run.db", dir);
    CHECK(test_copy_file(from, to, -1) == 0, "copying %s to %s", from, to);
}

/* ------------------------------------------------------------ writing */

typedef struct replay_case {
    replay_row row;
    replay_provenance_row prov;
    int with_prov;
    replay_tensor_row tensors[24];
    int tensor_count;
    replay_term_row terms[8];
    int term_count;
} replay_case;

/* Writes one replay through the writer, in one transaction of its own, the
 * way `nanprobe replay` adds rows to a finished run. */
static long long write_case(const char *dir, const replay_case *c)
{
    char path[700], identity[128];
    snprintf(path, sizeof path, "%s/run.db", dir);
    test_db_row(dir, "SELECT identity FROM runs ORDER BY run_id DESC LIMIT 1", identity, sizeof identity);
    db_writer w;
    db_replay_writer r;
    error err;
    long long id = -1;
    int rc = db_writer_attach(&w, path, identity, &err);
    CHECK(rc == 0, "attaching to %s: %s", path, rc ? err.message : "");
    if (rc) return -1;
    rc = db_replay_writer_open(&r, &w, &err) || db_writer_begin(&w, &err) || db_write_replay(&r, &c->row, &id, &err);
    for (int i = 0; rc == 0 && i < c->tensor_count; i++) rc = db_write_replay_tensor(&r, id, &c->tensors[i], &err);
    for (int i = 0; rc == 0 && i < c->term_count; i++) rc = db_write_replay_term(&r, id, &c->terms[i], &err);
    if (rc == 0 && c->with_prov) rc = db_write_replay_provenance(&r, id, &c->prov, &err);
    if (rc == 0) rc = db_writer_commit(&w, &err);
    CHECK(rc == 0, "writing the replay rows: %s", rc ? err.message : "");
    db_replay_writer_close(&r);
    db_writer_close(&w);
    return rc ? -1 : id;
}

/* The replay of the planted +Inf (conv3d_5 output, step 3, element 80). */
static replay_case nan_case(replay_finding finding, double value)
{
    replay_case c;
    memset(&c, 0, sizeof c);
    c.row = (replay_row){.step = 3, .trigger = REPLAY_TRIGGER_NAN, .snapshot_step = 0, .threads = 1, .float_rerun = 1,
                         .reproduced = finding == REPLAY_FINDING_NOT_REPRODUCIBLE ? 0 : 1, .layers_compared = 135,
                         .layers_identical = finding == REPLAY_FINDING_NOT_REPRODUCIBLE ? 21 : 135,
                         .first_difference_layer = finding == REPLAY_FINDING_NOT_REPRODUCIBLE ? 19 : -1,
                         .loss_identical = finding == REPLAY_FINDING_NOT_REPRODUCIBLE ? 0 : 1,
                         .double_rerun = 1, .finding = finding, .origin_layer = 19, .origin_tensor = "output",
                         .origin_element = 80, .float_value = VALUE_POSITIVE_INF, .double_value = value,
                         .double_max_abs = isfinite(value) ? 10 * fabs(value) : 3.5, .message = "written by the test",
                         .float_seconds = 0.01, .double_seconds = 0.02};
    return c;
}

static int report_of(const char *dir, report_result *result, char **html)
{
    char db[700], out[700], index[800];
    snprintf(db, sizeof db, "%s/run.db", dir);
    snprintf(out, sizeof out, "%s/report", dir);
    error err;
    int rc = report_write(db, out, result, &err);
    CHECK(rc == 0, "report of %s: %s", dir, rc ? err.message : "");
    snprintf(index, sizeof index, "%s/index.html", out);
    *html = test_read_file(index, NULL);
    CHECK(*html != NULL, "%s exists", index);
    return rc == 0 && *html ? 0 : -1;
}

static int contains(const char *text, const char *needle)
{
    return text && strstr(text, needle) != NULL;
}

/* Is a before b in text (both present)? */
static int before(const char *text, const char *a, const char *b)
{
    const char *x = text ? strstr(text, a) : NULL, *y = text ? strstr(text, b) : NULL;
    return x && y && x < y;
}

/* ------------------------------------------------------------ cases */

static void test_not_reproducible(const char *base)
{
    char dir[600];
    case_dir(base, "not_reproducible", dir, sizeof dir);
    replay_case c = nan_case(REPLAY_FINDING_NOT_REPRODUCIBLE, 0.373);
    write_case(dir, &c);
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html)) return;
    const char *v = result.verdict;
    CHECK(strncmp(v, "Not reproducible: replaying step 3 from the state at its start, in float32 with the same batch "
                     "and 1 thread, gives no non-finite value (the run's +inf in output of conv3d_5 did not recur). "
                     "Suspect a transient fault", 180) == 0, "the verdict opens with Not reproducible:\n%s", v);
    const char *second = strchr(v, '\n');
    CHECK(second && strncmp(second + 1, "Cause: injected fault at conv3d_5", 33) == 0, "Cause comes second:\n%s", v);
    CHECK(!contains(v, "Precision:"), "no Precision line when not reproducible:\n%s", v);
    CHECK(contains(html, "<h2>Replay</h2>") && contains(html, "<b>not reproduced</b>") &&
              contains(html, "bit-identical layers 21 of 135, first differing layer conv3d_5; the data loss differs "
                             "from the run's"),
          "the Replay section says the float32 rerun did not reproduce it");
    char verdict_txt[700];
    snprintf(verdict_txt, sizeof verdict_txt, "%s/report/verdict.txt", dir);
    char *text = test_read_file(verdict_txt, NULL);
    CHECK(text && strncmp(text, "Not reproducible: ", 18) == 0, "verdict.txt opens with it too");
    free(text);
    free(html);
}

/* Real divergence: the line after Cause / Path / Fix, and `nanprobe report`. */
static void test_real_divergence(const char *base)
{
    char dir[600];
    case_dir(base, "real_divergence", dir, sizeof dir);
    replay_case c = nan_case(REPLAY_FINDING_REAL_DIVERGENCE, 1.2e45);
    c.row.layers_identical = 134;
    c.row.first_difference_layer = 67; /* the layer count: only the parameters after the update differ */
    write_case(dir, &c);
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html)) return;
    const char *v = result.verdict;
    const char *line = "Precision: real divergence: in float64 the value is 1.2e+45 (beyond FLT_MAX 3.4e+38); "
                       "float32 cannot hold it. The float32 replay of step 3 gave the same value at the same element, "
                       "bit for bit.\n";
    CHECK(strncmp(v, "Cause: ", 7) == 0 && contains(v, line), "the Precision line:\n%s", v);
    CHECK(before(v, "\nFix: ", "\nPrecision: ") && before(v, "\nPrecision: ", "\nFirst non-finite value"),
          "Precision follows Fix and precedes the origin:\n%s", v);
    CHECK(contains(html, "is <b>1.2e+45</b> in float64; the largest |x| of that tensor is 1.2e+46"),
          "the float64 value and the largest |x| in the section");
    CHECK(contains(html, "bit-identical layers 134 of 135, only the parameters after the update differ; the data loss "
                         "equals, bit for bit, the run's"), "a difference in the parameters only");
    char db[700], output[16384];
    snprintf(db, sizeof db, "%s/run.db", dir);
    char out_dir[700];
    snprintf(out_dir, sizeof out_dir, "%s/report-cli", dir);
    int status = test_run_args(binary, output, sizeof output, "report", db, "-o", out_dir, NULL);
    CHECK(status == 0 && contains(output, "Precision: real divergence: in float64 the value is 1.2e+45"),
          "nanprobe report prints the line (status %d):\n%s", status, output);
    free(html);
}

static void test_artefact_and_maths(const char *base)
{
    char dir[600];
    case_dir(base, "float32_artefact", dir, sizeof dir);
    replay_case c = nan_case(REPLAY_FINDING_FLOAT32_ARTEFACT, 310.0);
    write_case(dir, &c);
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html) == 0)
        CHECK(contains(result.verdict, "Precision: float32 artefact: float64 stays finite at 310 (largest |x| of the "
                                       "tensor 3.1e+03); float32 lost it"), "artefact line:\n%s", result.verdict);
    free(html);
    case_dir(base, "maths_itself", dir, sizeof dir);
    c = nan_case(REPLAY_FINDING_MATHS_ITSELF, NAN);
    c.row.operation = "Inf - Inf in the sum of conv3d_5's products";
    write_case(dir, &c);
    html = NULL;
    if (report_of(dir, &result, &html) == 0) {
        CHECK(contains(result.verdict, "Precision: the maths itself: NaN in float64 too (Inf - Inf in the sum of "
                                       "conv3d_5's products)."), "maths line:\n%s", result.verdict);
        CHECK(contains(html, "operation: Inf - Inf in the sum of conv3d_5&#39;s products"), "operation in the HTML");
    }
    free(html);
}

/* A minimal NumPy v1.0 file of n float32 values. */
static void npy_write(const char *path, int n)
{
    char header[128];
    int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }", n);
    int padded = 64;
    while (padded < 10 + len + 1) padded += 64;
    FILE *f = fopen(path, "wb");
    if (!f) return;
    unsigned short hl = (unsigned short)(padded - 10);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fwrite(&hl, 2, 1, f);
    fwrite(header, 1, (size_t)len, f);
    for (int i = 10 + len; i < padded - 1; i++) fputc(' ', f);
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        float v = (float)i;
        fwrite(&v, sizeof v, 1, f);
    }
    fclose(f);
}

static void provenance_case(replay_case *c)
{
    c->with_prov = 1;
    c->prov = (replay_provenance_row){.terms_sum = 3.1e39, .term_count = 72, .dominant_channel = 31,
                                      .dominant_share = 0.97, .dominant_input_max = 3e36,
                                      .dominant_weight_typical = 1e3,
                                      .input_npy = "replay/step-3-conv3d_5-input.npy",
                                      .kernel_npy = "replay/step-3-conv3d_5-kernel.npy"};
    /* written out of rank order: the report orders them */
    const double terms[4][3] = {{5e37, 1e3, 5e40}, {3e36, 1e3, 3e39}, {-2e35, 1e3, -2e38}, {1e30, 2.5, 2.5e30}};
    const int ranks[4] = {2, 0, 1, 3};
    for (int i = 0; i < 4; i++)
        c->terms[c->term_count++] = (replay_term_row){.rank = ranks[i], .source_layer = 18, .channel = 31 - i,
                                                      .sample = 0, .d = 0, .h = 4, .w = 6, .tap = "(0,0,2)",
                                                      .input = terms[i][0], .weight = terms[i][1],
                                                      .term = terms[i][0] * terms[i][1]};
    c->terms[0].term = 5e34; /* the rank-2 term is the third largest */
}

static void tensor_rows(replay_case *c)
{
    c->tensors[c->tensor_count++] = (replay_tensor_row){.layer = 19, .tensor = "output", .float_max_abs = INFINITY,
                                                        .double_max_abs = 3.5, .relative_error = NAN,
                                                        .double_nonfinite = 0, .chain_position = -1,
                                                        .double_value = NAN};
    for (int i = 0; i < 14; i++) /* relative errors 0.0101, 0.00202, ... : the 10 largest shown, not the rest */
        c->tensors[c->tensor_count++] = (replay_tensor_row){.layer = 2 + i, .tensor = "output_grad",
                                                            .float_max_abs = 1.0, .double_max_abs = 1.0,
                                                            .relative_error = (1.0 + i) * 1.01 * pow(10.0, -2 - i),
                                                            .chain_position = -1, .double_value = NAN};
    /* conv3d_5 feeds batch_normalization_5: its bias moves on rounding noise, not ranked */
    c->tensors[c->tensor_count++] = (replay_tensor_row){.layer = 19, .tensor = "bias", .float_max_abs = 1e-3,
                                                        .double_max_abs = 1e-3, .relative_error = 0.777,
                                                        .chain_position = -1, .double_value = NAN};
    /* zero in exact arithmetic: a huge relative error that is not ranked */
    c->tensors[c->tensor_count++] = (replay_tensor_row){.layer = 18, .tensor = "bias.grad", .float_max_abs = 1e-6,
                                                        .double_max_abs = 1e-16, .relative_error = 9.87e9,
                                                        .chain_position = -1, .double_value = NAN};
}

static void test_provenance_and_tensors(const char *base)
{
    char dir[600], replay_dir[700], path[800];
    case_dir(base, "provenance", dir, sizeof dir);
    snprintf(replay_dir, sizeof replay_dir, "%s/replay", dir);
    mkdir(replay_dir, 0755);
    snprintf(path, sizeof path, "%s/step-3-conv3d_5-input.npy", replay_dir);
    npy_write(path, 72);
    snprintf(path, sizeof path, "%s/step-3-conv3d_5-kernel.npy", replay_dir);
    npy_write(path, 72);
    replay_case c = nan_case(REPLAY_FINDING_REAL_DIVERGENCE, 5.3e40);
    provenance_case(&c);
    tensor_rows(&c);
    write_case(dir, &c);
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html)) return;
    CHECK(contains(html, "97 % of the sum of |term| comes from channel 31 of activation_4 (values up to 3e+36) "
                         "times weights of typically 1e+03; 72 terms in all, their float64 sum is 3.1e+39."),
          "the provenance sentence");
    CHECK(before(html, ">3e+39<", ">-2e+38<") && before(html, ">-2e+38<", ">5e+34<") &&
              before(html, ">5e+34<", ">2.5e+30<"), "the terms largest first");
    CHECK(contains(html, "<td class=\"num\">96.8 %</td>"), "the share of the largest term (3e39 / 3.1e39)");
    snprintf(path, sizeof path, "%s/report/step-3-conv3d_5-input.npy", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 128 + 72 * 4, "the input slice copied beside the report");
    CHECK(contains(html, "<a href=\"step-3-conv3d_5-input.npy\">input slice (.npy)</a>") &&
              contains(html, "<a href=\"step-3-conv3d_5-kernel.npy\">kernel slice (.npy)</a>"), "links to both");
    CHECK(contains(html, "<td class=\"num\">0.0101</td>") && contains(html, "<td class=\"num\">1.01e-10</td>") &&
              !contains(html, "<td class=\"num\">1.21e-12</td>"), "the 10 worst relative errors, not the 11th");
    CHECK(!contains(html, "9.87e+09"), "a tensor zero in exact arithmetic is not ranked");
    CHECK(!contains(html, "0.777"), "the bias of a conv before BatchNorm is not ranked");
    CHECK(contains(html, "<tr><td>conv3d_5</td><td>stage2.block1.conv1</td><td>output</td><td class=\"num\">0</td>"
                         "<td class=\"num\">+inf</td><td class=\"num\">3.5</td><td class=\"num\">NaN</td>"
                         "<td class=\"num\">0</td><td class=\"num\">5.3e+40</td>"),
          "the chain's origin first, with the float64 value at its element");
    free(html);
}

/* The text twins: SQLite keeps a NaN only as text. */
static void test_writer_values(const char *base)
{
    char dir[600], text[64];
    case_dir(base, "writer_values", dir, sizeof dir);
    const double values[3] = {NAN, INFINITY, 1.5e40};
    const char *const expected[3] = {"nan", "+inf", NULL};
    for (int i = 0; i < 3; i++) {
        replay_case c = nan_case(REPLAY_FINDING_REAL_DIVERGENCE, values[i]);
        long long id = write_case(dir, &c);
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT double_value_text FROM replays WHERE replay_id = %lld", id);
        test_db_row(dir, sql, text, sizeof text);
        if (expected[i]) CHECK(strcmp(text, expected[i]) == 0, "double_value_text %s, expected %s", text, expected[i]);
        else CHECK(strtod(text, NULL) == 1.5e40, "1.5e40 reads back exactly from '%s'", text);
        snprintf(sql, sizeof sql, "SELECT quote(double_value) FROM replays WHERE replay_id = %lld", id);
        test_db_row(dir, sql, text, sizeof text);
        CHECK(i != 0 || strcmp(text, "NULL") == 0, "NaN is NULL in the REAL column (%s)", text);
        CHECK(i != 1 || strcmp(text, "Inf") == 0, "+inf stays a REAL (%s)", text);
    }
}

/* ------------------------------------------------------------ shadow */

static void shadow_rows(const char *dir, double decades)
{
    for (int step = 1; step <= 8; step++) {
        replay_case c;
        memset(&c, 0, sizeof c);
        c.row = (replay_row){.step = step, .trigger = REPLAY_TRIGGER_SHADOW, .snapshot_step = step - 1, .threads = 1,
                             .double_rerun = 1, .finding = REPLAY_FINDING_NONE, .origin_layer = -1,
                             .reproduced = -1, .first_difference_layer = -1, .double_value = NAN,
                             .double_max_abs = NAN, .message = "shadow"};
        /* baseline: the median of the first quarter (steps 1 and 2), 3.09e-7 at 5 decades */
        const double growing = 1e-7 * pow(10.0, decades * (step - 1) / 7.0);
        const double flat = 2e-7 * (1 + 0.1 * (step % 3));
        c.tensors[0] = (replay_tensor_row){.layer = 17, .tensor = "batch_variance", .float_max_abs = 1,
                                           .double_max_abs = 1, .relative_error = growing, .chain_position = -1,
                                           .double_value = NAN};
        c.tensors[1] = (replay_tensor_row){.layer = 5, .tensor = "output", .float_max_abs = 1, .double_max_abs = 1,
                                           .relative_error = flat, .chain_position = -1, .double_value = NAN};
        c.tensor_count = 2;
        write_case(dir, &c);
    }
}

static void test_shadow(const char *healthy)
{
    char dir[600];
    case_dir(healthy, "shadow_rising", dir, sizeof dir);
    shadow_rows(dir, 5.0);
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html) == 0) {
        CHECK(contains(result.verdict, "Precision precursor: the float32 error of batch_normalization_4's "
                                       "batch_variance grew from 3.09e-07 to 0.01 over 7 steps"),
              "the rising shadow error:\n%s", result.verdict);
        CHECK(contains(html, "<h3>Shadow replays (--shadow-every)</h3>") && contains(html, "src=\"replay_shadow.png\""),
              "the shadow table and figure");
        char png[800];
        snprintf(png, sizeof png, "%s/report/replay_shadow.png", dir);
        struct stat st;
        CHECK(stat(png, &st) == 0 && st.st_size > 1000, "replay_shadow.png rendered");
    }
    free(html);
    case_dir(healthy, "shadow_flat", dir, sizeof dir);
    shadow_rows(dir, 1.0);
    html = NULL;
    if (report_of(dir, &result, &html) == 0)
        CHECK(!contains(result.verdict, "Precision precursor"), "one decade is no precursor:\n%s", result.verdict);
    free(html);
}

/* ------------------------------------------------------------ old and hostile */

static void test_old_database(const char *base)
{
    char dir[600];
    case_dir(base, "old", dir, sizeof dir);
    replay_case c = nan_case(REPLAY_FINDING_REAL_DIVERGENCE, 1e45);
    write_case(dir, &c);
    test_db_exec(dir, "DROP TABLE replay_terms; DROP TABLE replay_tensors; DROP TABLE replays; PRAGMA journal_mode=DELETE;");
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html) == 0)
        CHECK(strncmp(result.verdict, "Cause: injected fault", 21) == 0 && !contains(result.verdict, "Precision") &&
                  !contains(html, "<h2>Replay</h2>"), "no tables: no replay, the report as before:\n%s", result.verdict);
    free(html);
    test_db_exec(dir, "CREATE VIEW replays AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) "
                      "SELECT x AS replay_id FROM r; CREATE TABLE replay_tensors (a); CREATE TABLE replay_terms (a);");
    html = NULL;
    if (report_of(dir, &result, &html) == 0)
        CHECK(!contains(html, "<h2>Replay</h2>"), "a view in place of the replays table is not read");
    free(html);
}

static void test_hostile_rows(const char *base)
{
    char dir[600], npy[800];
    case_dir(base, "hostile", dir, sizeof dir);
    snprintf(npy, sizeof npy, "%s/secret.npy", root);
    npy_write(npy, 4);
    replay_case c = nan_case(REPLAY_FINDING_FLOAT32_ARTEFACT, 42.0);
    c.row.message = "<script>alert(1)</script>";
    c.row.rerun_event = "\x1b[31mred\n<b>";
    provenance_case(&c);
    c.prov.input_npy = "../secret.npy";
    c.prov.term_count = 2147483647;
    long long id = write_case(dir, &c);
    char sql[2000];
    /* A file from before schema.sql's CHECKs, or edited by hand, holds anything. */
    snprintf(sql, sizeof sql,
             "PRAGMA ignore_check_constraints = 1;"
             "UPDATE replays SET term_count = 9223372036854775807, double_max_abs = 1e308, "
             "double_value_text = 'garbage' WHERE replay_id = %lld;"
             "INSERT INTO replay_terms (replay_id, rank, source_layer, channel, input, weight, term) "
             "WITH RECURSIVE n(k) AS (SELECT 10 UNION ALL SELECT k + 1 FROM n WHERE k < 100010) "
             "SELECT %lld, k, 18, 1, 1.0, 1.0, 1.0 FROM n;"
             "INSERT INTO replay_terms (replay_id, rank, source_layer, channel) VALUES (%lld, 5, 999, 1);"
             "INSERT INTO replay_tensors (replay_id, layer_id, tensor, relative_error, double_nonfinite) VALUES "
             "(%lld, 999, 'output', 0.5, 0), (%lld, -1, 'output', 0.5, 0), (%lld, 3, 'output', 'abc', -5);"
             "INSERT INTO replays (run_id, step, trigger, snapshot_step, threads, float_rerun, double_rerun, finding, "
             "message) SELECT MAX(run_id), 3, 'nan', 0, 1, 1, 1, 'bogus', 'x' FROM runs;"
             "INSERT INTO replays (run_id, step, trigger, snapshot_step, threads, float_rerun, double_rerun, finding, "
             "origin_layer, message) SELECT MAX(run_id), 3, 'nan', 0, 1, 1, 1, 'maths_itself', 999, 'x' FROM runs;"
             "INSERT INTO replays (run_id, step, trigger, snapshot_step, threads, float_rerun, double_rerun, finding, "
             "message) SELECT MAX(run_id), 1e300, 'shadow', 0, 1, 0, 1, 'none', 'x' FROM runs;",
             id, id, id, id, id, id);
    test_db_exec(dir, sql);
    report_result result;
    char *html = NULL;
    if (report_of(dir, &result, &html) == 0) {
        CHECK(contains(result.verdict, "Precision: float32 artefact: float64 stays finite at 42 (largest |x| of the "
                                       "tensor 1e+308)"), "the valid row still speaks:\n%s", result.verdict);
        CHECK(!contains(html, "<script>") && !contains(html, "\x1b[") && contains(html, "&lt;b&gt;"),
              "database text escaped");
        CHECK(contains(html, "9223372036854775807 terms in all"), "the huge term count printed as it is");
        /* the 16 lowest ranks are read; the one with layer id 999 is left out */
        CHECK(contains(html, "<td class=\"num\">15</td><td>activation_4</td>") &&
                  !contains(html, "<td class=\"num\">16</td><td>activation_4</td>"), "at most 16 terms read");
        CHECK(contains(html, "input slice (.npy) (../secret.npy: a name outside the run directory)"),
              "a path outside the run directory is not followed");
        char copied[800];
        snprintf(copied, sizeof copied, "%s/report/secret.npy", dir);
        struct stat st;
        CHECK(stat(copied, &st) != 0, "nothing copied from outside");
        /* 2 replays, the shadow step 1e300, a term and 2 tensors of layers 999 and -1 (a relative error
         * of 'abc' and a negative count are kept as unknown); newest first: origin_layer 999 is met first */
        CHECK(contains(html, "6 replay rows were left out as damaged: replays.origin_layer = &#39;999&#39; where an "
                             "integer in [0, 66] was expected"), "the left-out rows are said, with the first reason");
    }
    free(html);
}

/* ------------------------------------------------------------ main */

static int train(const char *out, const char *inject)
{
    char output[8192];
    int status = inject ? test_run_args(binary, output, sizeof output, "train", "--depth", "18", "--width", "4",
                                        "--clip", "8x32x32x3", "--threads", "1", "--batch", "2", "--train-clips", "8",
                                        "--val-clips", "2", "--epochs", "2", "--snapshot-every", "0", "--no-report",
                                        "--quiet", "--inject", inject, "--out", out, NULL)
                        : test_run_args(binary, output, sizeof output, "train", "--depth", "18", "--width", "4",
                                        "--clip", "8x32x32x3", "--threads", "1", "--batch", "2", "--train-clips", "8",
                                        "--val-clips", "2", "--epochs", "2", "--snapshot-every", "0", "--no-report",
                                        "--quiet", "--out", out, NULL);
    CHECK(status == (inject ? 3 : 0), "training %s: status %d\n%s", out, status, output);
    return status == (inject ? 3 : 0) ? 0 : -1;
}

static void test_schema(void)
{
    char output[65536];
    int status = test_run_args(binary, output, sizeof output, "schema", NULL);
    CHECK(status == 0 && contains(output, "CREATE TABLE IF NOT EXISTS replays (") &&
              contains(output, "CREATE TABLE IF NOT EXISTS replay_tensors (") &&
              contains(output, "CREATE TABLE IF NOT EXISTS replay_terms ("), "nanprobe schema shows the replay tables");
}

int main(int argc, char **argv)
{
    binary = test_binary(argc, argv);
    if (test_temp_dir(root, sizeof root, "replay-report")) return 1;
    char base[600], healthy[600];
    snprintf(base, sizeof base, "%s/base", root);
    snprintf(healthy, sizeof healthy, "%s/healthy", root);
    test_schema();
    if (train(base, "inf-forward@layer=conv3d_5,step=3") == 0) {
        test_not_reproducible(base);
        test_real_divergence(base);
        test_artefact_and_maths(base);
        test_provenance_and_tensors(base);
        test_writer_values(base);
        test_old_database(base);
        test_hostile_rows(base);
    }
    if (train(healthy, NULL) == 0) test_shadow(healthy);
    if (test_failed == 0) test_remove_tree(root);
    else fprintf(stderr, "kept %s\n", root);
    return test_finish();
}
