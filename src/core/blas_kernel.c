/* blas_kernel.c: the OpenBLAS kernel decision, the re-execution that
 * applies it, and the sgemm check and rate (see blas_kernel.h). */
#include "blas_kernel.h"

#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gemm.h"

/* Declared by OpenBLAS' cblas.h in most versions; repeated here so an older
 * header still compiles. */
char *openblas_get_corename(void);
char *openblas_get_config(void);

const char *const blas_choice_names[BLAS_CHOICE_COUNT] = {
    [BLAS_CHOICE_LIBRARY] = "library",
    [BLAS_CHOICE_NANPROBE] = "nanprobe",
    [BLAS_CHOICE_USER] = "user",
    [BLAS_CHOICE_FALLBACK] = "fallback",
};
_Static_assert(sizeof blas_choice_names / sizeof blas_choice_names[0] == BLAS_CHOICE_COUNT,
               "one name per blas_choice");

/* OpenBLAS 0.3.21's x86-64 core names (driver/others/dynamic.c) by the
 * widest vectors their sgemm kernels use. */
static const struct {
    const char *name;
    int tier;
} core_tiers[] = {
    {"Unknown", 0},    {"Katmai", 0},     {"Coppermine", 0},   {"Northwood", 0}, {"Prescott", 0},
    {"Banias", 0},     {"Atom", 0},       {"Core2", 0},        {"Penryn", 0},    {"Dunnington", 0},
    {"Nehalem", 0},    {"Athlon", 0},     {"Opteron", 0},      {"Opteron_SSE3", 0}, {"Barcelona", 0},
    {"Nano", 0},       {"Bobcat", 0},     {"Sandybridge", 1},  {"Bulldozer", 1}, {"Piledriver", 1},
    {"Steamroller", 1}, {"Excavator", 1}, {"Haswell", 2},      {"Zen", 2},       {"SkylakeX", 3},
    {"Cooperlake", 3}, {"SapphireRapids", 3},
};

int blas_kernel_tier(const char *core)
{
    if (!core) return -1;
    for (size_t i = 0; i < sizeof core_tiers / sizeof core_tiers[0]; i++)
        if (strcasecmp(core, core_tiers[i].name) == 0) return core_tiers[i].tier;
    return -1;
}

const char *blas_kernel_best(const cpu_info *cpu)
{
    if (cpu_has(cpu, CPU_AVX512F) && cpu_has(cpu, CPU_AVX512BW) && cpu_has(cpu, CPU_AVX512DQ) &&
        cpu_has(cpu, CPU_AVX512VL))
        return "SkylakeX";
    if (cpu_has(cpu, CPU_AVX2) && cpu_has(cpu, CPU_FMA)) return cpu->vendor == CPU_VENDOR_AMD ? "Zen" : "Haswell";
    return NULL;
}

static void copy_name(char *out, size_t size, const char *text, size_t length)
{
    if (length >= size) length = size - 1;
    memcpy(out, text, length);
    out[length] = '\0';
}

/* The marker's two forms; returns 0 if it is neither. */
static int marker_parse(const char *marker, char kernel[32], char detected[32])
{
    kernel[0] = detected[0] = '\0';
    if (!marker) return 0;
    if (strncmp(marker, "upgrade:", 8) == 0) {
        copy_name(detected, 32, marker + 8, strlen(marker + 8));
        return 'u';
    }
    if (strncmp(marker, "fallback:", 9) == 0) {
        const char *rest = marker + 9, *colon = strchr(rest, ':');
        if (!colon) return 0;
        copy_name(kernel, 32, rest, (size_t)(colon - rest));
        copy_name(detected, 32, colon + 1, strlen(colon + 1));
        return 'f';
    }
    return 0;
}

void blas_kernel_plan(const cpu_info *cpu, const char *library_core, const blas_environment *env, blas_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    const char *core = library_core ? library_core : "Unknown";
    copy_name(plan->kernel, sizeof plan->kernel, core, strlen(core));
    copy_name(plan->detected, sizeof plan->detected, core, strlen(core));
    plan->choice = BLAS_CHOICE_LIBRARY;
    snprintf(plan->reason, sizeof plan->reason, "library's own choice");
    char failed[32], detected[32];
    int stage = marker_parse(env->marker, failed, detected);
    if (stage == 'f') {
        plan->choice = BLAS_CHOICE_FALLBACK;
        copy_name(plan->detected, sizeof plan->detected, detected, strlen(detected));
        snprintf(plan->reason, sizeof plan->reason, "library's own choice: the %s kernel failed a sgemm check", failed);
        return;
    }
    /* "upgrade:" without the variable is a stale marker, not our child. */
    if (stage == 'u' && env->user_coretype) {
        plan->choice = BLAS_CHOICE_NANPROBE;
        copy_name(plan->detected, sizeof plan->detected, detected, strlen(detected));
        snprintf(plan->reason, sizeof plan->reason, "the library detected %s on this CPU", detected);
        return;
    }
    if (env->user_coretype) {
        plan->choice = BLAS_CHOICE_USER;
        snprintf(plan->reason, sizeof plan->reason, "OPENBLAS_CORETYPE=%.60s set by the user", env->user_coretype);
        return;
    }
    if (env->keep_library) {
        snprintf(plan->reason, sizeof plan->reason, "library's own choice, kept by NANPROBE_BLAS_KERNEL=library");
        return;
    }
    const char *best = blas_kernel_best(cpu);
    int have = blas_kernel_tier(core), want = blas_kernel_tier(best);
    if (!best || have < 0 || have >= want) return;
    plan->choice = BLAS_CHOICE_NANPROBE;
    plan->reexec = 1;
    copy_name(plan->kernel, sizeof plan->kernel, best, strlen(best));
    snprintf(plan->reason, sizeof plan->reason, "the library detected %s on this CPU", core);
}

/* ---------------------------------------------------------- sgemm check */

static float lcg_uniform(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* C = A B + 0.5 C0 for row-major A (M x K) and B (K x N); `transposed`
 * stores A as K x M and B as N x K and calls the TT variant.  Returns the
 * largest |C - reference| / bound, the bound being 2 K eps (sum |a||b| +
 * 0.5 |c0|): any summation order of a correct kernel stays below 1/2. */
static double sgemm_case(int transposed)
{
    enum { M = 37, N = 29, K = 67 };
    float a[M * K], b[K * N], c[M * N], c0[M * N];
    unsigned state = 12345u + (unsigned)transposed;
    for (int i = 0; i < M * K; i++) a[i] = lcg_uniform(&state);
    for (int i = 0; i < K * N; i++) b[i] = lcg_uniform(&state);
    for (int i = 0; i < M * N; i++) c[i] = c0[i] = lcg_uniform(&state);
    if (transposed)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, M, N, K, 1.0f, a, M, b, K, 0.5f, c, N);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.5f, c, N);
    if (getenv(BLAS_KERNEL_TEST_BAD_SGEMM)) c[M * N / 2] += 1.0f;
    double worst = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0.5 * c0[i * N + j], magnitude = 0.5 * fabs(c0[i * N + j]);
            for (int k = 0; k < K; k++) {
                double x = transposed ? a[k * M + i] : a[i * K + k], y = transposed ? b[j * K + k] : b[k * N + j];
                sum += x * y;
                magnitude += fabs(x * y);
            }
            double bound = 2.0 * K * FLT_EPSILON * magnitude + FLT_MIN, e = fabs(c[i * N + j] - sum) / bound;
            if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
        }
    return worst;
}

int blas_kernel_check_sgemm(double *worst)
{
    double e = sgemm_case(0), t = sgemm_case(1);
    double w = e > t ? e : t;
    if (worst) *worst = w;
    return w <= 1.0;
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double blas_kernel_sgemm_rate(int n, int threads, double seconds)
{
    float *a = malloc(sizeof(float) * (size_t)n * (size_t)n * 3);
    if (!a) return 0.0;
    float *b = a + (size_t)n * n, *c = b + (size_t)n * n;
    unsigned state = 7u;
    for (size_t i = 0; i < (size_t)n * n * 2; i++) a[i] = lcg_uniform(&state);
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads > 0 ? threads : saved);
    gemm_parallel(CblasNoTrans, CblasNoTrans, n, n, n, a, n, b, n, 0.0f, c, n); /* warm-up: packing buffers */
    double best = 0.0, start = seconds_now();
    do {
        double t0 = seconds_now();
        gemm_parallel(CblasNoTrans, CblasNoTrans, n, n, n, a, n, b, n, 0.0f, c, n);
        double rate = 2.0 * n * (double)n * n / (seconds_now() - t0) * 1e-9;
        if (rate > best) best = rate;
    } while (seconds_now() - start < seconds);
    omp_set_num_threads(saved);
    free(a);
    return best;
}

/* ------------------------------------------------------------ selection */

static void library_name(char *out, size_t size)
{
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": the first two words. */
    const char *config = openblas_get_config();
    const char *space = config ? strchr(config, ' ') : NULL;
    size_t length = space ? strcspn(space + 1, " ") + (size_t)(space - config) + 1 : (config ? strlen(config) : 0);
    copy_name(out, size, config ? config : "OpenBLAS", length);
}

/* Replaces this process with /proc/self/exe argv under the environment just
 * set; returns only on failure, with errno's text in `why`. */
static void reexecute(char **argv, char *why, size_t size)
{
    fflush(NULL);
    execv("/proc/self/exe", argv);
    snprintf(why, size, "%s", strerror(errno));
}

static int read_environment(blas_environment *env, error *err)
{
    memset(env, 0, sizeof *env);
    const char *user = getenv("OPENBLAS_CORETYPE");
    env->user_coretype = user && *user ? user : NULL;
    env->marker = getenv(BLAS_KERNEL_MARKER);
    const char *keep = getenv("NANPROBE_BLAS_KERNEL");
    if (keep && *keep && strcmp(keep, "auto") != 0 && strcmp(keep, "library") != 0)
        return error_set(err, "NANPROBE_BLAS_KERNEL='%.100s': expected auto (the default) or library", keep);
    env->keep_library = keep && strcmp(keep, "library") == 0;
    return 0;
}

/* The chosen kernel failed the check: once more without it. */
static void fall_back(char **argv, blas_selection *s)
{
    char marker[96], why[128];
    snprintf(marker, sizeof marker, "fallback:%s:%s", s->plan.kernel, s->plan.detected);
    setenv(BLAS_KERNEL_MARKER, marker, 1);
    unsetenv("OPENBLAS_CORETYPE");
    reexecute(argv, why, sizeof why);
    snprintf(s->warning, sizeof s->warning,
             "the %s kernel failed a sgemm check and re-executing without it failed (%s): results may be wrong",
             s->plan.kernel, why);
}

int blas_kernel_select(char **argv, blas_selection *s, error *err)
{
    memset(s, 0, sizeof *s);
    cpu_detect(&s->cpu);
    library_name(s->library, sizeof s->library);
    blas_environment env;
    if (read_environment(&env, err)) return -1;
    const char *core = openblas_get_corename(), *pretend = getenv(BLAS_KERNEL_TEST_DETECTED);
    blas_kernel_plan(&s->cpu, pretend && *pretend && !env.marker ? pretend : core, &env, &s->plan);
    if (s->plan.reexec) {
        char marker[64], why[128];
        snprintf(marker, sizeof marker, "upgrade:%s", s->plan.detected);
        setenv("OPENBLAS_CORETYPE", s->plan.kernel, 1);
        setenv(BLAS_KERNEL_MARKER, marker, 1);
        reexecute(argv, why, sizeof why);
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv(BLAS_KERNEL_MARKER);
        snprintf(s->warning, sizeof s->warning, "could not re-execute with the %s kernel (%s)", s->plan.kernel, why);
        s->plan.reexec = 0;
        s->plan.choice = BLAS_CHOICE_LIBRARY;
        snprintf(s->plan.reason, sizeof s->plan.reason, "library's own choice");
    }
    /* What runs now is what the library reports, whatever was asked. */
    copy_name(s->plan.kernel, sizeof s->plan.kernel, core ? core : "Unknown", strlen(core ? core : "Unknown"));
    s->sgemm_ok = blas_kernel_check_sgemm(&s->sgemm_error);
    if (!s->sgemm_ok && s->plan.choice == BLAS_CHOICE_NANPROBE) fall_back(argv, s);
    else if (!s->sgemm_ok)
        snprintf(s->warning, sizeof s->warning,
                 "the %s kernel failed a sgemm check against a plain loop (error %.3g x its bound): results may be wrong",
                 s->plan.kernel, s->sgemm_error);
    return 0;
}

void blas_selection_describe(const blas_selection *s, char *out, unsigned long size)
{
    snprintf(out, size, "%s, %s kernel (%s)", s->library, s->plan.kernel, s->plan.reason);
}

/* jansson escapes (the reason may quote the user's OPENBLAS_CORETYPE); an
 * object too long for `out` becomes "{}", never a cut, invalid one. */
void blas_selection_json(const blas_selection *s, int threads, char *out, unsigned long size)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b}", "library", s->library, "kernel", s->plan.kernel,
                          "choice", blas_choice_names[s->plan.choice], "detected", s->plan.detected, "reason",
                          s->plan.reason, "threads", threads, "sgemm_check", s->sgemm_ok);
    size_t used = o && size > 0 ? json_dumpb(o, out, size, JSON_PRESERVE_ORDER) : 0;
    json_decref(o);
    if (size == 0) return;
    if (used == 0 || used >= size) snprintf(out, size, "{}");
    else out[used] = '\0';
}
