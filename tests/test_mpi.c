/* test_mpi.c: data-parallel training and ablation over MPI, driven through
 * `mpirun --oversubscribe --allow-run-as-root -np 2|3 nanprobe ...`, plus the
 * exact merges of src/dist in one process.
 *
 * Missing mpirun is a failure, not a skip.
 *
 * Tolerances.  Two ranks compute the same sums in another grouping (two
 * half-batch GEMMs and BatchNorm sums merged, instead of one), so results
 * agree to float32 rounding, not bit for bit:
 *   - losses: 2e-5 relative (the loss is a mean of ~24 cross-entropies
 *     computed through 20 layers of float32; we measure ~1e-7);
 *   - weights and moving statistics after 3 Adam steps, per tensor: the
 *     difference between the two runs is at most 1e-2 of what the 3 steps
 *     changed (||a - b|| <= 1e-2 ||b - start||; we see ~1e-4).  Not per
 *     element: Adam divides m by sqrt(v), so where an element's gradient is
 *     itself at rounding level (its contributions cancel) its step is
 *     lr*sign(noise) and can differ by 2*lr per step; such elements are few
 *     and weigh little in the norm.  A conv bias is all noise: every path
 *     from it to the loss passes a BatchNorm, so its true gradient is
 *     exactly 0; it is bounded element by element by 2*3*lr (as
 *     test_parity does).  The moving mean of the BatchNorm after a conv
 *     carries that bias's noise (BatchNorm removes it from the output, not
 *     from the statistic): ~2e-3 of its change per-replica, 1e-4 synced.  A wrong share weighting (uneven 3, 2, 2 shards),
 *     wrong BatchNorm statistics or a missing gradient bucket moves whole
 *     tensors by O(1) of their change.
 * The per-replica reference is built here, in one process, from the
 * library: each shard of the global batch runs forward (batch statistics of
 * that shard only) and backward with its loss gradient weighted by its share
 * of the batch, the parameter gradients are summed, the shards' moving
 * statistics averaged, and one Adam step is taken: what the ranks do, with
 * the communication replaced by loops. */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "batchnorm.h"
#include "checkpoint.h"
#include "dataset.h"
#include "loss.h"
#include "merge.h"
#include "model.h"
#include "optimizer.h"
#include "rng.h"
#include "shard.h"
#include "stats.h"
#include "test_db.h"
#include "test_util.h"

static const char *nanprobe;
static char mpirun[4096];

#define SMALL "--depth=18", "--width=4", "--clip=8x32x32x3", "--classes=4", "--threads=1", "--quiet", "--no-report"

/* ------------------------------------------------------------ helpers */

static int find_mpirun(void)
{
    const char *path = getenv("PATH");
    char copy[8192];
    snprintf(copy, sizeof copy, "%s", path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        snprintf(mpirun, sizeof mpirun, "%s/mpirun", dir);
        if (access(mpirun, X_OK) == 0) return 0;
    }
    mpirun[0] = '\0';
    return -1;
}

/* The ranks' ASAN_OPTIONS: in a sanitized build, leak detection is off in
 * processes that ran MPI_Init (OpenMPI's plugins leak at MPI_Finalize and
 * are unloaded before LeakSanitizer reports, so they cannot be suppressed
 * by name); every other check stays on, and the single-process runs keep
 * leak detection. */
static char mpi_asan_options[256] = "NANPROBE_MPI_TEST=1";

/* Runs nanprobe (ranks > 0: under mpirun -np ranks) with the options up
 * to NULL; returns the exit status. */
static int run(char *output, size_t size, int ranks, ...)
{
    char np[16];
    snprintf(np, sizeof np, "%d", ranks);
    const char *under_mpi[] = {mpirun, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", np,
                               "-x", mpi_asan_options, nanprobe, NULL};
    const char *alone[] = {nanprobe, NULL};
    static char scratch[1 << 16];
    if (!output) {
        output = scratch;
        size = sizeof scratch;
    }
    va_list args;
    va_start(args, ranks);
    int status = test_run_list(ranks > 0 ? under_mpi : alone, args, output, size);
    va_end(args);
    return status;
}

static int losses_close(const double *a, const double *b, int n, double tolerance, double *worst)
{
    *worst = 0.0;
    for (int i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]) / fmax(fabs(b[i]), 1e-30);
        if (!(e <= *worst)) *worst = e;
    }
    return *worst <= tolerance;
}

static const model_config small_config = {.depth = 18, .width = 4, .clip = {8, 32, 32, 3}, .classes = 4, .batch = 8,
                                          .threads = 1};

static int load_checkpoint(const char *dir, model *m, checkpoint_state *state)
{
    error err;
    if (model_build(m, &small_config, &err)) return -1;
    if (checkpoint_load(dir, state, m, &err)) {
        fprintf(stderr, "  checkpoint %s: %s\n", dir, err.message);
        model_free(m);
        return -1;
    }
    return 0;
}

/* A conv bias: in this pre-activation network every path from a conv's
 * output to the loss passes a BatchNorm, whose input gradient sums to zero
 * over the cells of a channel, so the bias's true gradient is exactly 0. */
static int bias_before_batchnorm(const model *m, const parameter *p)
{
    return p->role == PARAM_BIAS && m->layers[p->layer].kind == LAYER_CONV3D;
}

/* Every parameter and moving statistic of a against b, both started from
 * `start` (see the tolerances at the top): per tensor, the difference of
 * the two runs against what the steps changed, ||a - b|| / ||b - start||
 * <= 1e-2; conv biases element by element against the Adam bound.
 * Returns the number of tensors out of tolerance; *worst is the largest
 * relative difference seen. */
static char worst_tensor[64];

static int compare_models(const model *a, const model *b, const model *start, double lr, int steps, double *worst)
{
    int bad = 0;
    *worst = 0.0;
    for (int i = 0; i < a->param_count; i++) {
        const parameter *p = &a->params[i], *q = &b->params[i], *o = &start->params[i];
        double diff = 0.0, moved = 0.0, largest = 0.0;
        for (size_t j = 0; j < p->value.count; j++) {
            double e = (double)p->value.data[j] - q->value.data[j], d = (double)q->value.data[j] - o->value.data[j];
            diff += e * e;
            moved += d * d;
            largest = fmax(largest, fabs(e));
        }
        int ok;
        if (bias_before_batchnorm(a, p)) {
            ok = largest <= 2.0 * steps * lr;
        } else {
            double relative = sqrt(diff) / fmax(sqrt(moved), 1e-30);
            if (relative > *worst) {
                *worst = relative;
                snprintf(worst_tensor, sizeof worst_tensor, "%s", p->name);
            }
            ok = relative <= 1e-2;
        }
        if (!ok) {
            if (bad < 8) fprintf(stderr, "  %s: differs by %.3g (largest element %.3g) after moving %.3g\n", p->name,
                                 sqrt(diff), largest, sqrt(moved));
            bad++;
        }
    }
    return bad;
}

/* The model every run of these tests starts from (the seed's weights). */
static int initial_model(model *m, long long seed)
{
    error err;
    if (model_build(m, &small_config, &err)) return -1;
    model_init_weights(m, INIT_HE_NORMAL, (uint64_t)seed);
    return 0;
}

/* ------------------------------------------------- merges, one process */

static void test_merges(void)
{
    /* The split of a batch. */
    int sizes[][2] = {{10, 3}, {8, 2}, {7, 3}, {3, 3}, {1, 1}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int batch = sizes[k][0], ranks = sizes[k][1], next = 0, ok = 1;
        for (int r = 0; r < ranks; r++) {
            dist_shard s = dist_shard_of(batch, r, ranks);
            ok &= s.start == next && s.count >= batch / ranks && s.count <= dist_shard_capacity(batch, ranks);
            next += s.count;
        }
        CHECK(ok && next == batch, "the shards of %d over %d ranks tile the batch", batch, ranks);
    }
    dist_shard s = dist_shard_of(10, 0, 3);
    CHECK(s.count == 4 && dist_shard_of(10, 2, 3).count == 3, "the remainder goes to the lowest ranks");

    /* (count, mean, M2) merged over uneven parts equals the two-pass
     * statistics of the whole, with mean^2/var = 1e10. */
    enum { N = 1000, C = 3, PARTS = 3 };
    static double x[C][N];
    rng g;
    rng_seed(&g, 7, 1);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < N; i++) x[c][i] = 1e5 * (c + 1) + rng_normal(&g);
    const int cut[PARTS + 1] = {0, 1, 400, N};
    double gathered[PARTS * 3 * C];
    for (int p = 0; p < PARTS; p++)
        for (int c = 0; c < C; c++) {
            double n = cut[p + 1] - cut[p], mean = 0, m2 = 0;
            for (int i = cut[p]; i < cut[p + 1]; i++) mean += x[c][i];
            mean /= n;
            for (int i = cut[p]; i < cut[p + 1]; i++) m2 += (x[c][i] - mean) * (x[c][i] - mean);
            gathered[p * 3 * C + c] = n;
            gathered[p * 3 * C + C + c] = mean;
            gathered[p * 3 * C + 2 * C + c] = m2;
        }
    double count[C], mean[C], m2[C];
    dist_moments_merge(PARTS, C, gathered, count, mean, m2);
    for (int c = 0; c < C; c++) {
        double mu = 0, q = 0;
        for (int i = 0; i < N; i++) mu += x[c][i];
        mu /= N;
        for (int i = 0; i < N; i++) q += (x[c][i] - mu) * (x[c][i] - mu);
        /* Bound: a few ulps of the mean; the variance (~1) to 1e-9 relative
         * although the mean^2 is 1e10 to 9e10 times larger. */
        CHECK(count[c] == N && fabs(mean[c] - mu) <= 1e-10 * mu && fabs(m2[c] - q) <= 1e-9 * q,
              "moments merge channel %d: mean %.17g vs %.17g, M2 %.17g vs %.17g", c, mean[c], mu, m2[c], q);
    }

    /* Tensor statistics of shards appended equal those of the whole, to
     * the precision of stats_compute itself (its lanes sum blocks in float
     * before double: ~1e-9 relative on the std here). */
    static float t[3000];
    for (int i = 0; i < 3000; i++) t[i] = (float)(1000.0 + rng_normal(&g));
    t[2100] = NAN;
    t[2500] = INFINITY;
    tensor_stats whole, merged, part;
    stats_compute(t, 3000, &whole);
    stats_clear(&merged);
    const int edges[4] = {0, 1000, 2000, 3000};
    for (int p = 0; p < 3; p++) {
        stats_compute(t + edges[p], (size_t)(edges[p + 1] - edges[p]), &part);
        dist_stats_append(&merged, &part);
    }
    CHECK(merged.count == whole.count && merged.nan_count == 1 && merged.posinf_count == 1 &&
              merged.first_nonfinite == 2100 && merged.min == whole.min && merged.max == whole.max,
          "appended statistics: count %lld, first non-finite %lld", (long long)merged.count,
          (long long)merged.first_nonfinite);
    CHECK(fabs(stats_mean(&merged) - stats_mean(&whole)) <= 1e-12 * 1000 &&
              fabs(stats_std(&merged) - stats_std(&whole)) <= 1e-8 * stats_std(&whole),
          "appended mean/std %.15g/%.15g vs %.15g/%.15g", stats_mean(&merged), stats_std(&merged), stats_mean(&whole),
          stats_std(&whole));
    CHECK(dist_stats_rule("output_grad", 1) == DIST_SHARDED && dist_stats_rule("kernel.grad", 0) == DIST_REPLICATED &&
              dist_stats_rule("batch_mean", 0) == DIST_SHARDED && dist_stats_rule("batch_mean", 1) == DIST_REPLICATED,
          "which statistics are sharded");
    CHECK(dist_metric_combine(DIST_SAMPLE_MEAN, 0.5, 1.0, 3, 1) == 0.625 && dist_metric_combine(DIST_MIN, 2, 1, 1, 1) == 1,
          "metric combination");
}

/* ------------------------------------- synchronized BatchNorm, in-process */

/* A second replica played by the test: its cells are known, so the
 * reductions the layer asks for can be answered for it directly. */
typedef struct fake_replica {
    const float *x, *dy;
    size_t cells;
    int channels;
    const batchnorm_batch *global; /* the statistics replica A normalized with */
} fake_replica;

static void fake_merge_moments(void *context, int channels, double *count, double *mean, double *m2)
{
    const fake_replica *b = context;
    double gathered[2 * 3 * 8];
    for (int c = 0; c < channels; c++) {
        double mu = 0.0, q = 0.0;
        for (size_t i = 0; i < b->cells; i++) mu += b->x[i * channels + c];
        mu /= (double)b->cells;
        for (size_t i = 0; i < b->cells; i++) q += (b->x[i * channels + c] - mu) * (b->x[i * channels + c] - mu);
        gathered[c] = count[c];
        gathered[channels + c] = mean[c];
        gathered[2 * channels + c] = m2[c];
        gathered[3 * channels + c] = (double)b->cells;
        gathered[4 * channels + c] = mu;
        gathered[5 * channels + c] = q;
    }
    dist_moments_merge(2, channels, gathered, count, mean, m2);
}

static void fake_sum(void *context, double *values, int n)
{
    const fake_replica *b = context;
    const int C = b->channels;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < b->cells; i++) {
            float xhat = (b->x[i * C + c] - b->global->mean[c]) * b->global->inverse_std[c];
            values[c] += b->dy[i * C + c];
            values[C + c] += (double)b->dy[i * C + c] * xhat;
        }
    values[n - 1] += (double)b->cells;
}

/* Replica A (the first 120 of 200 cells) with --sync-bn's reductions
 * equals BatchNorm over all 200 cells, at mean^2/var ~ 1e12-1e13, where
 * E[x^2] - E[x]^2 in double is off by percents (2.7 % at mean 3e6). */
static void test_sync_batchnorm(void)
{
    enum { CELLS = 200, A = 120, C = 3 };
    static float x[CELLS * C], dy[CELLS * C], y_ref[CELLS * C], dx_ref[CELLS * C], y[A * C], dx[A * C];
    float gamma[C] = {1.5f, 0.5f, 2.0f}, beta[C] = {0.1f, -0.2f, 0.3f};
    float stats_ref[3 * C], stats[3 * C], mm_ref[C] = {0}, mv_ref[C] = {1, 1, 1}, mm[C] = {0}, mv[C] = {1, 1, 1};
    float dg_ref[C], db_ref[C], dg[C], dbeta[C];
    static float workspace[4096];
    rng g;
    rng_seed(&g, 11, 2);
    for (int i = 0; i < CELLS * C; i++) {
        x[i] = (float)(1e6 * (1 + i % C) + rng_normal(&g));
        dy[i] = (float)rng_normal(&g);
    }
    batchnorm_batch ref = {.mean = stats_ref, .variance = stats_ref + C, .inverse_std = stats_ref + 2 * C};
    batchnorm_forward_train(CELLS, C, x, gamma, beta, y_ref, &ref, mm_ref, mv_ref, workspace);
    batchnorm_backward(CELLS, C, x, gamma, &ref, dy, dg_ref, db_ref, dx_ref, 0, workspace);

    batchnorm_batch mine = {.mean = stats, .variance = stats + C, .inverse_std = stats + 2 * C};
    fake_replica other = {x + A * C, dy + A * C, CELLS - A, C, &mine};
    batchnorm_sync sync = {fake_merge_moments, fake_sum, &other};
    mine.sync = &sync;
    batchnorm_forward_train(A, C, x, gamma, beta, y, &mine, mm, mv, workspace);
    batchnorm_backward(A, C, x, gamma, &mine, dy, dg, dbeta, dx, 0, workspace);
    double worst_var = 0, worst_y = 0, worst_dx = 0;
    int moving_ok = 1;
    for (int c = 0; c < C; c++) {
        worst_var = fmax(worst_var, fabs(mine.variance[c] - ref.variance[c]) / ref.variance[c]);
        moving_ok &= fabsf(mm[c] - mm_ref[c]) <= 1e-6f * fabsf(mm_ref[c]) && fabsf(mv[c] - mv_ref[c]) <= 1e-6f;
    }
    for (int i = 0; i < A * C; i++) {
        worst_y = fmax(worst_y, fabs(y[i] - y_ref[i]));
        worst_dx = fmax(worst_dx, fabs(dx[i] - dx_ref[i]));
    }
    /* Bounds: float32 rounding of the stored statistics (x is ~1e6, its
     * ulp 0.06 of a unit variance) seen through the normalization. */
    CHECK(worst_var <= 1e-5, "--sync-bn variance off by %.3g relative", worst_var);
    CHECK(worst_y <= 1e-4 && worst_dx <= 1e-4, "--sync-bn output off by %.3g, dx by %.3g", worst_y, worst_dx);
    CHECK(moving_ok, "--sync-bn moving statistics match the whole batch's");
    printf("sync-bn layer at mean 1e6: variance %.2g relative, y %.2g, dx %.2g off the whole batch\n", worst_var,
           worst_y, worst_dx);
}

/* ------------------------------------------------------ --sync-bn == 1 */

#define DP "--batch=6", "--train-clips=18", "--val-clips=8", "--epochs=1", "--seed=3"

/* With --sync-bn, 2 ranks are the single-process run of the same global
 * batch: losses, val_loss, weights, Adam state and moving statistics. */
static void test_sync_bn(const char *tmp)
{
    char single[4300], multi[4300], out[1 << 14];
    snprintf(single, sizeof single, "%s/single", tmp);
    snprintf(multi, sizeof multi, "%s/sync", tmp);
    int a = run(out, sizeof out, 0, "train", SMALL, DP, "--out", single, NULL);
    CHECK(a == 0, "single-process run: exit %d\n%s", a, out);
    int b = run(out, sizeof out, 2, "train", SMALL, DP, "--sync-bn", "--bucket-mb=0.01", "--out", multi, NULL);
    CHECK(b == 0, "2 ranks --sync-bn: exit %d\n%s", b, out);
    double la[8], lb[8], worst;
    int na = test_db_losses(single, la, 8), nb = test_db_losses(multi, lb, 8);
    CHECK(na == 3 && nb == 3, "3 steps each, got %d and %d", na, nb);
    CHECK(na == nb && losses_close(la, lb, na, 2e-5, &worst), "--sync-bn losses differ by %.3g relative", worst);
    printf("sync-bn: losses %.7f %.7f %.7f vs %.7f %.7f %.7f (worst %.2g relative)\n", la[0], la[1], la[2], lb[0],
           lb[1], lb[2], worst);
    double va = test_db_double(single, "SELECT val_loss FROM epochs WHERE epoch = 1");
    double vb = test_db_double(multi, "SELECT val_loss FROM epochs WHERE epoch = 1");
    CHECK(fabs(va - vb) <= 2e-5 * fabs(va), "--sync-bn val_loss %.9g vs %.9g", vb, va);
    /* The merged statistics of a sharded tensor cover the whole batch. */
    const char *sql = "SELECT count || ' ' || mean || ' ' || std FROM stats WHERE step = 2 AND tensor = 'output' "
                      "AND layer_id = (SELECT layer_id FROM layers WHERE name = 'conv3d_1')";
    char sa[128], sb[128];
    test_db_row(single, sql, sa, sizeof sa);
    test_db_row(multi, sql, sb, sizeof sb);
    long ca = 0, cb = 0;
    double ma = 0, mb = 0, da = 0, dbv = 0;
    sscanf(sa, "%ld %lf %lf", &ca, &ma, &da);
    sscanf(sb, "%ld %lf %lf", &cb, &mb, &dbv);
    CHECK(ca > 0 && ca == cb && fabs(ma - mb) <= 1e-5 * fabs(da) + 1e-7 && fabs(da - dbv) <= 1e-5 * da,
          "merged conv3d_1 output statistics '%s' vs '%s'", sb, sa);
    test_db_row(multi, "SELECT count(*) FROM input_samples WHERE step = 3", sb, sizeof sb);
    CHECK(atoi(sb) == 6, "rank 0 wrote all 6 clips of the global batch, got %s", sb);

    model ma_model, mb_model;
    checkpoint_state sa_state, sb_state;
    if (load_checkpoint(single, &ma_model, &sa_state) == 0) {
        if (load_checkpoint(multi, &mb_model, &sb_state) == 0) {
            model start;
            int bad = -1;
            if (initial_model(&start, 3) == 0) {
                bad = compare_models(&mb_model, &ma_model, &start, 1e-3, 3, &worst);
                model_free(&start);
            }
            CHECK(bad == 0, "--sync-bn: %d tensors of weights or moving statistics out of tolerance", bad);
            CHECK(sa_state.step == 3 && sb_state.step == 3 && sa_state.adam_t == sb_state.adam_t,
                  "checkpoint steps %ld, %ld", sa_state.step, sb_state.step);
            printf("sync-bn: worst tensor %s differs by %.2g of its 3-step change (tolerance 1e-2)\n",
                   worst_tensor, worst);
            model_free(&mb_model);
        } else {
            CHECK(0, "no checkpoint from the 2-rank run");
        }
        model_free(&ma_model);
    } else {
        CHECK(0, "no checkpoint from the single-process run");
    }

    /* Resume on a different number of ranks: 3 more steps on 3 ranks from
     * the 2-rank checkpoint equal 3 more single-process steps. */
    a = run(out, sizeof out, 0, "train", "--resume", single, "--epochs=2", "--quiet", "--no-report", NULL);
    CHECK(a == 0, "single-process resume: exit %d\n%s", a, out);
    b = run(out, sizeof out, 3, "train", "--resume", multi, "--epochs=2", "--quiet", "--no-report", NULL);
    CHECK(b == 0, "resume of a 2-rank run on 3 ranks: exit %d\n%s", b, out);
    na = test_db_losses(single, la, 8);
    nb = test_db_losses(multi, lb, 8);
    CHECK(na == 6 && nb == 6 && losses_close(la, lb, 6, 2e-5, &worst),
          "resumed on 3 ranks: %d and %d steps, worst loss error %.3g", na, nb, worst);
}

/* ------------------------------------------- per-replica BatchNorm */

/* train.c's batch order: a seeded permutation per (epoch, pass). */
static void epoch_order(long *order, long n, long long seed, long epoch)
{
    rng g;
    rng_seed(&g, (uint64_t)seed ^ ((uint64_t)epoch << 32), RNG_STREAM_SHUFFLE);
    for (long i = 0; i < n; i++) order[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)rng_below(&g, (uint64_t)i + 1);
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* The reference of per-replica BatchNorm (see the top of the file): 3
 * steps of a global batch of 7 split 3, 2, 2. */
static int replica_reference(model *m, double *losses, int ranks, int batch, int steps, long long seed)
{
    error err;
    dataset *data;
    dataset_config dc = {.source = "synthetic", .classes = 4, .train_clips = 21, .val_clips = 0,
                         .seed = (uint64_t)seed, .normalize = NORMALIZE_SCALE, .clip = {8, 32, 32, 3}};
    if (dataset_open(&data, &dc, &err)) return -1;
    model_config mc = small_config;
    mc.batch = dist_shard_capacity(batch, ranks);
    if (model_build(m, &mc, &err)) {
        dataset_close(data);
        return -1;
    }
    model_init_weights(m, INIT_HE_NORMAL, (uint64_t)seed);
    const float l2 = 1e-4f, lr = 1e-3f;
    double kernel_squares = model_l2_penalty(m, 1.0f);
    const size_t grads = m->gradients.used, moving = m->moving.used;
    float *sum = malloc(sizeof(float) * grads), *start = malloc(sizeof(float) * moving),
          *mean = malloc(sizeof(float) * moving);
    long order[21], ids[8];
    int labels[8];
    adam_config adam = ADAM_KERAS_DEFAULTS;
    epoch_order(order, 21, seed, 0);
    for (int step = 0; step < steps; step++) {
        memset(sum, 0, sizeof(float) * grads);
        memset(mean, 0, sizeof(float) * moving);
        memcpy(start, m->moving.base, sizeof(float) * moving);
        double loss = 0.0;
        for (int r = 0; r < ranks; r++) {
            dist_shard s = dist_shard_of(batch, r, ranks);
            for (int i = 0; i < s.count; i++) ids[i] = order[step * batch + s.start + i];
            memcpy(m->moving.base, start, sizeof(float) * moving);
            model_set_batch(m, s.count);
            if (dataset_read_batch(data, SPLIT_TRAIN, ids, s.count, model_input(m), labels, &err)) return -1;
            model_forward(m, 1);
            loss_result lr_ = loss_from_logits(s.count, 4, model_logits(m), labels, model_logits_gradient(m));
            const float share = (float)s.count / (float)batch;
            float *dz = model_logits_gradient(m);
            for (int i = 0; i < s.count * 4; i++) dz[i] *= share;
            loss += lr_.loss * s.count / batch;
            model_backward(m);
            for (size_t i = 0; i < grads; i++) sum[i] += m->gradients.base[i];
            for (size_t i = 0; i < moving; i++) mean[i] += m->moving.base[i] / (float)ranks;
        }
        memcpy(m->gradients.base, sum, sizeof(float) * grads);
        memcpy(m->moving.base, mean, sizeof(float) * moving);
        losses[step] = loss + l2 * kernel_squares;
        kernel_squares = optimizer_step(m, &adam, lr, step + 1, l2, NULL);
    }
    free(sum);
    free(start);
    free(mean);
    dataset_close(data);
    return 0;
}

static void test_per_replica(const char *tmp)
{
    char dir[4300], out[1 << 14];
    snprintf(dir, sizeof dir, "%s/replica", tmp);
    int rc = run(out, sizeof out, 3, "train", SMALL, "--batch=7", "--train-clips=21", "--val-clips=0", "--seed=5",
                 "--max-steps=3", "--out", dir, NULL);
    CHECK(rc == 0, "3 ranks, per-replica BatchNorm: exit %d\n%s", rc, out);
    double got[8], want[8], worst;
    int n = test_db_losses(dir, got, 8);
    model ref, ranks;
    checkpoint_state state;
    if (replica_reference(&ref, want, 3, 7, 3, 5) != 0) {
        CHECK(0, "the per-replica reference could not run");
        return;
    }
    CHECK(n == 3 && losses_close(got, want, 3, 2e-5, &worst), "per-replica losses: %d steps, worst %.3g", n, worst);
    printf("per-replica: losses %.7f %.7f %.7f vs reference %.7f %.7f %.7f\n", got[0], got[1], got[2], want[0],
           want[1], want[2]);
    if (load_checkpoint(dir, &ranks, &state) == 0) {
        model start;
        int bad = -1;
        if (initial_model(&start, 5) == 0) {
            bad = compare_models(&ranks, &ref, &start, 1e-3, 3, &worst);
            model_free(&start);
        }
        CHECK(bad == 0, "per-replica: %d tensors of weights or moving statistics out of tolerance", bad);
        printf("per-replica: worst tensor %s differs by %.2g of its 3-step change (tolerance 1e-2)\n",
               worst_tensor, worst);
        model_free(&ranks);
    } else {
        CHECK(0, "no checkpoint from the 3-rank run");
    }
    model_free(&ref);
}

/* --------------------------------------------------- the sentinel */

/* A NaN planted in position 4 of the global batch of 6 (rank 1's sample 1)
 * is named with rank 1, that clip's id and the element; every rank stops. */
static void test_nan_on_rank_1(const char *tmp)
{
    char dir[4300], out[1 << 14];
    snprintf(dir, sizeof dir, "%s/nan", tmp);
    int rc = run(out, sizeof out, 2, "train", SMALL, DP, "--epochs=3", "--inject=nan-input@step=2,sample=4",
                 "--out", dir, NULL);
    CHECK(rc == 3, "NaN on rank 1: exit %d (3 expected)\n%s", rc, out);
    char message[1024], ids[256], where[256];
    test_db_row(dir, "SELECT message FROM events WHERE kind = 'nan' ORDER BY step LIMIT 1", message, sizeof message);
    test_db_row(dir, "SELECT sample_ids FROM steps WHERE step = 2", ids, sizeof ids);
    test_db_row(dir, "SELECT step || ' ' || pass || ' ' || sample || ' ' || sample_id || ' ' || element_index || ' ' || "
                   "is_origin FROM events WHERE kind = 'nan'", where, sizeof where);
    long id4 = -1;
    {
        /* The 5th id of step 2's global batch. */
        const char *p = ids;
        for (int k = 0; k < 4 && p; k++) p = strchr(p, ','), p = p ? p + 1 : NULL;
        if (p) id4 = atol(p);
    }
    char expect[128];
    snprintf(expect, sizeof expect, "2 input 4 %ld ", id4);
    CHECK(strstr(message, "on rank 1 of 2") != NULL, "the NaN event names rank 1: '%s'", message);
    CHECK(id4 >= 0 && strncmp(where, expect, strlen(expect)) == 0 && strstr(message, "position 4"),
          "the event is at step 2, global position 4, clip %ld: '%s'", id4, where);
    CHECK(strcmp(where + strlen(where) - 2, " 1") == 0, "the NaN originated in the input: '%s'", where);
    double steps = test_db_double(dir, "SELECT max(step) FROM steps");
    CHECK(steps == 2, "every rank stopped at step 2, the database has %g steps", steps);
    /* The same place as a single process names: layer, pass, tensor,
     * position in the batch, clip, flat element and coordinates. */
    char single[4300], here[256], there[256];
    snprintf(single, sizeof single, "%s/nan-single", tmp);
    rc = run(out, sizeof out, 0, "train", SMALL, DP, "--epochs=3", "--inject=nan-input@step=2,sample=4", "--out",
             single, NULL);
    const char *where_sql = "SELECT step || ' ' || layer_id || ' ' || pass || ' ' || tensor || ' ' || sample || ' ' || "
                            "sample_id || ' ' || element_index || ' ' || d || ' ' || h || ' ' || w || ' ' || channel "
                            "FROM events WHERE kind = 'nan'";
    test_db_row(dir, where_sql, here, sizeof here);
    test_db_row(single, where_sql, there, sizeof there);
    CHECK(rc == 3 && here[0] && strcmp(here, there) == 0, "2 ranks name '%s', one process '%s'", here, there);
    test_db_row(dir, "SELECT status FROM runs", message, sizeof message);
    CHECK(strcmp(message, "nan") == 0, "run status '%s'", message);
}

/* -------------------------------------------------------- a lost rank */

/* The pid of the rank-`rank` process whose command line mentions `dir`. */
static pid_t find_rank(int rank, const char *dir)
{
    DIR *proc = opendir("/proc");
    if (!proc) return -1;
    pid_t found = -1;
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    for (struct dirent *e; found < 0 && (e = readdir(proc));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buffer[65536];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t n = fread(buffer, 1, sizeof buffer - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (!buffer[i]) buffer[i] = ' ';
        buffer[n] = '\0';
        if (!strstr(buffer, dir) || strstr(buffer, "mpirun")) continue;
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        f = fopen(path, "rb");
        if (!f) continue;
        n = fread(buffer, 1, sizeof buffer - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i += strlen(buffer + i) + 1) {
            buffer[n] = '\0';
            if (strcmp(buffer + i, want) == 0) found = (pid_t)atol(e->d_name);
        }
    }
    closedir(proc);
    return found;
}

/* Rank 1 is killed (SIGKILL: mpirun sees it die) or frozen (SIGSTOP: it
 * never answers, so the others' collective times out after
 * NANPROBE_MPI_TIMEOUT seconds); either way the run ends, with a message
 * that says why, and the database is intact. */
static void lost_rank(const char *tmp, int signal_number, const char *expect)
{
    char dir[4300], log[4400], np[] = "2";
    snprintf(dir, sizeof dir, "%s/lost-%d", tmp, signal_number);
    snprintf(log, sizeof log, "%s/lost-%d.log", tmp, signal_number);
    pid_t launcher = fork();
    if (launcher == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("NANPROBE_MPI_TIMEOUT", "10", 1);
        char *argv[] = {mpirun, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", np, "-x",
                        mpi_asan_options, (char *)nanprobe, "train", SMALL, DP, "--epochs=1000", "--out", dir, NULL};
        execv(mpirun, argv);
        _exit(127);
    }
    /* Wait for a few committed steps, then kill rank 1 with SIGKILL. */
    pid_t victim = -1;
    for (int i = 0; i < 600; i++) {
        struct timespec pause = {0, 50000000};
        nanosleep(&pause, NULL);
        if (victim < 0) victim = find_rank(1, dir);
        double steps = test_db_double(dir, "SELECT max(step) FROM steps");
        if (victim > 0 && steps >= 3) break;
    }
    CHECK(victim > 0, "found rank 1's process");
    if (victim > 0) kill(victim, signal_number);
    /* The others must stop on their own: 60 s at most. */
    int status = 0, done = 0;
    for (int i = 0; i < 1200 && !done; i++) {
        done = waitpid(launcher, &status, WNOHANG) == launcher;
        struct timespec pause = {0, 50000000};
        if (!done) nanosleep(&pause, NULL);
    }
    if (!done) {
        kill(launcher, SIGKILL);
        waitpid(launcher, &status, 0);
    }
    if (victim > 0 && signal_number == SIGSTOP) kill(victim, SIGKILL); /* should be gone already */
    CHECK(done, "the other rank did not stop within 60 s of rank 1's %s", strsignal(signal_number));
    CHECK(done && !(WIFEXITED(status) && WEXITSTATUS(status) == 0), "mpirun exit status %d after a lost rank",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    char *text = test_read_file(log, NULL);
    CHECK(text && strstr(text, expect) != NULL, "the message says '%s':\n%s", expect, text ? text : "");
    free(text);
    char check[256];
    test_db_row(dir, "PRAGMA integrity_check", check, sizeof check);
    CHECK(strcmp(check, "ok") == 0, "integrity_check after rank 1's %s: '%s'", strsignal(signal_number), check);
    double steps = test_db_double(dir, "SELECT max(step) FROM steps"), count = test_db_double(dir, "SELECT count(*) FROM steps");
    CHECK(steps >= 3 && steps == count, "steps 1..%g contiguous (%g rows)", steps, count);
}

/* ------------------------------------------------------------ ablate */

static void test_ablate(const char *tmp)
{
    char one[4300], two[4300], out[1 << 15];
    snprintf(one, sizeof one, "%s/ablate-jobs1", tmp);
    snprintf(two, sizeof two, "%s/ablate-mpi", tmp);
#define ARMS "--grid=init=he_normal,glorot_uniform", "--grid=lr=1e-3,3e-3", SMALL, "--batch=4", "--train-clips=12", \
             "--val-clips=4", "--epochs=1"
    int a = run(out, sizeof out, 0, "ablate", ARMS, "--jobs=1", "--out", one, NULL);
    CHECK(a == 0, "ablate --jobs 1: exit %d\n%s", a, out);
    int b = run(out, sizeof out, 2, "ablate", ARMS, "--out", two, NULL);
    CHECK(b == 0, "ablate over 2 ranks: exit %d\n%s", b, out);
    CHECK(strstr(out, "4 arms") != NULL && strstr(out, "2 ranks") != NULL, "ablate says how it spreads:\n%s", out);
    const char *arms[] = {"arm-1-init_he_normal_lr_1e-3", "arm-2-init_he_normal_lr_3e-3",
                          "arm-3-init_glorot_uniform_lr_1e-3", "arm-4-init_glorot_uniform_lr_3e-3"};
    for (int i = 0; i < 4; i++) {
        char arm_one[4500], arm_two[4500];
        snprintf(arm_one, sizeof arm_one, "%s/%s", one, arms[i]);
        snprintf(arm_two, sizeof arm_two, "%s/%s", two, arms[i]);
        double la[8], lb[8];
        int na = test_db_losses(arm_one, la, 8), nb = test_db_losses(arm_two, lb, 8), same = na == nb && na == 3;
        for (int k = 0; k < na && same; k++) same = la[k] == lb[k];
        double va = test_db_double(arm_one, "SELECT val_loss FROM epochs"), vb = test_db_double(arm_two, "SELECT val_loss FROM epochs");
        CHECK(same && va == vb, "arm %s: the same results over 2 ranks as with --jobs 1 (%d/%d steps)", arms[i], na, nb);
    }
    char index[4400];
    snprintf(index, sizeof index, "%s/compare/index.html", two);
    struct stat st;
    CHECK(stat(index, &st) == 0, "rank 0 wrote the comparison %s", index);

    /* An arm that fails is named; the others complete. */
    snprintf(two, sizeof two, "%s/ablate-fail", tmp);
    b = run(out, sizeof out, 2, "ablate", "--grid=data=synthetic,/nonexistent-npy-dir", SMALL, "--batch=4",
            "--train-clips=8", "--val-clips=0", "--epochs=1", "--out", two, NULL);
    CHECK(b == 1, "ablate with a failing arm over 2 ranks: exit %d\n%s", b, out);
    CHECK(strstr(out, "data=/nonexistent-npy-dir") && strstr(out, "FAILED") && strstr(out, "data=synthetic"),
          "the failed arm is reported by name:\n%s", out);
    snprintf(index, sizeof index, "%s/arm-1-data_synthetic", two);
    double steps = test_db_double(index, "SELECT count(*) FROM steps");
    CHECK(steps == 2, "the good arm completed its 2 steps (%g)", steps);
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    if (test_sanitized())
        snprintf(mpi_asan_options, sizeof mpi_asan_options, "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1");
    test_merges();
    test_sync_batchnorm();
    if (find_mpirun() != 0) {
        CHECK(0, "mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev); the MPI tests cannot run");
        return test_finish();
    }
    char tmp[256];
    if (test_temp_dir(tmp, sizeof tmp, "mpi")) {
        CHECK(0, "cannot create a temporary directory");
        return test_finish();
    }
    time_t t0 = time(NULL);
    test_sync_bn(tmp);
    test_per_replica(tmp);
    test_nan_on_rank_1(tmp);
    lost_rank(tmp, SIGKILL, "process rank 1");
    lost_rank(tmp, SIGSTOP, "no answer from the other ranks");
    test_ablate(tmp);
    printf("MPI tests: %ld s\n", (long)(time(NULL) - t0));
    test_remove_tree(tmp);
    return test_finish();
}
