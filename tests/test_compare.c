/* test_compare.c: known answers for the comparison of ablation arms and
 * the init x L2 x Adam mechanism measurements (issue 23):
 *   - the data/padding tap split of a convolution against brute force;
 *   - the tap measurements against a plain double-precision loop;
 *   - arms that differ by a planted cause (--inject scale-weights): the
 *     comparison names the layer, the statistic and the onset;
 *   - two seeds of one setting (ablate --seeds 2): nothing separates them;
 *   - the init x L2 grid: the L2/data ratio and the data-tap shrinkage, with
 *     numbers, and padding-only taps never blamed;
 *   - a failing run with the L2 x Adam run-up: its verdict says so.
 * The networks are tiny (ResNet3D-18, width 4, 4x16x16 clips): seconds. */
#include "test_util.h"

#include <math.h>

#include "kernel_taps.h"

#define TINY "--depth=18", "--width=4", "--clip=4x16x16x3", "--batch=2", "--classes=3", "--train-clips=16", \
             "--val-clips=4", "--threads=1", "--snapshot-every=0", "--quiet"

/* Brute force: tap (a, b, c) meets data iff some output cell's window puts
 * it on an input cell. */
static int brute_force_taps(const conv3d_geometry *g, unsigned char *is_data)
{
    const int kd = g->kernel[0], kh = g->kernel[1], kw = g->kernel[2];
    int count = 0;
    for (int a = 0; a < kd; a++)
        for (int b = 0; b < kh; b++)
            for (int c = 0; c < kw; c++) {
                int hit = 0;
                for (int od = 0; od < g->out[0] && !hit; od++)
                    for (int oh = 0; oh < g->out[1] && !hit; oh++)
                        for (int ow = 0; ow < g->out[2] && !hit; ow++) {
                            int d = od * g->stride[0] - g->pad[0] + a, h = oh * g->stride[1] - g->pad[1] + b,
                                w = ow * g->stride[2] - g->pad[2] + c;
                            hit = d >= 0 && d < g->in[0] && h >= 0 && h < g->in[1] && w >= 0 && w < g->in[2];
                        }
                is_data[(a * kh + b) * kw + c] = (unsigned char)hit;
                count += hit;
            }
    return count;
}

static void test_tap_split_brute_force(void)
{
    int cases = 0, mismatches = 0;
    for (int in = 1; in <= 6; in++)
        for (int k = 1; k <= 4; k++)
            for (int s = 1; s <= 3; s++)
                for (int pad = 0; pad < 2; pad++) {
                    /* Axes of different sizes: the split is per axis, the test is not. */
                    const int size[4] = {in, in + 1, in > 1 ? in - 1 : 1, 2}, kernel[3] = {k, k, k > 1 ? k - 1 : 1},
                              stride[3] = {s, 1, s};
                    conv3d_geometry g;
                    error err;
                    if (conv3d_geometry_init(&g, size, 3, kernel, stride, pad ? PADDING_SAME : PADDING_VALID, &err))
                        continue;
                    unsigned char fast[KERNEL_TAPS_MAX], slow[KERNEL_TAPS_MAX];
                    int n_fast = kernel_taps_split(&g, fast), n_slow = brute_force_taps(&g, slow);
                    int taps = kernel[0] * kernel[1] * kernel[2];
                    cases++;
                    if (n_fast != n_slow || memcmp(fast, slow, (size_t)taps)) mismatches++;
                }
    CHECK(cases > 100, "only %d geometries tried", cases);
    CHECK(mismatches == 0, "%d of %d geometries split differently from brute force", mismatches, cases);

    /* The seed's case: a 3x3x3 'same' conv over a 1x1x1 input (stage 4 at
     * depth 1): only the centre tap meets data; 26 are padding-only.  At
     * 1x7x7 (depth 1, 7x7 plane), 9 of 27 taps meet data. */
    const int one[4] = {1, 1, 1, 8}, plane[4] = {1, 7, 7, 8}, k3[3] = {3, 3, 3}, s1[3] = {1, 1, 1};
    conv3d_geometry g;
    error err;
    unsigned char is_data[KERNEL_TAPS_MAX];
    conv3d_geometry_init(&g, one, 8, k3, s1, PADDING_SAME, &err);
    CHECK(kernel_taps_split(&g, is_data) == 1 && is_data[13] == 1, "1x1x1 input: only the centre tap meets data");
    conv3d_geometry_init(&g, plane, 8, k3, s1, PADDING_SAME, &err);
    CHECK(kernel_taps_split(&g, is_data) == 9 && is_data[9 + 4] && !is_data[4] && !is_data[22],
          "depth 1: 9 of 27 taps (the middle depth slice) meet data");
}

/* The fused pass's tap sums (fed chunk by chunk, as optimizer.c does, with
 * chunks that straddle taps) and kernel_taps_finish against a plain loop
 * in double on a small kernel. */
static void test_tap_measure(void)
{
    enum { TAPS = 4, PER_TAP = 1500, CHUNK = 1024 }; /* PER_TAP: not a multiple of the chunk or the lanes */
    static float old[TAPS * PER_TAP], w[TAPS * PER_TAP], g[TAPS * PER_TAP], step[TAPS * PER_TAP];
    static const unsigned char is_data[TAPS] = {1, 0, 1, 0};
    const float twice_lambda = 2e-2f;
    unsigned seed = 12345;
    for (int i = 0; i < TAPS * PER_TAP; i++) {
        seed = seed * 1103515245u + 12345u;
        float r = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
        old[i] = r;
        step[i] = 1e-3f * (float)((i % 5) - 2) + 2e-4f * r;
        w[i] = old[i] - step[i];
        g[i] = is_data[i / PER_TAP] ? 0.03f * r * (float)((i % 7) - 3) : 0.0f;
    }
    double old2 = 0, new2 = 0, pad2 = 0, step2 = 0, grad2 = 0, dominant = 0, dot = 0;
    for (int i = 0; i < TAPS * PER_TAP; i++) {
        if (!is_data[i / PER_TAP]) {
            pad2 += (double)w[i] * w[i];
            continue;
        }
        old2 += (double)old[i] * old[i], new2 += (double)w[i] * w[i], step2 += (double)step[i] * step[i];
        grad2 += (double)g[i] * g[i], dot += (double)old[i] * w[i];
        dominant += fabs(twice_lambda * old[i]) > fabs(g[i]);
    }
    tap_sums sums = {.is_data = is_data, .per_tap = PER_TAP};
    tap_sums_clear(&sums);
    for (size_t start = 0; start < TAPS * PER_TAP; start += CHUNK) {
        size_t n = TAPS * PER_TAP - start < CHUNK ? TAPS * PER_TAP - start : CHUNK;
        tap_sums_add(&sums, old + start, w + start, step + start, g + start, n, start, twice_lambda);
    }
    kernel_tap_metrics k;
    kernel_taps_finish(&sums, TAPS, twice_lambda, &k);
    double angle = acos(dot / sqrt(old2 * new2));
    /* Float lanes of <= 64 elements summed in double: 1e-5 relative is far
     * above their rounding and far below any difference that matters. */
    CHECK(k.data_taps == 2 && k.padding_taps == 2, "taps %d data, %d padding", k.data_taps, k.padding_taps);
    CHECK(fabs(k.data_sum_squares / new2 - 1) < 1e-5, "data ||w||^2 %.9g vs %.9g", k.data_sum_squares, new2);
    CHECK(fabs(k.padding_sum_squares / pad2 - 1) < 1e-5, "padding ||w||^2 %.9g vs %.9g", k.padding_sum_squares, pad2);
    CHECK(fabs(k.data_update_ratio / sqrt(step2 / old2) - 1) < 1e-4, "update ratio %.9g vs %.9g",
          k.data_update_ratio, sqrt(step2 / old2));
    /* acos near 1 keeps only ~1e-8/angle relative accuracy in double. */
    CHECK(fabs(k.data_angle / angle - 1) < 1e-3 && k.data_angle > 0, "angle %.9g vs %.9g", k.data_angle, angle);
    CHECK(fabs(k.data_l2_grad_ratio / (twice_lambda * sqrt(old2 / grad2)) - 1) < 1e-4, "L2/data %.9g vs %.9g",
          k.data_l2_grad_ratio, twice_lambda * sqrt(old2 / grad2));
    CHECK(fabs(k.l2_dominant_fraction - dominant / (2.0 * PER_TAP)) < 1e-9, "dominant fraction %.6g vs %.6g",
          k.l2_dominant_fraction, dominant / (2.0 * PER_TAP));
}

static char *read_verdict(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/verdict.txt", dir);
    return test_read_file(path, NULL);
}

/* The first numbered line of the verdict ("  1. ..."), or "". */
static void first_separating(const char *verdict, char *line, size_t size)
{
    const char *p = verdict ? strstr(verdict, "  1. ") : NULL;
    line[0] = '\0';
    if (!p) return;
    const char *end = strchr(p, '\n');
    snprintf(line, size, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
}

/* Same seed, same settings; one arm's conv3d_5 kernel is scaled x1000 at
 * step 10.  Before it the two runs are the same run. */
static void test_planted_cause(const char *nanprobe, const char *root)
{
    char a[4200], b[4200], cmp[4200], da[4300], db[4300], out[8192];
    snprintf(a, sizeof a, "%s/plain", root);
    snprintf(b, sizeof b, "%s/planted", root);
    snprintf(cmp, sizeof cmp, "%s/compare", root);
    snprintf(da, sizeof da, "--out=%s", a);
    snprintf(db, sizeof db, "--out=%s", b);
    int rc1 = test_run_args(nanprobe, out, sizeof out, "train", TINY, "--epochs=3", "--no-report", da, NULL);
    int rc2 = test_run_args(nanprobe, out, sizeof out, "train", TINY, "--epochs=3", "--no-report", db,
                            "--inject=scale-weights@layer=conv3d_5,step=10,factor=1000", NULL);
    CHECK(rc1 == 0 && rc2 == 0, "planted: the two runs trained (%d, %d): %s", rc1, rc2, out);
    snprintf(da, sizeof da, "%s/run.db", a);
    snprintf(db, sizeof db, "%s/run.db", b);
    int rc = test_run_args(nanprobe, out, sizeof out, "compare", da, db, "-o", cmp, NULL);
    CHECK(rc == 0, "compare exit %d: %s", rc, out);
    char *verdict = read_verdict(cmp), line[1024];
    first_separating(verdict, line, sizeof line);
    CHECK(verdict && strstr(verdict, "No arm failed"), "planted: no arm failed:\n%s", verdict ? verdict : "(none)");
    CHECK(strstr(line, "of conv3d_5:") != NULL, "planted: the first separating statistic is conv3d_5's:\n%s",
          verdict ? verdict : "(none)");
    CHECK(strstr(line, "separated from step 10 on") != NULL, "planted: onset step 10: %s", line);
    /* The statistic is named with its database name, and the gap is at
     * least the planted factor (a ratio involving w^2 shows ~1000^2). */
    const char *gap = strstr(line, ") at step") ? strstr(line, " (x") : NULL; /* " (x5.6e+05 higher) at step" */
    double factor = 0;
    CHECK(strstr(line, "(kernel") || strstr(line, "(output"), "planted: the statistic's name: %s", line);
    CHECK(gap && sscanf(gap, " (x%lf", &factor) == 1 && factor >= 500, "planted: gap x%g: %s", factor, line);
    free(verdict);
}

/* ablate --seeds 2 of one setting: nothing separates the two seeds. */
static void test_two_seeds(const char *nanprobe, const char *root)
{
    char dir[4200], out_option[4300], out[8192];
    snprintf(dir, sizeof dir, "%s/seeds", root);
    snprintf(out_option, sizeof out_option, "--out=%s", dir);
    int rc = test_run_args(nanprobe, out, sizeof out, "ablate", "--arm=init=he_normal,l2=1e-4", "--seeds=2", TINY,
                           "--epochs=2", "--no-report", out_option, NULL);
    CHECK(rc == 0, "ablate --seeds 2: exit %d: %s", rc, out);
    CHECK(strstr(out, "seed=1") && strstr(out, "seed=2"), "ablate names the seeds of its arms: %s", out);
    char compare_dir[4300];
    snprintf(compare_dir, sizeof compare_dir, "%s/compare", dir);
    char *verdict = read_verdict(compare_dir);
    CHECK(verdict && strstr(verdict, "nothing separates them beyond seed spread"), "two seeds:\n%s",
          verdict ? verdict : "(none)");
    free(verdict);
}

/* The section of the verdict about one setting (from its header to the
 * next header or the Seeds line), copied into out. */
static void setting_section(const char *verdict, const char *setting, char *out, size_t size)
{
    char header[256];
    snprintf(header, sizeof header, "What separates %s ", setting);
    const char *p = verdict ? strstr(verdict, header) : NULL;
    out[0] = '\0';
    if (!p) return;
    const char *end = strstr(p + 1, "\nWhat separates ");
    if (!end) end = strstr(p, "\nSeeds:");
    snprintf(out, size, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
}

/* The seed's grid, init x L2, with a strong lambda and lr so that the
 * mechanism shows within 32 steps of a tiny network: the He+L2 arm is set
 * apart by the L2/data ratio of its data taps (He starts larger, and the
 * ratio scales with ||w||^2), with numbers; the data-tap shrinkage of that
 * layer is given with numbers; padding-only taps are never blamed. */
static void test_init_l2_grid(const char *nanprobe, const char *root)
{
    char dir[4200], out_option[4300], out[8192];
    snprintf(dir, sizeof dir, "%s/grid", root);
    snprintf(out_option, sizeof out_option, "--out=%s", dir);
    int rc = test_run_args(nanprobe, out, sizeof out, "ablate", "--grid=init=he_normal,glorot_uniform",
                           "--grid=l2=0,1e-2", TINY, "--lr=1e-2", "--epochs=4", "--no-report", out_option, NULL);
    CHECK(rc == 0, "ablate init x l2: exit %d: %s", rc, out);
    char compare_dir[4300];
    snprintf(compare_dir, sizeof compare_dir, "%s/compare", dir);
    char *verdict = read_verdict(compare_dir);
    static char section[16384];
    setting_section(verdict, "init=he_normal l2=0.01 lr=0.01", section, sizeof section);
    const char *ratio = strstr(section, "(kernel.data_l2_grad_ratio) of ");
    if (!ratio) ratio = strstr(section, "(kernel.l2_dominant_fraction) of ");
    CHECK(ratio && strstr(ratio, "higher) at step"), "He+L2: a higher L2/data ratio separates it:\n%s",
          verdict ? verdict : "(none)");
    double here = 0, there = 0;
    const char *shrink = strstr(section, "Data-tap shrinkage of conv3d");
    CHECK(shrink && sscanf(strstr(shrink, ": x"), ": x%lf of its first norm here against x%lf", &here, &there) == 2 &&
              here > 0 && there > 0,
          "He+L2: the data-tap shrinkage with numbers:\n%s", section);
    /* Padding-only taps: never a numbered (separating) line. */
    int blamed = 0;
    for (const char *p = verdict; p && (p = strstr(p, "\n  ")) != NULL; p++)
        if (p[3] >= '1' && p[3] <= '9' && p[4] == '.') {
            const char *end = strchr(p + 1, '\n');
            const char *pad = strstr(p, "padding_norm");
            blamed |= pad && (!end || pad < end);
        }
    CHECK(!blamed, "padding-only taps are blamed:\n%s", verdict ? verdict : "(none)");
    CHECK(!strstr(section, "Mechanism:") || (strstr(section, "shrinkage of") && strstr(section, "separated from step")),
          "the mechanism is named only with the shrinkage separated:\n%s", section);
    free(verdict);
}

/* A failing run whose data taps L2 drove down (lambda 1, lr 1e-2: Adam
 * moves every coordinate ~lr toward 0, far past He's ~0.14), with a NaN
 * planted at step 20: its verdict carries the L2 x Adam line. */
static void test_failing_run_evidence(const char *nanprobe, const char *root)
{
    char dir[4200], out_option[4300], out[8192], path[4300];
    snprintf(dir, sizeof dir, "%s/l2run", root);
    snprintf(out_option, sizeof out_option, "--out=%s", dir);
    int rc = test_run_args(nanprobe, out, sizeof out, "train", TINY, "--l2=1", "--lr=1e-2", "--epochs=3", out_option,
                           "--inject=inf-forward@layer=conv3d_5,step=20", NULL);
    CHECK(rc == 3, "the planted NaN stops the run (exit %d): %s", rc, out);
    snprintf(path, sizeof path, "%s/report/verdict.txt", dir);
    char *verdict = test_read_file(path, NULL);
    const char *line = verdict ? strstr(verdict, "L2 x Adam: the data taps of ") : NULL;
    double shrunk = 0, share = 0;
    CHECK(line && sscanf(strstr(line, "to x"), "to x%lf", &shrunk) == 1 && shrunk <= 0.5 &&
              sscanf(strstr(line, "> |g| on "), "> |g| on %lf", &share) == 1 && share >= 50,
          "the L2 x Adam evidence with its numbers:\n%s", verdict ? verdict : "(none)");
    CHECK(line && strstr(line, "Fix: use decoupled weight decay (AdamW)"), "the fix: %s", line ? line : "(none)");
    free(verdict);

    /* Against the healthy run of the planted-cause test: which arm failed, when, in which pass. */
    char healthy[4300], failing[4300], cmp[4300];
    snprintf(healthy, sizeof healthy, "%s/plain/run.db", root);
    snprintf(failing, sizeof failing, "%s/run.db", dir);
    snprintf(cmp, sizeof cmp, "%s/compare-failing", root);
    rc = test_run_args(nanprobe, out, sizeof out, "compare", healthy, failing, "-o", cmp, NULL);
    verdict = read_verdict(cmp);
    CHECK(rc == 0 && verdict && strstr(verdict, "Failed: arm 2 (") &&
              strstr(verdict, "training +inf at step 20 (epoch 3), output of conv3d_5 (forward pass)") &&
              strstr(verdict, "Healthy: arm 1 ("),
          "the failing arm, its step and pass (exit %d):\n%s", rc, verdict ? verdict : out);
    free(verdict);
}

/* Runs without validation clips (--val-clips=0) compare without the
 * validation figures: nothing to plot is no figure, not a gnuplot error. */
static void test_no_validation(const char *nanprobe, const char *root)
{
    char a[4200], b[4200], cmp[4200], oa[4300], ob[4300], out[8192];
    snprintf(a, sizeof a, "%s/noval1", root);
    snprintf(b, sizeof b, "%s/noval2", root);
    snprintf(cmp, sizeof cmp, "%s/noval-compare", root);
    snprintf(oa, sizeof oa, "--out=%s", a);
    snprintf(ob, sizeof ob, "--out=%s", b);
    int rc1 = test_run_args(nanprobe, out, sizeof out, "train", TINY, "--val-clips=0", "--epochs=2", "--no-report", oa,
                            NULL);
    int rc2 = test_run_args(nanprobe, out, sizeof out, "train", TINY, "--val-clips=0", "--epochs=2", "--no-report", ob,
                            "--seed=2", NULL);
    CHECK(rc1 == 0 && rc2 == 0, "no validation: the two runs trained (%d, %d): %s", rc1, rc2, out);
    snprintf(oa, sizeof oa, "%s/run.db", a);
    snprintf(ob, sizeof ob, "%s/run.db", b);
    int rc = test_run_args(nanprobe, out, sizeof out, "compare", oa, ob, "-o", cmp, NULL);
    CHECK(rc == 0 && !strstr(out, "gnuplot failed"), "compare of runs without validation: exit %d: %s", rc, out);
    char path[4400];
    snprintf(path, sizeof path, "%s/compare_val_loss.gp", cmp);
    CHECK(!test_is_file(path), "a validation-loss figure was made for runs without validation");
    snprintf(path, sizeof path, "%s/verdict.txt", cmp);
    CHECK(test_is_file(path), "no verdict.txt for runs without validation");
}

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    test_tap_split_brute_force();
    test_tap_measure();
    char root[256];
    if (test_temp_dir(root, sizeof root, "compare") == 0) {
        test_planted_cause(nanprobe, root);
        test_two_seeds(nanprobe, root);
        test_init_l2_grid(nanprobe, root);
        test_failing_run_evidence(nanprobe, root);
        test_no_validation(nanprobe, root);
        test_remove_tree(root);
    } else {
        CHECK(0, "no temporary directory");
    }
    return test_finish();
}
