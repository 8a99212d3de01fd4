/* test_diagnose.c: the causal verdict on failures with known causes.
 *
 * Each case trains a small ResNet3D-18 (width 4, 8x32x32x3 clips, batch 4,
 * one thread) into its own directory with ./nanprobe train, then traces the
 * cause from the database and asserts the mechanism class and the root
 * (layer and statistic, see diagnose_cases.h).  Rates and scales are chosen
 * with a margin, so no case rests on one rounding of one BLAS kernel:
 *   - lr 1e20 and 1e6 move every weight by ~lr in Adam's first step, 5 to
 *     19 decades past the weights' scale (NaN at step 2);
 *   - lr 300 grows the un-normalized residual stream for 20-30 steps before
 *     BatchNorm's variance passes FLT_MAX (a blow-up would need the NaN
 *     within 3 steps of a jump);
 *   - faults are 1e30 or Inf, the data faults are NaN, constant or 1e30.
 * The whole program takes ~20 s on 2 cores. */
#include "diagnose_cases.h"

#include <sqlite3.h>

#include "cause_store.h"

static const diag_case cases[] = {
    {"lr-1e20", {"--lr=1e20", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_LAYER,
     "conv3d", "kernel.update"},
    {"lr-1e6", {"--lr=1e6", "--epochs=1", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_UPDATE_BLOWUP, ROOT_KERNEL_UPDATE,
     NULL, NULL},
    {"lr-300", {"--lr=300", "--epochs=4", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_GRADUAL_GROWTH, ROOT_OVERFLOW_INPUT,
     NULL, NULL},
    {"scale-conv3d_15", {"--epochs=1", "--inject=scale-weights@layer=conv3d_15,step=6,factor=1e30", NULL},
     DATA_SYNTHETIC, NULL, MECHANISM_INJECTED, ROOT_LAYER, "conv3d_15", "kernel"},
    {"scale-dense", {"--epochs=1", "--inject=scale-weights@layer=dense,step=3,factor=1e37", NULL}, DATA_SYNTHETIC,
     NULL, MECHANISM_INJECTED, ROOT_LAYER, "dense", "kernel"},
    {"inf-conv3d_5", {"--epochs=1", "--inject=inf-forward@layer=conv3d_5,step=4", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_INJECTED, ROOT_LAYER, "conv3d_5", "output"},
    {"nan-pixels", {"--epochs=1", NULL}, DATA_NAN_PIXELS, "scale", MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    {"constant-clip", {"--epochs=1", NULL}, DATA_CONSTANT_CLIP, "standardize", MECHANISM_DATA, ROOT_LAYER, "input_1",
     "output"},
    {"huge-input", {"--epochs=1", NULL}, DATA_HUGE, "none", MECHANISM_DATA, ROOT_LAYER, "input_1", "output"},
    {"healthy", {"--epochs=1", "--max-steps=20", NULL}, DATA_SYNTHETIC, NULL, MECHANISM_NONE, ROOT_NONE, NULL, NULL},
    {"healthy-glorot", {"--epochs=1", "--init=glorot_uniform", "--lr=0.01", NULL}, DATA_SYNTHETIC, NULL,
     MECHANISM_NONE, ROOT_NONE, NULL, NULL},
};

static void test_cases(const char *nanprobe, const char *base)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const diag_case *c = &cases[i];
        int seeds = c->root_rule == ROOT_KERNEL_UPDATE || c->root_rule == ROOT_OVERFLOW_INPUT ? 2 : 1;
        for (int seed = 1; seed <= seeds; seed++) {
            char why[1200];
            int ok = diag_check(nanprobe, base, c, seed, 1, why, sizeof why);
            CHECK(ok == 1, "%s seed %d: %s", c->label, seed, why);
        }
    }
}

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    char base[256];
    if (test_temp_dir(base, sizeof base, "diagnose")) {
        fprintf(stderr, "cannot create a temporary directory\n");
        return 1;
    }
    test_cases(nanprobe, base);
    test_remove_tree(base);
    return test_finish();
}
