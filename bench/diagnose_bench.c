/* diagnose_bench.c: `make diagnose-bench`, the causal verdict measured on a
 * larger set of failures with known causes than tests/test_diagnose.c pins:
 * learning-rate blow-ups and gradual divergences at several rates and
 * seeds, injected faults on layers and steps the tests do not use, data
 * faults met at different steps (the seed changes the batch order), and
 * healthy runs.  Prints each miss and "N of M causes named correctly"
 * (a case counts when both the mechanism class and the root are right);
 * runs that did not fail as planned are listed and left out of M.
 *
 * It also checks the replay of each failing step (replays row, trigger
 * nan): a planted transient fault (inf-forward, inf-backward, nan-input)
 * must read "not reproducible"; every other failure must recur bit for bit
 * and read the finding its cause implies: the maths itself for NaN pixels
 * and a constant clip under standardize, a real divergence for overflows.
 * A healthy run must have no replay, nor a run whose first NaN was met in
 * validation (issue 22: clips with NaN, or 1e36 x the training scale, or one
 * huge update that the moving statistics did not follow).
 * `diagnose_bench ./nanprobe PREFIX` runs only the cases whose label
 * starts with PREFIX (e.g. val-). */

#include "diagnose_cases.h"

static const diag_case bench_cases[] = {
    {"lr-1e6", {"--lr=1e6", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-1e12", {"--lr=1e12", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-1e20", {"--lr=1e20", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-1e20-glorot", {"--lr=1e20", "--epochs=1", "--init=glorot_uniform", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-1e20-no-l2", {"--lr=1e20", "--epochs=1", "--l2=0", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP,
     ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-1e6-batch-2", {"--lr=1e6", "--epochs=1", "--batch=2", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP,
     ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-300-no-l2", {"--lr=300", "--epochs=6", "--l2=0", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH,
     ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-600-probe-every-4", {"--lr=600", "--epochs=6", "--probe-every=4", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-500-width-8", {"--lr=500", "--epochs=6", "--width=8", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH,
     ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-1e20-depth-34", {"--lr=1e20", "--epochs=1", "--depth=34", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE, NULL, NULL},
    {"lr-500-depth-34", {"--lr=500", "--epochs=6", "--depth=34", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-500-batch-8", {"--lr=500", "--epochs=12", "--batch=8", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-600", {"--lr=600", "--epochs=6", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-400", {"--lr=400", "--epochs=6", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"lr-500", {"--lr=500", "--epochs=6", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT, NULL, NULL},
    {"scale-conv3d_5", {"--epochs=1", "--inject=scale-weights@layer=conv3d_5,step=4,factor=1e30", NULL},
     DATA_SYNTHETIC, NULL, MECHANISM_INJECTED, ROOT_LAYER, "conv3d_5", "kernel"},
    {"scale-conv3d_10", {"--epochs=1", "--inject=scale-weights@layer=conv3d_10,step=5,factor=1e30", NULL},
     DATA_SYNTHETIC, NULL, MECHANISM_INJECTED, ROOT_LAYER, "conv3d_10", "kernel"},
    {"scale-conv3d_19", {"--epochs=1", "--inject=scale-weights@layer=conv3d_19,step=3,factor=1e35", NULL},
     DATA_SYNTHETIC, NULL, MECHANISM_INJECTED, ROOT_LAYER, "conv3d_19", "kernel"},
    {"inf-activation_7", {"--epochs=1", "--inject=inf-forward@layer=activation_7,step=5", NULL}, DATA_SYNTHETIC,
     NULL, MECHANISM_INJECTED, ROOT_LAYER, "activation_7", "output"},
    {"inf-back-conv3d_8", {"--epochs=1", "--inject=inf-backward@layer=conv3d_8,step=6", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_INJECTED, ROOT_LAYER, "conv3d_8", "output_grad"},
    {"nan-input", {"--epochs=1", "--inject=nan-input@step=3,sample=1", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_INJECTED, ROOT_LAYER, "input_1", "output"},
    {"nan-pixels-none", {"--epochs=2", NULL}, DATA_NAN_PIXELS, "none", MECHANISM_DATA, ROOT_LAYER, "input_1",
     "output"},
    {"nan-pixels-standardize", {"--epochs=2", NULL}, DATA_NAN_PIXELS, "standardize", MECHANISM_DATA, ROOT_LAYER,
     "input_1", "output"},
    {"constant-clip", {"--epochs=2", NULL}, DATA_CONSTANT_CLIP, "standardize", MECHANISM_DATA, ROOT_LAYER, "input_1",
     "output"},
    {"huge-input", {"--epochs=2", NULL}, DATA_HUGE, "none", MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    /* issue 22: NaN first met in validation (inference mode), training finite */
    {"val-nan-pixels", {"--epochs=2", NULL}, DATA_VAL_NAN, NULL, MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    {"val-nan-pixels-standardize", {"--epochs=2", NULL}, DATA_VAL_NAN, "standardize", MECHANISM_DATA, ROOT_LAYER,
     "input_1", "output"},
    {"val-huge", {"--epochs=2", NULL}, DATA_VAL_HUGE, "none", MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    /* one Adam step of lr 1000-3000 moves every kernel by ~its norm; the moving statistics follow 1 % of it */
    {"val-lr-1000-one-step", {"--lr=1000", "--epochs=2", "--steps-per-epoch=1", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_INFERENCE_STATISTICS, ROOT_MOVING_STATISTICS, NULL, NULL},
    {"val-lr-3000-one-step", {"--lr=3000", "--epochs=2", "--steps-per-epoch=1", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_INFERENCE_STATISTICS, ROOT_MOVING_STATISTICS, NULL, NULL},
    {"healthy", {"--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_NONE, ROOT_NONE, NULL, NULL},
    {"healthy-lr-0.01", {"--epochs=1", "--lr=0.01", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_NONE, ROOT_NONE, NULL, NULL},
    {"healthy-constant-clip-per-image", {"--epochs=1", NULL}, DATA_CONSTANT_CLIP, "per_image", MECHANISM_NONE,
     ROOT_NONE, NULL, NULL},
};

#define BENCH_SEEDS 3

/* The replay finding a case's cause implies. */
static const char *expected_finding(const diag_case *c)
{
    /* a validation NaN has no step to replay */
    if (c->expected == MECHANISM_NONE || strncmp(c->label, "val-", 4) == 0) return NULL;
    if (strncmp(c->label, "inf-", 4) == 0 || strcmp(c->label, "nan-input") == 0) return "not_reproducible";
    if (c->data == DATA_NAN_PIXELS || c->data == DATA_CONSTANT_CLIP) return "maths_itself";
    return "real_divergence";
}

/* "finding|reproduced|identical" of the run's nan replay, or "" if none
 * (read through the run.db owner, like the report). */
static void replay_of(const char *base, const diag_case *c, int seed, char *out, size_t size)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s-s%d/run.db", base, c->label, seed);
    out[0] = '\0';
    rundata d;
    error err;
    if (rundata_load(&d, path, 0, 0, &err)) return;
    const replay_info *x = replay_set_nan(&d.replays);
    if (x)
        snprintf(out, size, "%s|%d|%d", replay_finding_names[x->finding], x->reproduced,
                 x->layers_compared >= 0 && x->layers_identical == x->layers_compared);
    rundata_free(&d);
}

/* 1 when the replay says what the planted cause implies. */
static int replay_ok(const diag_case *c, const char *got)
{
    const char *want = expected_finding(c);
    if (!want) return got[0] == '\0';
    char expected[64];
    snprintf(expected, sizeof expected, "%s|%d|%d", want, strcmp(want, "not_reproducible") != 0,
             strcmp(want, "not_reproducible") != 0);
    return strcmp(got, expected) == 0;
}

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    char base[256];
    if (test_temp_dir(base, sizeof base, "diagnose-bench")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    int right = 0, total = 0, not_run = 0, class_right = 0, replay_right = 0;
    const char *only = argc > 2 ? argv[2] : ""; /* a label prefix: run only those cases */
    for (size_t i = 0; i < sizeof bench_cases / sizeof bench_cases[0]; i++)
        for (int seed = 1; seed <= BENCH_SEEDS; seed++) {
            char why[1200];
            const diag_case *c = &bench_cases[i];
            if (strncmp(c->label, only, strlen(only)) != 0) continue;
            int ok = diag_check(nanprobe, base, c, seed, 0, why, sizeof why);
            if (ok < 0 || strncmp(why, "train exited", 12) == 0) {
                printf("  not run as planned: %s seed %d: %s\n", c->label, seed, why);
                not_run++;
                continue;
            }
            total++;
            right += ok;
            class_right += strstr(why, "class ") == why &&
                           strncmp(why + 6, mechanism_names[c->expected], strlen(mechanism_names[c->expected])) == 0;
            if (!ok) printf("  wrong: %s seed %d: %s\n", c->label, seed, why);
            char replay[128];
            replay_of(base, c, seed, replay, sizeof replay);
            if (replay_ok(c, replay)) replay_right++;
            else printf("  replay: %s seed %d: got '%s', expected %s\n", c->label, seed, replay,
                        expected_finding(c) ? expected_finding(c) : "no replay");
        }
    test_remove_tree(base);
    printf("%d of %d causes named correctly (class and root); class right in %d of %d; %d runs did not fail as "
           "planned\n",
           right, total, class_right, total, not_run);
    printf("%d of %d replays as the cause implies (finding, reproduced, bit-identical)\n", replay_right, total);
    return 0;
}
