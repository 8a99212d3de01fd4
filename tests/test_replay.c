/* test_replay.c: replay of the failing step (src/run/replay.h), with known
 * answers for every finding:
 *   - a learning-rate blow-up (--lr 1e30) reads "real divergence", with the
 *     float64 value beyond FLT_MAX, reproduced bit for bit after a rerun
 *     from the epoch's snapshot;
 *   - a constant clip under --normalize standardize reads "the maths
 *     itself" and names the 0/0;
 *   - a float32-only failure (products of 1e30 x 1e10 that cancel exactly)
 *     reads "float32 artefact" with the float64 value 0;
 *   - an Inf injected once reads "not reproducible", the first differing
 *     layer being the one it was planted in; weights scaled by 1e30 (a
 *     change of state, replayed in both precisions) read real divergence;
 *   - the provenance of an overflow planted in input channel 1 names
 *     channel 1;
 * and `nanprobe replay` after the fact, --shadow-every, bad input. */
#include <float.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "loss.h"
#include "npy.h"
#include "optimizer.h"
#include "replay.h"
#include "rng.h"
#include "test_db.h"
#include "test_util.h"

static const char *binary;

#define TINY "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3", "--batch=4", "--val-clips=0"


/* 16 clips of 4x16x16x2 in DIR: values 0.5..1.5, clip `constant` all 0.75,
 * and clip `huge` with every value of channel 1 at 3e38 (finite, near
 * FLT_MAX). */
static void write_clips(const char *dir, int constant, int huge)
{
    mkdir(dir, 0777);
    enum { N = 16, VALUES = 4 * 16 * 16 * 2 };
    static float clips[N * VALUES];
    rng r;
    rng_seed(&r, 5, 5);
    for (int i = 0; i < N * VALUES; i++) clips[i] = (float)(0.5 + rng_uniform(&r));
    for (int i = 0; constant >= 0 && i < VALUES; i++) clips[constant * VALUES + i] = 0.75f;
    for (int i = 1; huge >= 0 && i < VALUES; i += 2) clips[huge * VALUES + i] = 3e38f;
    int64_t labels[N];
    for (int i = 0; i < N; i++) labels[i] = i % 3;
    const int64_t shape[5] = {N, 4, 16, 16, 2}, label_shape[1] = {N};
    char path[4300];
    error err;
    snprintf(path, sizeof path, "%s/train_clips.npy", dir);
    CHECK(npy_write(path, "<f4", 5, shape, clips, 1, &err) == 0, "writing %s", path);
    snprintf(path, sizeof path, "%s/train_labels.npy", dir);
    CHECK(npy_write(path, "<i8", 1, label_shape, labels, 1, &err) == 0, "writing %s", path);
}

static void check_integrity(const char *dir, const char *label)
{
    char out[256];
    test_db_rows(dir, "PRAGMA integrity_check", out, sizeof out);
    CHECK(strcmp(out, "ok\n") == 0, "%s: run.db integrity_check: %s", label, out);
}

/* ---------------------------------------------------------------- cases */

static void test_real_divergence(const char *base)
{
    char dir[4200], out[16384];
    snprintf(dir, sizeof dir, "%s/lr", base);
    int rc = test_run_args(binary, out, sizeof out, "train", TINY, "--train-clips=32", "--epochs=1", "--lr=1e30",
                           "--out", dir, "--no-report", NULL);
    CHECK(rc == 3, "--lr 1e30: exit %d (expected 3, a NaN)\n%s", rc, out);
    char rows[4096];
    int n = test_db_rows(dir,
                    "SELECT step, trigger, finding, reproduced, layers_identical = layers_compared, "
                    "double_value > 3.5e38, snapshot_step < step FROM replays",
                    rows, sizeof rows);
    CHECK(n == 1, "--lr 1e30: %d replays rows\n%s", n, rows);
    CHECK(strstr(rows, "|nan|real_divergence|1|1|1|1") != NULL,
          "--lr 1e30: expected a reproduced, bit-identical real divergence above FLT_MAX, got %s", rows);
    test_db_rows(dir, "SELECT message FROM replays", rows, sizeof rows);
    CHECK(strncmp(rows, "Real divergence: in float64", 27) == 0, "--lr 1e30 message: %s", rows);
    /* Every tensor of the step was compared in float64. */
    test_db_rows(dir, "SELECT COUNT(*) > 50, SUM(tensor = 'batch_variance') > 0 FROM replay_tensors", rows, sizeof rows);
    CHECK(strcmp(rows, "1|1\n") == 0, "--lr 1e30: replay_tensors rows: %s", rows);
    check_integrity(dir, "--lr 1e30");

    /* After the fact: the checkpoint is the initial one, so step 1 is
     * replayed from it and step 2 after rerunning step 1. */
    rc = test_run_args(binary, out, sizeof out, "replay", dir, "--step", "2", NULL);
    CHECK(rc == 0 && strstr(out, "Real divergence") != NULL, "nanprobe replay --step 2: exit %d\n%s", rc, out);
    rc = test_run_args(binary, out, sizeof out, "replay", dir, "--step", "1", "--precision", "float", NULL);
    CHECK(rc == 0 && strstr(out, "replays finite") != NULL, "nanprobe replay --step 1: exit %d\n%s", rc, out);
    /* The rerun of step 1 from the checkpoint gives the loss the run
     * recorded, bit for bit (step 2's is NaN: not stored, not compared). */
    n = test_db_rows(dir,
                "SELECT step, trigger, finding, float_rerun, double_rerun, loss_identical FROM replays ORDER BY rowid",
                rows, sizeof rows);
    CHECK(n == 3 && strstr(rows, "|nan|real_divergence|1|1|1\n2|command|real_divergence|1|1|NULL\n"
                                 "1|command|none|1|0|1\n") != NULL,
          "replays rows after the commands:\n%s", rows);
    rc = test_run_args(binary, out, sizeof out, "replay", dir, "--step", "9", NULL);
    CHECK(rc == 1 && strstr(out, "not covered") != NULL, "replay --step 9 of a 2-step run: exit %d\n%s", rc, out);
    rc = test_run_args(binary, out, sizeof out, "replay", dir, "--precision", "quad", NULL);
    CHECK(rc == 2, "replay --precision quad: exit %d\n%s", rc, out);
    rc = test_run_args(binary, out, sizeof out, "replay", base, NULL);
    CHECK(rc == 1 && strstr(out, base) != NULL, "replay of a directory without a run: exit %d\n%s", rc, out);
    check_integrity(dir, "after nanprobe replay");
}

static void test_maths_itself(const char *base)
{
    char dir[4200], data[4200], out[16384], rows[4096];
    snprintf(data, sizeof data, "%s/constant-data", base);
    snprintf(dir, sizeof dir, "%s/constant", base);
    write_clips(data, 5, -1);
    int rc = test_run_args(binary, out, sizeof out, "train", TINY, "--data", data, "--normalize", "standardize",
                           "--epochs=1", "--out", dir, "--no-report", NULL);
    CHECK(rc == 3, "constant clip: exit %d\n%s", rc, out);
    test_db_rows(dir, "SELECT finding, reproduced, operation FROM replays WHERE trigger = 'nan'", rows, sizeof rows);
    CHECK(strncmp(rows, "maths_itself|1|0/0 in --normalize standardize: clip 5 is constant", 65) == 0,
          "constant clip under standardize: %s", rows);
}

static void test_not_reproducible(const char *base)
{
    char dir[4200], out[16384], rows[4096], layer_id[64];
    snprintf(dir, sizeof dir, "%s/inject", base);
    int rc = test_run_args(binary, out, sizeof out, "train", TINY, "--train-clips=64", "--epochs=1",
                           "--snapshot-every=2", "--inject", "inf-forward@layer=conv3d_3,step=5", "--out", dir,
                           "--no-report", NULL);
    CHECK(rc == 3, "injected inf: exit %d\n%s", rc, out);
    test_db_rows(dir, "SELECT layer_id FROM layers WHERE name = 'conv3d_3'", layer_id, sizeof layer_id);
    test_db_rows(dir,
            "SELECT step, snapshot_step, finding, reproduced, rerun_event IS NULL, first_difference_layer FROM "
            "replays",
            rows, sizeof rows);
    char expected[128];
    snprintf(expected, sizeof expected, "5|4|not_reproducible|0|1|%.*s", (int)strcspn(layer_id, "\n"), layer_id);
    CHECK(strncmp(rows, expected, strlen(expected)) == 0, "injected inf: expected %s, got %s", expected, rows);
    CHECK(strstr(out, "Not reproducible") != NULL, "the run's note says it: %s", out);
}

/* scale-weights changes the state the step starts from: the replay applies
 * it in both precisions, so the step recurs and float64 overflows too. */
static void test_scaled_weights(const char *base)
{
    char dir[4200], out[16384], rows[4096];
    snprintf(dir, sizeof dir, "%s/scale", base);
    int rc = test_run_args(binary, out, sizeof out, "train", TINY, "--train-clips=64", "--epochs=1",
                           "--inject", "scale-weights@layer=conv3d_5,step=4,factor=1e30", "--out", dir, "--no-report",
                           NULL);
    CHECK(rc == 3, "scale-weights: exit %d\n%s", rc, out);
    test_db_rows(dir, "SELECT finding, reproduced, layers_identical = layers_compared, double_value > 3.5e38 FROM replays",
            rows, sizeof rows);
    CHECK(strcmp(rows, "real_divergence|1|1|1\n") == 0, "scale-weights x1e30: %s", rows);
}

static void test_provenance(const char *base)
{
    char dir[4200], data[4200], out[16384], rows[4096];
    snprintf(data, sizeof data, "%s/huge-data", base);
    snprintf(dir, sizeof dir, "%s/huge", base);
    write_clips(data, -1, 2);
    int rc = test_run_args(binary, out, sizeof out, "train", "--depth=18", "--width=8", "--clip=4x16x16x2",
                           "--classes=3", "--batch=4", "--val-clips=0", "--quiet", "--data", data, "--normalize",
                           "none", "--epochs=1", "--out", dir, "--no-report", NULL);
    CHECK(rc == 3, "planted overflow: exit %d\n%s", rc, out);
    /* 3e38 times a tap sum: whether the exact value passes FLT_MAX, or only
     * a float32 partial sum does, depends on the weights and on the BLAS
     * kernel's summation order.  Either way the finding must agree with the
     * float64 value of the element the sentinel met first. */
    test_db_rows(dir,
            "SELECT CASE WHEN abs(double_value) > 3.4028234663852886e38 THEN 'real_divergence' "
            "ELSE 'float32_artefact' END = finding, origin_tensor, dominant_channel, dominant_share > 0.999 "
            "FROM replays",
            rows, sizeof rows);
    CHECK(strcmp(rows, "1|output|1|1\n") == 0, "planted overflow in channel 1 (finding matches float64): %s", rows);
    test_db_rows(dir, "SELECT source_layer, channel FROM replay_terms WHERE rank = 0", rows, sizeof rows);
    CHECK(strcmp(rows, "0|1\n") == 0, "the largest term reads input channel 1: %s", rows);
    test_db_rows(dir, "SELECT input_npy FROM replays", rows, sizeof rows);
    char path[4400];
    snprintf(path, sizeof path, "%s/%.*s", dir, (int)strcspn(rows, "\n"), rows);
    npy_array a;
    error err;
    int opened = npy_open(&a, path, NULL, &err) == 0;
    CHECK(opened, "the input slice %s: %s", path, opened ? "" : err.message);
    if (opened) npy_close(&a);
}

static void test_shadow(const char *base)
{
    char dir[4200], out[16384], rows[4096];
    snprintf(dir, sizeof dir, "%s/shadow", base);
    int rc = test_run_args(binary, out, sizeof out, "train", TINY, "--train-clips=32", "--epochs=1",
                           "--shadow-every=2", "--out", dir, "--no-report", NULL);
    CHECK(rc == 0, "--shadow-every 2: exit %d\n%s", rc, out);
    int n = test_db_rows(dir, "SELECT step FROM replays WHERE trigger = 'shadow' ORDER BY step", rows, sizeof rows);
    CHECK(n == 4 && strcmp(rows, "2\n4\n6\n8\n") == 0, "--shadow-every 2 over 8 steps: %s", rows);
    /* float32 is measurably off float64, and by no more than its precision
     * allows over the reductions of this network (K <= 3*3*3*64 terms).
     * Left out: the biases of convs that feed a BatchNorm.  Their gradient
     * is 0 in exact arithmetic (float64 leaves 1e-17, float32 1e-9), so
     * Adam moves each bias by about +-lr on rounding noise, a different
     * noise in each precision: no relative error is meaningful there. */
    test_db_rows(dir,
            "SELECT MAX(relative_error) < 1e-3, MAX(relative_error) > 1e-9, SUM(relative_error IS NULL) FROM "
            "replay_tensors t JOIN replays USING (replay_id) WHERE trigger = 'shadow' AND t.tensor NOT IN ('bias', 'bias.grad')",
            rows, sizeof rows);
    CHECK(strcmp(rows, "1|1|0\n") == 0, "shadow errors (max < 1e-3, > 1e-9, none missing): %s", rows);
}

/* ---------------------------------------------- float32 artefact (library) */

typedef struct toy {
    model m;
    checkpoint_state state;
    float *input;
    int labels[2];
    adam_config adam;
} toy;

static int toy_step(void *context, long step, void (*ready)(void *, const replay_batch *), void *ready_context,
                    replay_batch *b, error *err)
{
    (void)err;
    toy *t = context;
    model_set_batch(&t->m, 2);
    memcpy(model_input(&t->m), t->input, t->m.layers[0].output.count * sizeof(float));
    *b = (replay_batch){.batch = 2, .epoch = 1, .labels = t->labels, .learning_rate = 1e-3f,
                        .adam_t = t->state.adam_t + 1};
    static const long ids[2] = {0, 1};
    b->sample_ids = ids;
    if (ready) ready(ready_context, b);
    model_forward(&t->m, 1);
    b->loss = loss_from_logits(2, t->m.config.classes, model_logits(&t->m), t->labels, model_logits_gradient(&t->m)).loss;
    model_backward(&t->m);
    optimizer_step(&t->m, &t->adam, 1e-3f, ++t->state.adam_t, 0.0f, NULL);
    t->state.step = step;
    return 0;
}

/* Stem kernel taps of +1e10 on input channel 0 and -1e10 on channel 1,
 * both channels 1e30: each product overflows float32 (1e40), while their
 * sum is 0 and float64 holds every product. */
static void test_float32_artefact(void)
{
    toy t;
    memset(&t, 0, sizeof t);
    model_config c = {.depth = 18, .width = 4, .clip = {4, 8, 8, 2}, .classes = 3, .batch = 2, .threads = 1};
    error err;
    if (model_build(&t.m, &c, &err)) {
        CHECK(0, "model_build: %s", err.message);
        return;
    }
    model_init_weights(&t.m, INIT_HE_NORMAL, 3);
    parameter *kernel = &t.m.params[t.m.layers[1].first_param];
    for (size_t i = 0; i < kernel->value.count; i++) {
        int cin = (int)(i / 4 % 2); /* (kd, kh, kw, Cin=2, Cout=4) */
        kernel->value.data[i] = cin == 0 ? 1e10f : -1e10f;
    }
    size_t n = t.m.layers[0].output.count;
    t.input = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) t.input[i] = 1e30f;
    t.labels[0] = 0, t.labels[1] = 2;
    t.adam = ADAM_KERAS_DEFAULTS;
    snapshot snap;
    CHECK(snapshot_init(&snap, &t.m, &err) == 0, "snapshot_init");
    snapshot_take(&snap, &t.m, &t.state);
    replay_stepper stepper = {.context = &t, .run_step = toy_step};
    replay_session s = {.m = &t.m, .state = &t.state, .snap = &snap, .stepper = &stepper, .adam = t.adam,
                        .threads = 1};
    replay_request q = {.step = 1, .trigger = REPLAY_TRIGGER_COMMAND, .precision = REPLAY_BOTH};
    replay_outcome o;
    int rc = replay_step(&s, &q, &o, &err);
    CHECK(rc == 0, "replay_step: %s", rc ? err.message : "");
    CHECK(o.finding == REPLAY_FINDING_FLOAT32_ARTEFACT, "finding %d (%s), expected float32 artefact", (int)o.finding,
          o.message);
    CHECK(strstr(o.message, "output of conv3d (stem.conv)") != NULL,
          "the artefact is the stem conv's: %s", o.message);
    /* Exactly 0 in exact arithmetic; an order that adds the positive
     * products first may leave up to K * eps * 343e40 ~ 3e29 (K = 686). */
    double v = shadow_value(s.shadow, SHADOW_OUTPUT, 1, -1, 0);
    CHECK(fabs(v) < 1e30, "float64 stem output %g, expected ~0", v);
    CHECK(t.state.step == 0, "the loop state is put back (step %ld)", t.state.step);
    replay_session_free(&s);
    snapshot_free(&snap);
    free(t.input);
    model_free(&t.m);
}

static void test_classify(void)
{
    CHECK(replay_classify(1, NAN, NAN) == REPLAY_FINDING_NOT_REPRODUCIBLE, "finite rerun: not reproducible first");
    CHECK(replay_classify(0, 1e45, 1e45) == REPLAY_FINDING_REAL_DIVERGENCE, "1e45 in float64: real divergence");
    CHECK(replay_classify(0, INFINITY, INFINITY) == REPLAY_FINDING_REAL_DIVERGENCE, "inf in float64 too");
    CHECK(replay_classify(0, NAN, INFINITY) == REPLAY_FINDING_REAL_DIVERGENCE, "NaN after a float64 overflow");
    CHECK(replay_classify(0, NAN, NAN) == REPLAY_FINDING_MATHS_ITSELF, "NaN from finite values: the maths");
    CHECK(replay_classify(0, 3.0e2, 0.0) == REPLAY_FINDING_FLOAT32_ARTEFACT, "modest in float64: float32's fault");
    CHECK(replay_classify(0, (double)FLT_MAX, 0.0) == REPLAY_FINDING_FLOAT32_ARTEFACT, "FLT_MAX itself fits");
}

int main(int argc, char **argv)
{
    binary = test_binary(argc, argv);
    char base[1024];
    if (test_temp_dir(base, sizeof base, "replay")) return 1;
    test_classify();
    test_float32_artefact();
    test_real_divergence(base);
    test_maths_itself(base);
    test_not_reproducible(base);
    test_scaled_weights(base);
    test_provenance(base);
    test_shadow(base);
    if (!getenv("NANPROBE_KEEP")) test_remove_tree(base);
    return test_finish();
}
