/* test_model.c: the seed's ResNet3D-34 at full size: Keras names and
 * structural paths in creation order, output shapes, parameter counts, and
 * one forward and backward pass at 16x112x112x3 (batch 2) that must be
 * finite everywhere with a loss near ln(classes) at initialization. */
#include <math.h>
#include <omp.h>

#include "finite.h"
#include "loss.h"
#include "model.h"
#include "rng.h"
#include "summary.h"
#include "test_util.h"

static int find_path(const model *m, const char *path)
{
    for (int i = 0; i < m->layer_count; i++)
        if (strcmp(m->layers[i].path, path) == 0) return i;
    return -1;
}

static void expect_layer(const model *m, const char *path, const char *name, int d, int h, int w, int c)
{
    int i = find_path(m, path);
    CHECK(i >= 0, "no layer at %s", path);
    if (i < 0) return;
    const layer *l = &m->layers[i];
    CHECK(strcmp(l->name, name) == 0, "%s is named %s, Keras would call it %s", path, l->name, name);
    if (d > 0)
        CHECK(l->output.shape[1] == d && l->output.shape[2] == h && l->output.shape[3] == w && l->output.shape[4] == c,
              "%s has shape (%d, %d, %d, %d), expected (%d, %d, %d, %d)", path, l->output.shape[1], l->output.shape[2],
              l->output.shape[3], l->output.shape[4], d, h, w, c);
}

static size_t count_nonfinite(const float *x, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !float_is_finite(x[i]);
    return bad;
}

static void test_structure(void)
{
    /* Parameter counts of every depth (10 classes) follow from the builder's
     * rules; ResNet3D-34's trainable count is the one Keras reports. */
    model m;
    error err;
    model_config c = {.depth = 34, .width = 64, .clip = {16, 112, 112, 3}, .classes = 10, .batch = 1, .threads = 1};
    if (model_build(&m, &c, &err)) {
        CHECK(0, "build: %s", err.message);
        return;
    }
    CHECK(m.trainable_count == 63525386, "ResNet3D-34 trainable parameters %zu, expected 63,525,386",
          m.trainable_count);
    int bn = 0, conv = 0;
    for (int i = 0; i < m.layer_count; i++) {
        bn += m.layers[i].kind == LAYER_BATCHNORM;
        conv += m.layers[i].kind == LAYER_CONV3D;
    }
    CHECK(m.non_trainable_count == 15232, "non-trainable (moving statistics) %zu, expected 15,232",
          m.non_trainable_count);
    CHECK(conv == 36 && bn == 33, "%d convs and %d BN layers, expected 36 (33 + 3 shortcuts) and 33", conv, bn);

    /* Names in the seed's creation order (stem, then per block BN-ReLU-conv
     * twice, the shortcut conv after the residual, then add), and the shapes
     * of the spec: 8x56x56, 4x28x28, 2x14x14, 1x7x7, 1x4x4. */
    expect_layer(&m, "input", "input_1", 16, 112, 112, 3);
    expect_layer(&m, "stem.conv", "conv3d", 8, 56, 56, 64);
    expect_layer(&m, "stem.bn", "batch_normalization", 8, 56, 56, 64);
    expect_layer(&m, "stem.relu", "activation", 8, 56, 56, 64);
    expect_layer(&m, "stem.pool", "max_pooling3d", 4, 28, 28, 64);
    expect_layer(&m, "stage1.block1.conv1", "conv3d_1", 4, 28, 28, 64);
    expect_layer(&m, "stage1.block1.bn2", "batch_normalization_1", 0, 0, 0, 0);
    expect_layer(&m, "stage1.block1.add", "add", 4, 28, 28, 64);
    expect_layer(&m, "stage2.block1.bn1", "batch_normalization_6", 4, 28, 28, 64);
    expect_layer(&m, "stage2.block1.conv1", "conv3d_7", 2, 14, 14, 128);
    expect_layer(&m, "stage2.block1.bn2", "batch_normalization_7", 0, 0, 0, 0);
    expect_layer(&m, "stage2.block1.relu2", "activation_7", 0, 0, 0, 0);
    expect_layer(&m, "stage2.block1.shortcut", "conv3d_9", 2, 14, 14, 128);
    expect_layer(&m, "stage2.block1.add", "add_3", 2, 14, 14, 128);
    expect_layer(&m, "stage3.block1.conv1", "conv3d_16", 1, 7, 7, 256);
    expect_layer(&m, "stage4.block1.conv1", "conv3d_29", 1, 4, 4, 512);
    expect_layer(&m, "stage4.block1.shortcut", "conv3d_31", 1, 4, 4, 512);
    expect_layer(&m, "stage4.block3.add", "add_15", 1, 4, 4, 512);
    expect_layer(&m, "head.bn", "batch_normalization_32", 1, 4, 4, 512);
    expect_layer(&m, "head.relu", "activation_32", 1, 4, 4, 512);
    expect_layer(&m, "head.avgpool", "average_pooling3d", 1, 1, 1, 512);
    expect_layer(&m, "head.flatten", "flatten", 0, 0, 0, 0);
    expect_layer(&m, "head.dense", "dense", 0, 0, 0, 0);
    /* The shortcut is a 1x1x1 'valid' conv with stride ceil(in/out) = 2 on
     * the block input (the previous add, not its BN). */
    int s = find_path(&m, "stage2.block1.shortcut");
    if (s >= 0) {
        const layer *l = &m.layers[s];
        CHECK(l->conv.kernel[0] == 1 && l->conv.stride[0] == 2 && l->conv.stride[1] == 2 &&
                  l->conv.padding == PADDING_VALID && strcmp(m.layers[l->inputs[0]].name, "add_2") == 0,
              "stage2 shortcut geometry or input wrong");
    }
    /* Depth 1 stays 1 after stage 3: stride ceil(1/1) = 1 in depth. */
    s = find_path(&m, "stage4.block1.shortcut");
    if (s >= 0) CHECK(m.layers[s].conv.stride[0] == 1 && m.layers[s].conv.stride[1] == 2, "stage4 shortcut strides");
    model_free(&m);

    /* Bottleneck variants: the first block of stage 1 gets a 1x1x1
     * projection shortcut (64 -> 256 channels), stride 1. */
    c.depth = 50;
    if (model_build(&m, &c, &err) == 0) {
        int p = find_path(&m, "stage1.block1.shortcut");
        CHECK(p >= 0 && m.layers[p].conv.stride[0] == 1 && m.layers[p].output.shape[4] == 256,
              "ResNet3D-50 stage1 projection shortcut");
        CHECK(find_path(&m, "stage1.block1.conv3") >= 0 && find_path(&m, "stage1.block1.bn1") < 0,
              "bottleneck first-block exception");
        model_free(&m);
    }
    const int depths[] = {18, 101, 152};
    for (int k = 0; k < 3; k++) {
        c.depth = depths[k];
        CHECK(model_build(&m, &c, &err) == 0, "ResNet3D-%d builds: %s", depths[k], err.message);
        model_free(&m);
    }
    c.depth = 20;
    CHECK(model_build(&m, &c, &err) != 0 && strstr(err.message, "unsupported depth 20"), "depth 20 is refused");
}

static void test_full_size_pass(void)
{
    const int side = 112;
    model m;
    error err;
    model_config c = {.depth = 34, .width = 64, .clip = {16, side, side, 3}, .classes = 10, .batch = 2,
                      .threads = omp_get_max_threads()};
    if (model_build(&m, &c, &err)) {
        CHECK(0, "build: %s", err.message);
        return;
    }
    model_init_weights(&m, INIT_HE_NORMAL, 1);
    rng r;
    rng_seed(&r, 1, 77);
    float *x = model_input(&m);
    for (size_t i = 0; i < m.layers[0].output.count; i++) x[i] = (float)rng_uniform(&r);
    int labels[2] = {3, 7};
    double start = omp_get_wtime();
    model_forward(&m, 1);
    loss_result lr = loss_from_logits(2, 10, model_logits(&m), labels, model_logits_gradient(&m));
    model_backward(&m);
    double seconds = omp_get_wtime() - start;
    size_t bad_outputs = 0, bad_gradients = 0;
    for (int i = 0; i < m.layer_count; i++) {
        bad_outputs += count_nonfinite(m.layers[i].output.data, m.layers[i].output.count);
        if (m.layers[i].output_gradient)
            bad_gradients += count_nonfinite(m.layers[i].output_gradient, m.layers[i].output.count);
    }
    for (int p = 0; p < m.param_count; p++)
        if (m.params[p].trainable) bad_gradients += count_nonfinite(m.params[p].gradient, m.params[p].value.count);
    CHECK(bad_outputs == 0 && bad_gradients == 0, "%zu non-finite outputs, %zu non-finite gradients", bad_outputs,
          bad_gradients);
    /* At init the head sees BN-normalized, ReLU'd, averaged features f
     * (E[f^2] ~ 0.3) through a he_normal Dense over 512 inputs, so each logit
     * has std ~sqrt(2 E[f^2]) ~ 0.8: the cross-entropy of one sample is
     * ln(10) = 2.303 give or take ~1, and a batch of two stays within that. */
    double logit_sq = 0.0;
    for (int i = 0; i < 20; i++) logit_sq += (double)model_logits(&m)[i] * model_logits(&m)[i];
    CHECK(fabs(lr.loss - log(10.0)) < 1.0, "initial loss %.4f, expected within 1 of ln(10) = 2.3026", lr.loss);
    CHECK(sqrt(logit_sq / 20) < 2.0, "initial logits rms %.3f: the head is not at the scale he_normal gives",
          sqrt(logit_sq / 20));
    const layer *logits = &m.layers[m.logits_layer];
    CHECK(logits->output.shape[0] == 2 && logits->output.shape[1] == 10, "logits shape");
    double penalty = model_l2_penalty(&m, 1e-4f);
    printf("  ResNet3D-34 16x%dx%dx3 batch 2: forward+backward %.2f s, loss %.4f (ln 10 = 2.3026), "
           "logits rms %.3f, L2 penalty at init %.3f\n",
           side, side, seconds, lr.loss, sqrt(logit_sq / 20), penalty);
    model_free(&m);
}

/* Every (output cell, tap) pair of one conv, tried against the input's
 * bounds one by one: the count conv3d_mac_count derives per axis. */
static void brute_force_macs(const conv3d_geometry *g, unsigned long long *nominal, unsigned long long *useful)
{
    unsigned long long pairs = 0, inside = 0;
    for (int od = 0; od < g->out[0]; od++)
        for (int oh = 0; oh < g->out[1]; oh++)
            for (int ow = 0; ow < g->out[2]; ow++)
                for (int kd = 0; kd < g->kernel[0]; kd++)
                    for (int kh = 0; kh < g->kernel[1]; kh++)
                        for (int kw = 0; kw < g->kernel[2]; kw++) {
                            int id = od * g->stride[0] - g->pad[0] + kd, ih = oh * g->stride[1] - g->pad[1] + kh;
                            int iw = ow * g->stride[2] - g->pad[2] + kw;
                            pairs++;
                            inside += id >= 0 && id < g->in[0] && ih >= 0 && ih < g->in[1] && iw >= 0 && iw < g->in[2];
                        }
    unsigned long long channels = (unsigned long long)g->in[3] * (unsigned long long)g->out[3];
    *nominal = pairs * channels;
    *useful = inside * channels;
}

/* The summary's conv MAC line against a brute-force count over the seed
 * network, and the nominal total against the bench's independent figure
 * (bench_torch.py: 13.32 GFLOP per clip forward = 6.66 GMAC). */
static void test_conv_mac_count(void)
{
    model m;
    error err;
    model_config c = {.depth = 34, .width = 64, .clip = {16, 112, 112, 3}, .classes = 10, .batch = 1, .threads = 1};
    if (model_build(&m, &c, &err)) {
        CHECK(0, "build: %s", err.message);
        return;
    }
    unsigned long long nominal, useful, brute_nominal = 0, brute_useful = 0;
    summary_conv_macs(&m, &nominal, &useful);
    int mismatched = 0;
    for (int i = 0; i < m.layer_count; i++) {
        if (m.layers[i].kind != LAYER_CONV3D) continue;
        unsigned long long n, u, bn, bu;
        conv3d_mac_count(&m.layers[i].conv, &n, &u);
        brute_force_macs(&m.layers[i].conv, &bn, &bu);
        mismatched += n != bn || u != bu;
        brute_nominal += bn;
        brute_useful += bu;
    }
    CHECK(mismatched == 0, "%d conv layers count MACs unlike the brute-force count", mismatched);
    CHECK(nominal == brute_nominal && useful == brute_useful, "summary MACs %llu/%llu, brute force %llu/%llu",
          nominal, useful, brute_nominal, brute_useful);
    CHECK(fabs((double)nominal / 6.66e9 - 1.0) < 0.002, "nominal conv MACs per clip %llu, the bench counts 6.66e9",
          nominal);
    /* Stages 3 and 4 run at depth 1: a useful count above ~75 % of nominal
     * would mean the padding taps were not excluded. */
    CHECK(useful < nominal * 3 / 4 && useful > nominal / 2, "useful MACs %llu of nominal %llu", useful, nominal);
    printf("  conv MACs per clip (forward): nominal %llu, useful %llu (%.1f %%), brute force agrees\n", nominal,
           useful, 100.0 * (double)useful / (double)nominal);
    model_free(&m);
}

int main(void)
{
    test_structure();
    test_conv_mac_count();
    test_full_size_pass();
    return test_finish();
}
