/* test_parity.c: the whole network against an independent PyTorch float64
 * reference, tests/reference/fixture.bin (make_reference.py there writes it
 * and documents its records and format).  No Python runs at test time.
 *
 * For each configuration in the fixture ("basic": ResNet3D-18, "bottleneck":
 * ResNet3D-50) the model is built through model.h, loaded with the fixture's
 * initial weights by Keras name, and trained for the fixture's three steps on
 * its batch: model_forward (training), loss_from_logits, model_backward, then
 * adam_step_size / adam_update with L2 on the kernels.  Twice:
 *  1. as training runs it: compared are every layer's output, the logits,
 *     the first loss, the L2 penalty and every parameter gradient of the
 *     first step; after the last step, the parameters whose true gradient is
 *     zero by structure (every conv bias) must not have drifted further than
 *     Adam can move anything;
 *  2. with those parameters given their true gradient, 0, as the float64
 *     reference effectively has: compared are the losses of the later steps
 *     and every other parameter after the last step, moving statistics
 *     included.  (Why two runs: train_steps.)
 *
 * Metric: max|ours - ref| / max|ref| over a tensor.  Element-wise relative
 * error means nothing near zero (a ReLU output, a gradient crossing zero),
 * while the norm-wise error measures what float32 rounding does: a GEMM or a
 * reduction is accurate relative to the magnitude of its terms, not of each
 * result.  After the last step the same metric is taken on the change from
 * the initial value, which is what training computed (the initial weights are
 * identical float32 numbers on both sides).  Tolerances: see the categories.
 *
 * Output: one line per tensor (ours, PyTorch float32's error on the same
 * tensor, the tolerance), then per configuration the worst error of every
 * category. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"
#include "loss.h"
#include "model.h"
#include "test_util.h"

/* ------------------------------------------------------------------ fixture */

#define FIXTURE_MAGIC "NPREF001"
#define RECORD_MAX_RANK 8

typedef struct record {
    char *name;
    int rank;
    int dims[RECORD_MAX_RANK];
    size_t count;
    float *data;
} record;

typedef struct fixture {
    record *records;
    int count;
} fixture;

static uint32_t read_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < f->count; i++) {
        free(f->records[i].name);
        free(f->records[i].data);
    }
    free(f->records);
    f->records = NULL;
    f->count = 0;
}

/* Parses the whole file with bounds checks; on failure returns -1 with the
 * reason in why. */
static int fixture_parse(fixture *f, const unsigned char *bytes, size_t size, char *why, size_t why_size)
{
    size_t at = 0;
#define NEED(n)                                                                           \
    do {                                                                                  \
        if ((n) > size - at) {                                                            \
            snprintf(why, why_size, "truncated at byte %zu (record %d)", at, f->count);  \
            return -1;                                                                    \
        }                                                                                 \
    } while (0)
    NEED(12);
    if (memcmp(bytes, FIXTURE_MAGIC, 8) != 0) {
        snprintf(why, why_size, "bad magic (expected %s)", FIXTURE_MAGIC);
        return -1;
    }
    uint32_t total = read_u32(bytes + 8);
    at = 12;
    f->records = calloc(total ? total : 1, sizeof(record));
    if (!f->records) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    for (uint32_t r = 0; r < total; r++) {
        record *rec = &f->records[f->count];
        NEED(4);
        uint32_t name_length = read_u32(bytes + at);
        at += 4;
        NEED(name_length);
        rec->name = malloc(name_length + 1);
        if (!rec->name) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        memcpy(rec->name, bytes + at, name_length);
        rec->name[name_length] = '\0';
        at += name_length;
        f->count++;
        NEED(4);
        uint32_t rank = read_u32(bytes + at);
        at += 4;
        if (rank > RECORD_MAX_RANK) {
            snprintf(why, why_size, "%s: rank %u is too large", rec->name, rank);
            return -1;
        }
        rec->rank = (int)rank;
        rec->count = 1;
        NEED(4 * (size_t)rank);
        for (uint32_t a = 0; a < rank; a++) {
            rec->dims[a] = (int)read_u32(bytes + at);
            at += 4;
            rec->count *= (size_t)rec->dims[a];
        }
        NEED(4 * rec->count);
        rec->data = malloc(4 * (rec->count ? rec->count : 1));
        if (!rec->data) {
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < rec->count; i++) {
            uint32_t bits = read_u32(bytes + at + 4 * i);
            memcpy(&rec->data[i], &bits, sizeof bits);
        }
        at += 4 * rec->count;
    }
#undef NEED
    if (at != size) {
        snprintf(why, why_size, "%zu bytes after the last record", size - at);
        return -1;
    }
    return 0;
}

static int fixture_load(fixture *f, const char *path, char *why, size_t why_size)
{
    memset(f, 0, sizeof *f);
    FILE *file = fopen(path, "rb");
    if (!file) {
        snprintf(why, why_size, "cannot open %s", path);
        return -1;
    }
    unsigned char *bytes = NULL;
    long size = -1;
    if (fseek(file, 0, SEEK_END) == 0) size = ftell(file);
    if (size >= 0 && fseek(file, 0, SEEK_SET) == 0) bytes = malloc((size_t)size + 1);
    int ok = bytes && fread(bytes, 1, (size_t)size, file) == (size_t)size;
    fclose(file);
    if (!ok) {
        free(bytes);
        snprintf(why, why_size, "cannot read %s", path);
        return -1;
    }
    int status = fixture_parse(f, bytes, (size_t)size, why, why_size);
    free(bytes);
    if (status) fixture_free(f);
    return status;
}

static const record *fixture_find(const fixture *f, const char *prefix, const char *name)
{
    char full[256];
    snprintf(full, sizeof full, "%s/%s", prefix, name);
    for (int i = 0; i < f->count; i++)
        if (strcmp(f->records[i].name, full) == 0) return &f->records[i];
    return NULL;
}

static int fixture_count_prefix(const fixture *f, const char *prefix, const char *group)
{
    char full[256];
    snprintf(full, sizeof full, "%s/%s", prefix, group);
    size_t length = strlen(full);
    int n = 0;
    for (int i = 0; i < f->count; i++) n += strncmp(f->records[i].name, full, length) == 0;
    return n;
}

/* A scalar record's value, or NAN when it is missing. */
static double fixture_scalar(const fixture *f, const char *prefix, const char *name)
{
    const record *r = fixture_find(f, prefix, name);
    return r && r->count == 1 ? (double)r->data[0] : NAN;
}

/* --------------------------------------------------------------- categories */

/* Tolerances.  Each compared tensor has a floor from float32 rounding
 * (u = 2^-24 = 6e-8) and a conditioning term: the fixture records, for every
 * tensor, PyTorch's own float32 error against the same float64 truth, and
 *     tolerance = max(floor, CONDITIONING_FACTOR * PyTorch float32 error).
 * Ours and PyTorch's float32 are two independent samples of rounding noise
 * pushed through the same conditioning (different summation orders: im2col
 * GEMM with double reductions here, oneDNN there); a factor of 10 covers the
 * spread between two such samples, while a real bug (a wrong formula, a
 * missed term, a wrong index) errs by orders of magnitude more.  Floors:
 *  - Forward outputs, 2e-5: a conv output is a dot product of K <= 1029
 *    float32 terms (~sqrt(K)*u ~ 2e-6 of their magnitude); ~50 layers add
 *    such errors, and each BN divides its input's absolute error by a
 *    channel's std, which can be small: 2e-5 ~ 300 u.
 *  - Loss, 1e-5 (relative): the logits' error over their spread.  L2
 *    penalty, 1e-6 fixed: both sides square the same float32 weights and
 *    accumulate in double, so only summation order differs.
 *  - Gradients, 2e-4: the backward repeats the forward's rounding and adds
 *    one cancellation of its own.  Where BN normalizes n = 2 values (stage 4
 *    at a 1x1x1 size with batch 2), the two are mean +- d and
 *    dx ~ dy * eps/(d^2 + eps) (eps = 1e-3): the float32 terms dy - mean(dy)
 *    and xhat*mean(dy*xhat) cancel to eps/d^2 of their size, so their
 *    rounding grows by d^2/eps, ~1e3 for d ~ 1.  Every gradient upstream of
 *    stage 4 inherits ~1e3 u ~ 1e-4.
 *  - Zero by structure (conv biases, and e.g. a stem BN beta whose every
 *    consumer is a padding-free 1x1 conv): the true gradient is 0, both sides
 *    compute rounding noise.  Compared in absolute terms against the largest
 *    gradient of the same layer (a conv's kernel gradient): the noise is a
 *    sum of M float32 terms that cancel to zero, a few u of their magnitude
 *    times sqrt(M); floor 1e-5.
 *  - After three Adam steps, the change of every parameter, max|(ours -
 *    init) - (ref - init)| / max|ref - init|: Adam divides m by sqrt(v), so
 *    every element moves ~lr per step whatever |g| is, and where |g| is
 *    within the gradient's float32 error of 0 (or below
 *    epsilon/sqrt(1 - beta2) ~ 3e-6) the direction of that step is decided
 *    by rounding: its error reaches lr * |delta g| / 3e-6, up to the whole
 *    step.  So the change is as accurate as the gradients only for
 *    elements with clearly non-zero gradients, and the max over a tensor is
 *    set by the few that are not; floor 5e-3, and the conditioning term
 *    (PyTorch's float32 suffers the same) carries the rest. */
#define CONDITIONING_FACTOR 10.0
/* A float64 gradient this far below its layer's largest is 0 up to float64
 * rounding (~1e-16); float32 resolves nothing below ~1e-7 of the scale.
 * make_reference.py uses the same rule to pin these parameters. */
#define STRUCTURAL_ZERO 1e-9

enum {
    CAT_OUT_CONV, CAT_OUT_BN, CAT_OUT_RELU, CAT_OUT_MAXPOOL, CAT_OUT_ADD, CAT_OUT_AVGPOOL,
    CAT_OUT_FLATTEN, CAT_LOGITS, CAT_LOSS, CAT_L2,
    CAT_GRAD_CONV_KERNEL, CAT_GRAD_GAMMA, CAT_GRAD_BETA, CAT_GRAD_DENSE_KERNEL, CAT_GRAD_DENSE_BIAS,
    CAT_GRAD_STRUCTURAL,
    CAT_FINAL_CONV_KERNEL, CAT_FINAL_GAMMA, CAT_FINAL_BETA, CAT_FINAL_DENSE_KERNEL, CAT_FINAL_DENSE_BIAS,
    CAT_FINAL_MOVING_MEAN, CAT_FINAL_MOVING_VARIANCE, CAT_FINAL_STRUCTURAL_DRIFT,
    CAT_COUNT
};

typedef struct category {
    const char *name;
    const char *metric;
    double floor;
    int conditioned; /* tolerance scales with PyTorch's float32 error */
    double worst, worst_tolerance, worst_float32, worst_ratio;
    char worst_tensor[96];
    int tensors;
} category;

#define RELATIVE "max|d|/max|ref|"
#define CHANGE "max|d change|/max|ref change|"
static const category category_template[CAT_COUNT] = {
    [CAT_OUT_CONV] = {"output Conv3D", RELATIVE, 2e-5, 1},
    [CAT_OUT_BN] = {"output BatchNormalization", RELATIVE, 2e-5, 1},
    [CAT_OUT_RELU] = {"output Activation", RELATIVE, 2e-5, 1},
    [CAT_OUT_MAXPOOL] = {"output MaxPooling3D", RELATIVE, 2e-5, 1},
    [CAT_OUT_ADD] = {"output Add", RELATIVE, 2e-5, 1},
    [CAT_OUT_AVGPOOL] = {"output AveragePooling3D", RELATIVE, 2e-5, 1},
    [CAT_OUT_FLATTEN] = {"output Flatten", RELATIVE, 2e-5, 1},
    [CAT_LOGITS] = {"logits (Dense)", RELATIVE, 2e-5, 1},
    [CAT_LOSS] = {"data loss, steps 1-3", "|d|/|ref|", 1e-5, 1},
    [CAT_L2] = {"L2 penalty", "|d|/|ref|", 1e-6, 0},
    [CAT_GRAD_CONV_KERNEL] = {"grad conv kernel", RELATIVE, 2e-4, 1},
    [CAT_GRAD_GAMMA] = {"grad BN gamma", RELATIVE, 2e-4, 1},
    [CAT_GRAD_BETA] = {"grad BN beta", RELATIVE, 2e-4, 1},
    [CAT_GRAD_DENSE_KERNEL] = {"grad dense kernel", RELATIVE, 2e-4, 1},
    [CAT_GRAD_DENSE_BIAS] = {"grad dense bias", RELATIVE, 2e-4, 1},
    [CAT_GRAD_STRUCTURAL] = {"grad zero by structure", "max|d|/layer max|ref|", 1e-5, 1},
    [CAT_FINAL_CONV_KERNEL] = {"final conv kernel", CHANGE, 5e-3, 1},
    [CAT_FINAL_GAMMA] = {"final BN gamma", CHANGE, 5e-3, 1},
    [CAT_FINAL_BETA] = {"final BN beta", CHANGE, 5e-3, 1},
    [CAT_FINAL_DENSE_KERNEL] = {"final dense kernel", CHANGE, 5e-3, 1},
    [CAT_FINAL_DENSE_BIAS] = {"final dense bias", CHANGE, 5e-3, 1},
    [CAT_FINAL_MOVING_MEAN] = {"final moving_mean", CHANGE, 5e-3, 1},
    [CAT_FINAL_MOVING_VARIANCE] = {"final moving_variance", CHANGE, 5e-3, 1},
    [CAT_FINAL_STRUCTURAL_DRIFT] = {"drift zero by structure", "max|d|/Adam bound", 1.0, 0},
};

/* Records one tensor's error against its category's tolerance. */
static void category_record(category *c, const char *prefix, const char *name, double measured,
                            double float32_error)
{
    double tolerance = c->floor;
    if (c->conditioned && isfinite(float32_error) && CONDITIONING_FACTOR * float32_error > tolerance)
        tolerance = CONDITIONING_FACTOR * float32_error;
    /* A NaN error must never look like a small one. */
    if (isnan(measured)) measured = INFINITY;
    double ratio = tolerance > 0 ? measured / tolerance : (measured > 0 ? INFINITY : 0.0);
    c->tensors++;
    if (c->tensors == 1 || measured > c->worst) {
        c->worst = measured;
        c->worst_tolerance = tolerance;
        snprintf(c->worst_tensor, sizeof c->worst_tensor, "%s/%s", prefix, name);
    }
    if (isfinite(float32_error) && float32_error > c->worst_float32) c->worst_float32 = float32_error;
    if (ratio > c->worst_ratio) c->worst_ratio = ratio;
    char pytorch[16] = "        -";
    if (isfinite(float32_error)) snprintf(pytorch, sizeof pytorch, "%9.2e", float32_error);
    printf("  %-10s %-50s %-25s %9.2e  torch32 %s  tol %8.2e  %s\n", prefix, name, c->name, measured, pytorch,
           tolerance, measured <= tolerance ? "ok" : "FAIL");
    CHECK(measured <= tolerance, "%s/%s: %s error %.3e exceeds its tolerance %.2e", prefix, name, c->name,
          measured, tolerance);
}

static double max_difference(const float *ours, const float *ref, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ours[i])) return INFINITY;
        double d = fabs((double)ours[i] - (double)ref[i]);
        if (d > worst) worst = d;
    }
    return worst;
}

static double max_magnitude(const float *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)x[i]) > m) m = fabs((double)x[i]);
    return m;
}

/* Norm-wise relative error; an all-zero reference compares absolutely. */
static double normwise_error(const float *ours, const float *ref, size_t n)
{
    double scale = max_magnitude(ref, n);
    double d = max_difference(ours, ref, n);
    return scale > 0.0 ? d / scale : d;
}

/* A step-1 gradient (L2 term included) below this fraction of its tensor's
 * largest leaves the sign of Adam's steps to rounding within three steps:
 * 50x the accepted step-1 gradient error (2e-4), since the gradient also
 * moves between steps. */
#define NEAR_TIE 1e-2

/* The error of the change from init: max|(ours - init) - (ref - init)| /
 * max|ref - init|, in double so that the subtraction adds nothing.  With the
 * step-1 reference gradient `grad` (NULL: none), elements whose gradient is
 * a near tie (NEAR_TIE) are left out of that maximum: their direction is
 * decided by rounding (see the tolerances), and which of them flip depends
 * on the BLAS kernel's summation order.  They must still not differ by more
 * than two Adam moves (`tie_bound`, opposite directions); one that does
 * counts in the maximum.  *ties gets how many such elements differed by
 * more than 1e-3 of the scale. */
static double change_error(const float *ours, const float *ref, const float *init, size_t n, const float *grad,
                           double l2_factor, double tie_bound, int *ties)
{
    double worst = 0.0, scale = 0.0, grad_scale = 0.0;
    for (size_t i = 0; i < n && grad; i++) {
        double g = fabs((double)grad[i] + l2_factor * (double)init[i]);
        if (g > grad_scale) grad_scale = g;
    }
    for (size_t i = 0; i < n; i++) {
        double change_ref = (double)ref[i] - (double)init[i];
        if (fabs(change_ref) > scale) scale = fabs(change_ref);
    }
    *ties = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ours[i])) return INFINITY;
        double change_ref = (double)ref[i] - (double)init[i];
        double d = fabs(((double)ours[i] - (double)init[i]) - change_ref);
        int tie = grad && fabs((double)grad[i] + l2_factor * (double)init[i]) <= NEAR_TIE * grad_scale;
        if (tie && d <= tie_bound) {
            *ties += d > 1e-3 * scale;
            continue;
        }
        if (d > worst) worst = d;
    }
    return scale > 0.0 ? worst / scale : worst;
}

static int same_shape(const record *r, int rank, const int *shape)
{
    if (r->rank != rank) return 0;
    for (int a = 0; a < rank; a++)
        if (r->dims[a] != shape[a]) return 0;
    return 1;
}

/* prefix/name with the model's shape, or NULL (and a failed check). */
static const record *find_shaped(const fixture *f, const char *prefix, const char *name, int rank,
                                 const int *shape)
{
    const record *r = fixture_find(f, prefix, name);
    CHECK(r != NULL, "%s/%s is missing from the fixture", prefix, name);
    if (!r) return NULL;
    int ok = same_shape(r, rank, shape);
    CHECK(ok, "%s/%s: the fixture's shape differs from the model's", prefix, name);
    return ok ? r : NULL;
}

/* PyTorch's float32 error on the same tensor, NAN when not recorded. */
static double float32_error_of(const fixture *f, const char *prefix, const char *name)
{
    char full[192];
    snprintf(full, sizeof full, "float32/%s", name);
    return fixture_scalar(f, prefix, full);
}

/* The largest distance tf.keras Adam can move one weight in `steps` steps,
 * whatever the gradients: by Cauchy-Schwarz, |m_t| / sqrt(v_t) <=
 * (1-b1)/sqrt(1-b2) * sqrt(sum_{k<t} (b1^2/b2)^k), times alpha_t; epsilon
 * only shrinks the step.  1.000, 1.001, 1.004 lr for t = 1, 2, 3. */
static double adam_move_bound(double lr, double b1, double b2, int steps)
{
    double total = 0.0;
    for (int t = 1; t <= steps; t++) {
        double alpha = lr * sqrt(1.0 - pow(b2, t)) / (1.0 - pow(b1, t));
        double series = 0.0;
        for (int k = 0; k < t; k++) series += pow(b1 * b1 / b2, k);
        total += alpha * (1.0 - b1) / sqrt(1.0 - b2) * sqrt(series);
    }
    return total;
}

/* ------------------------------------------------------------ one config */

static int output_category(layer_kind kind)
{
    switch (kind) {
    case LAYER_CONV3D: return CAT_OUT_CONV;
    case LAYER_BATCHNORM: return CAT_OUT_BN;
    case LAYER_RELU: return CAT_OUT_RELU;
    case LAYER_MAXPOOL3D: return CAT_OUT_MAXPOOL;
    case LAYER_ADD: return CAT_OUT_ADD;
    case LAYER_AVGPOOL3D: return CAT_OUT_AVGPOOL;
    case LAYER_FLATTEN: return CAT_OUT_FLATTEN;
    default: return CAT_LOGITS;
    }
}

static int gradient_category(const model *m, const parameter *p)
{
    int dense = m->layers[p->layer].kind == LAYER_DENSE;
    switch (p->role) {
    case PARAM_KERNEL: return dense ? CAT_GRAD_DENSE_KERNEL : CAT_GRAD_CONV_KERNEL;
    case PARAM_BIAS: return dense ? CAT_GRAD_DENSE_BIAS : CAT_GRAD_STRUCTURAL;
    case PARAM_GAMMA: return CAT_GRAD_GAMMA;
    default: return CAT_GRAD_BETA;
    }
}

static int final_category(const model *m, const parameter *p)
{
    int dense = m->layers[p->layer].kind == LAYER_DENSE;
    switch (p->role) {
    case PARAM_KERNEL: return dense ? CAT_FINAL_DENSE_KERNEL : CAT_FINAL_CONV_KERNEL;
    case PARAM_BIAS: return CAT_FINAL_DENSE_BIAS; /* conv biases are zero by structure */
    case PARAM_GAMMA: return CAT_FINAL_GAMMA;
    case PARAM_BETA: return CAT_FINAL_BETA;
    case PARAM_MOVING_MEAN: return CAT_FINAL_MOVING_MEAN;
    default: return CAT_FINAL_MOVING_VARIANCE;
    }
}

/* Everything one configuration needs from the fixture, checked once. */
typedef struct parity_case {
    const fixture *f;
    const char *prefix;
    model_config config;
    double lambda, learning_rate;
    adam_config adam;
    int steps;
    const record *input;
    int *labels;
    /* Per parameter: the float64 gradient is zero by structure. */
    unsigned char *structural;
    category cats[CAT_COUNT];
} parity_case;

/* The largest reference gradient among a layer's trainable parameters. */
static double layer_gradient_scale(const parity_case *pc, const model *m, int layer_index)
{
    const layer *l = &m->layers[layer_index];
    double scale = 0.0;
    for (int k = 0; k < l->param_count; k++) {
        const parameter *p = &m->params[l->first_param + k];
        if (!p->trainable) continue;
        char name[128];
        snprintf(name, sizeof name, "step1/grad/%s", p->name);
        const record *r = fixture_find(pc->f, pc->prefix, name);
        if (r) {
            double s = max_magnitude(r->data, r->count);
            if (s > scale) scale = s;
        }
    }
    return scale;
}

/* Loads the initial weights (moving statistics included) and the batch, and
 * clears Adam's moments: the model is where the fixture's training starts. */
static int load_start(parity_case *pc, model *m)
{
    int ok = 1;
    for (int i = 0; i < m->param_count; i++) {
        parameter *p = &m->params[i];
        char name[128];
        snprintf(name, sizeof name, "init/%s", p->name);
        const record *r = find_shaped(pc->f, pc->prefix, name, p->value.rank, p->value.shape);
        if (!r) {
            ok = 0;
            continue;
        }
        memcpy(p->value.data, r->data, r->count * sizeof(float));
        if (p->trainable) {
            memset(p->adam_m, 0, p->value.count * sizeof(float));
            memset(p->adam_v, 0, p->value.count * sizeof(float));
        }
    }
    memcpy(model_input(m), pc->input->data, pc->input->count * sizeof(float));
    return ok;
}

static void compare_step1_outputs(parity_case *pc, const model *m)
{
    int compared = 0;
    for (int i = 1; i < m->layer_count; i++) { /* input_1's output is the input itself */
        const layer *l = &m->layers[i];
        char name[128];
        snprintf(name, sizeof name, "step1/output/%s", l->name);
        const record *r = find_shaped(pc->f, pc->prefix, name, l->output.rank, l->output.shape);
        if (r)
            category_record(&pc->cats[output_category(l->kind)], pc->prefix, name,
                            normwise_error(l->output.data, r->data, r->count),
                            float32_error_of(pc->f, pc->prefix, name));
        compared++;
    }
    int recorded = fixture_count_prefix(pc->f, pc->prefix, "step1/output/");
    CHECK(recorded == compared, "%s: the fixture has %d layer outputs, the model %d layers after the input",
          pc->prefix, recorded, compared);
    const layer *logits = &m->layers[m->logits_layer];
    const record *r = find_shaped(pc->f, pc->prefix, "step1/logits", logits->output.rank, logits->output.shape);
    if (r)
        category_record(&pc->cats[CAT_LOGITS], pc->prefix, "step1/logits",
                        normwise_error(logits->output.data, r->data, r->count),
                        float32_error_of(pc->f, pc->prefix, "step1/logits"));
}

static void compare_step1_gradients(parity_case *pc, const model *m)
{
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        char name[128];
        snprintf(name, sizeof name, "step1/grad/%s", p->name);
        const record *r = find_shaped(pc->f, pc->prefix, name, p->value.rank, p->value.shape);
        if (!r) continue;
        double f32 = float32_error_of(pc->f, pc->prefix, name);
        if (pc->structural[i]) {
            double scale = layer_gradient_scale(pc, m, p->layer);
            double d = max_difference(p->gradient, r->data, r->count);
            category_record(&pc->cats[CAT_GRAD_STRUCTURAL], pc->prefix, name, scale > 0 ? d / scale : d, f32);
        } else {
            category_record(&pc->cats[gradient_category(m, p)], pc->prefix, name,
                            normwise_error(p->gradient, r->data, r->count), f32);
        }
    }
}

/* Runs the fixture's training steps from the start.  The first run
 * (pin_structural 0) is the engine as training runs it; the second gives the
 * parameters whose gradient is zero by structure their true gradient, 0, as
 * the float64 reference effectively has (its noise, ~1e-17, moves nothing):
 * Adam turns our ~1e-9 noise into real steps of up to lr, which BN removes
 * from every gradient but not from the batch mean it folds into
 * moving_mean, nor from what a drifted stem beta feeds its ReLU. */
static void train_steps(parity_case *pc, model *m, int pin_structural)
{
    for (int t = 1; t <= pc->steps; t++) {
        model_forward(m, 1);
        if (t == 1 && !pin_structural) compare_step1_outputs(pc, m);
        loss_result loss = loss_from_logits(pc->config.batch, pc->config.classes, model_logits(m), pc->labels,
                                            model_logits_gradient(m));
        char name[64];
        snprintf(name, sizeof name, "step%d/data_loss", t);
        double reference_loss = fixture_scalar(pc->f, pc->prefix, name);
        CHECK(!isnan(reference_loss), "%s/%s is missing", pc->prefix, name);
        /* The first loss is the same in both runs; the later ones are the
         * pinned run's, as in the reference. */
        int compare_loss = pin_structural ? t > 1 : t == 1;
        if (compare_loss)
            category_record(&pc->cats[CAT_LOSS], pc->prefix, name,
                            fabs(loss.loss - reference_loss) / fabs(reference_loss),
                            float32_error_of(pc->f, pc->prefix, name));
        if (t == 1 && !pin_structural) {
            double reference_l2 = fixture_scalar(pc->f, pc->prefix, "step1/l2_penalty");
            double l2 = model_l2_penalty(m, (float)pc->lambda);
            category_record(&pc->cats[CAT_L2], pc->prefix, "step1/l2_penalty",
                            fabs(l2 - reference_l2) / fabs(reference_l2), NAN);
        }
        model_backward(m);
        if (t == 1 && !pin_structural) compare_step1_gradients(pc, m);

        float alpha = adam_step_size(&pc->adam, (float)pc->learning_rate, t);
        for (int i = 0; i < m->param_count; i++) {
            parameter *p = &m->params[i];
            if (!p->trainable) continue;
            if (pin_structural && pc->structural[i]) memset(p->gradient, 0, p->value.count * sizeof(float));
            adam_update(&pc->adam, p->value.count, alpha, p->regularized ? (float)pc->lambda : 0.0f, p->value.data,
                        p->gradient, p->adam_m, p->adam_v, NULL, NULL);
        }
    }
}

/* After the faithful run: the zero-by-structure parameters may have moved by
 * up to Adam's bound (normalized noise), and no further. */
static void compare_drift(parity_case *pc, const model *m)
{
    double bound = adam_move_bound(pc->learning_rate, pc->adam.beta1, pc->adam.beta2, pc->steps);
    double largest = 0.0;
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!pc->structural[i]) continue;
        char name[128];
        snprintf(name, sizeof name, "final/%s", p->name);
        const record *r = find_shaped(pc->f, pc->prefix, name, p->value.rank, p->value.shape);
        if (!r) continue;
        double d = max_difference(p->value.data, r->data, r->count);
        if (d > largest) largest = d;
        char label[160];
        snprintf(label, sizeof label, "%s (faithful run)", name);
        category_record(&pc->cats[CAT_FINAL_STRUCTURAL_DRIFT], pc->prefix, label, d / bound, NAN);
    }
    printf("  %-10s zero-by-structure parameters drifted by up to %.3g lr (Adam's bound: %.4g lr)\n", pc->prefix,
           largest / pc->learning_rate, bound / pc->learning_rate);
}

/* After the pinned run: every parameter, moving statistics included, but
 * those zero by structure (compare_drift has them; here they merely stay at
 * their initial value, as in the reference). */
static void compare_final(parity_case *pc, const model *m)
{
    const double tie_bound = adam_move_bound(pc->learning_rate, pc->adam.beta1, pc->adam.beta2, pc->steps);
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (pc->structural[i]) continue;
        char name[128], init_name[128], grad_name[128];
        snprintf(name, sizeof name, "final/%s", p->name);
        snprintf(init_name, sizeof init_name, "init/%s", p->name);
        const record *r = find_shaped(pc->f, pc->prefix, name, p->value.rank, p->value.shape);
        const record *r0 = find_shaped(pc->f, pc->prefix, init_name, p->value.rank, p->value.shape);
        if (!r || !r0) continue;
        snprintf(grad_name, sizeof grad_name, "step1/grad/%s", p->name);
        const record *g = p->trainable ? find_shaped(pc->f, pc->prefix, grad_name, p->value.rank, p->value.shape)
                                       : NULL;
        int ties = 0;
        double change = change_error(p->value.data, r->data, r0->data, r->count, g ? g->data : NULL,
                                    p->regularized ? 2.0 * pc->lambda : 0.0, 2.0 * tie_bound, &ties);
        if (ties) printf("  %-10s %s: %d near-tie elements moved differently (within 2 Adam moves)\n", pc->prefix,
                         name, ties);
        category_record(&pc->cats[final_category(m, p)], pc->prefix, name, change,
                        float32_error_of(pc->f, pc->prefix, name));
    }
}

static void print_table(const parity_case *pc)
{
    printf("\nworst error per category, %s (ResNet3D-%d, width %d, clip %dx%dx%dx%d, batch %d)\n", pc->prefix,
           pc->config.depth, pc->config.width, pc->config.clip[0], pc->config.clip[1], pc->config.clip[2],
           pc->config.clip[3], pc->config.batch);
    printf("  %-25s %-30s %5s %9s %9s %9s %9s  %s\n", "category", "metric", "count", "worst", "its tol",
           "torch32", "err/tol", "worst tensor");
    for (int c = 0; c < CAT_COUNT; c++) {
        const category *cat = &pc->cats[c];
        if (cat->tensors == 0) continue;
        char pytorch[16] = "        -";
        if (cat->conditioned) snprintf(pytorch, sizeof pytorch, "%9.2e", cat->worst_float32);
        printf("  %-25s %-30s %5d %9.2e %9.2e %s %9.2f  %s\n", cat->name, cat->metric, cat->tensors, cat->worst,
               cat->worst_tolerance, pytorch, cat->worst_ratio, cat->worst_tensor);
    }
    printf("\n");
}

static int case_init(parity_case *pc, const fixture *f, const char *prefix)
{
    memset(pc, 0, sizeof *pc);
    memcpy(pc->cats, category_template, sizeof pc->cats);
    pc->f = f;
    pc->prefix = prefix;
    const record *clip = fixture_find(f, prefix, "config/clip");
    pc->config = (model_config){
        .depth = (int)fixture_scalar(f, prefix, "config/depth"),
        .width = (int)fixture_scalar(f, prefix, "config/width"),
        .classes = (int)fixture_scalar(f, prefix, "config/classes"),
        .batch = (int)fixture_scalar(f, prefix, "config/batch"),
        .threads = 2,
    };
    pc->lambda = fixture_scalar(f, prefix, "config/l2");
    pc->learning_rate = fixture_scalar(f, prefix, "config/learning_rate");
    pc->adam = (adam_config){(float)fixture_scalar(f, prefix, "config/beta1"),
                             (float)fixture_scalar(f, prefix, "config/beta2"),
                             (float)fixture_scalar(f, prefix, "config/epsilon")};
    pc->steps = (int)fixture_scalar(f, prefix, "config/steps");
    int complete = clip && clip->count == 4 && isfinite(pc->lambda) && isfinite(pc->learning_rate) &&
                   isfinite(pc->adam.beta1) && isfinite(pc->adam.beta2) && isfinite(pc->adam.epsilon) &&
                   pc->steps >= 1 && pc->config.batch >= 1;
    CHECK(complete, "%s: incomplete config records", prefix);
    if (!complete) return -1;
    for (int a = 0; a < 4; a++) pc->config.clip[a] = (int)clip->data[a];
    pc->input = fixture_find(f, prefix, "input");
    const record *labels = fixture_find(f, prefix, "labels");
    CHECK(pc->input != NULL, "%s/input is missing", prefix);
    CHECK(labels && labels->count == (size_t)pc->config.batch, "%s/labels is missing or misshapen", prefix);
    if (!pc->input || !labels || labels->count != (size_t)pc->config.batch) return -1;
    pc->labels = malloc(sizeof(int) * (size_t)pc->config.batch);
    if (!pc->labels) return -1;
    for (int n = 0; n < pc->config.batch; n++) pc->labels[n] = (int)labels->data[n];
    return 0;
}

/* Which parameters have a float64 gradient that is zero by structure, by
 * the rule make_reference.py pins them with. */
static int classify_structural(parity_case *pc, const model *m)
{
    pc->structural = calloc((size_t)m->param_count, 1);
    if (!pc->structural) return -1;
    int conv_biases = 0, structural_conv_biases = 0;
    for (int i = 0; i < m->param_count; i++) {
        const parameter *p = &m->params[i];
        if (!p->trainable) continue;
        char name[128];
        snprintf(name, sizeof name, "step1/grad/%s", p->name);
        const record *r = fixture_find(pc->f, pc->prefix, name);
        if (!r) continue;
        double scale = layer_gradient_scale(pc, m, p->layer);
        pc->structural[i] = max_magnitude(r->data, r->count) <= STRUCTURAL_ZERO * scale;
        if (p->role == PARAM_BIAS && m->layers[p->layer].kind == LAYER_CONV3D) {
            conv_biases++;
            structural_conv_biases += pc->structural[i];
        }
    }
    /* The architecture's claim, checked on the truth: every conv bias feeds
     * only BatchNormalization, so its float64 gradient is rounding noise. */
    CHECK(structural_conv_biases == conv_biases, "%s: only %d of %d conv biases have a zero float64 gradient",
          pc->prefix, structural_conv_biases, conv_biases);
    return 0;
}

static void run_config(const fixture *f, const char *prefix)
{
    parity_case pc;
    if (case_init(&pc, f, prefix)) {
        free(pc.labels);
        return;
    }
    model m;
    error err;
    int built = model_build(&m, &pc.config, &err) == 0;
    CHECK(built, "%s: model_build: %s", prefix, err.message);
    if (!built) {
        free(pc.labels);
        return;
    }
    int recorded = fixture_count_prefix(f, prefix, "init/");
    CHECK(recorded == m.param_count, "%s: the fixture has %d parameters, the model %d", prefix, recorded,
          m.param_count);
    CHECK(same_shape(pc.input, m.layers[0].output.rank, m.layers[0].output.shape), "%s/input is misshapen",
          prefix);
    printf("%s: ResNet3D-%d, %d layers, %d parameters\n", prefix, pc.config.depth, m.layer_count, m.param_count);
    if (classify_structural(&pc, &m) == 0 && same_shape(pc.input, m.layers[0].output.rank, m.layers[0].output.shape)) {
        if (load_start(&pc, &m)) {
            train_steps(&pc, &m, 0);
            compare_drift(&pc, &m);
        }
        if (load_start(&pc, &m)) {
            train_steps(&pc, &m, 1);
            compare_final(&pc, &m);
        }
        print_table(&pc);
    }
    model_free(&m);
    free(pc.structural);
    free(pc.labels);
}

/* ------------------------------------------------------------------- main */

/* The fixture lives in the source tree: found from the working directory
 * (the runner starts in the repository root) or from the binary's location
 * (BUILD/tests/test_parity); NANPROBE_PARITY_FIXTURE overrides both. */
static int locate_fixture(const char *argv0, char *path, size_t size)
{
    const char *forced = getenv("NANPROBE_PARITY_FIXTURE");
    if (forced && *forced) {
        snprintf(path, size, "%s", forced);
        return 1;
    }
    snprintf(path, size, "tests/reference/fixture.bin");
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        const char *slash = strrchr(argv0, '/');
        int dir = slash ? (int)(slash - argv0) : 1;
        snprintf(path, size, "%.*s/../../tests/reference/fixture.bin", dir, slash ? argv0 : ".");
        probe = fopen(path, "rb");
    }
    if (probe) fclose(probe);
    return probe != NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    omp_set_num_threads(2); /* model_config.threads sizes the per-thread scratch */

    char path[4096], why[4200];
    CHECK(locate_fixture(argv[0], path, sizeof path),
          "tests/reference/fixture.bin not found (run `make reference` to create it)");
    fixture f;
    int loaded = fixture_load(&f, path, why, sizeof why) == 0;
    CHECK(loaded, "%s: %s", path, why);
    if (!loaded) return test_finish();
    printf("fixture %s: %d records\n", path, f.count);

    const char *configs[] = {"basic", "bottleneck"};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        CHECK(fixture_find(&f, configs[i], "config/depth") != NULL, "%s: no such configuration in the fixture",
              configs[i]);
        if (fixture_find(&f, configs[i], "config/depth")) run_config(&f, configs[i]);
    }
    fixture_free(&f);
    return test_finish();
}
