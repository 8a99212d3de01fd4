/* test_blas.c: the BLAS kernel choice.  The decision as a pure function for
 * CPUs this machine is not (an Emerald Rapids that 0.3.21 takes for a
 * Prescott, a Zen 2, an AVX2 Intel, ...); cpuid against /proc/cpuinfo; the
 * sgemm check; and the re-execution for real, through the binary, with the
 * test hook that pretends the library detected Prescott.  The tests never
 * set OPENBLAS_CORETYPE themselves (make check-full does, around them). */
#include <stdarg.h>

#include "blas_kernel.h"
#include "test_db.h"
#include "test_util.h"

static const char *nanprobe;

static unsigned features_of(const cpu_feature *list, int count)
{
    unsigned f = 0;
    for (int i = 0; i < count; i++) f |= 1u << list[i];
    return f;
}

static const cpu_feature avx512_all[] = {CPU_SSE3, CPU_AVX, CPU_FMA, CPU_AVX2, CPU_AVX512F,
                                         CPU_AVX512DQ, CPU_AVX512BW, CPU_AVX512VL};
static const cpu_feature avx2_fma[] = {CPU_SSE3, CPU_AVX, CPU_FMA, CPU_AVX2};

static cpu_info cpu_make(cpu_vendor vendor, unsigned features)
{
    cpu_info c;
    memset(&c, 0, sizeof c);
    c.vendor = vendor;
    c.features = features;
    return c;
}

/* One plan case: expected choice, re-execution and kernel ("" = the
 * library's core), and a phrase the reason must contain. */
static void plan_case(const char *label, const cpu_info *cpu, const char *core, blas_environment env,
                      blas_choice choice, int reexec, const char *kernel, const char *phrase)
{
    blas_plan p;
    blas_kernel_plan(cpu, core, &env, &p);
    const char *want = kernel[0] ? kernel : (core ? core : "Unknown");
    CHECK(p.choice == choice && p.reexec == reexec && strcmp(p.kernel, want) == 0 && strstr(p.reason, phrase),
          "%s: got choice %s reexec %d kernel %s reason '%s'; expected %s %d %s '%s'", label,
          blas_choice_names[p.choice], p.reexec, p.kernel, p.reason, blas_choice_names[choice], reexec, want, phrase);
}

static void test_plan(void)
{
    const blas_environment none = {0};
    cpu_info emerald = cpu_make(CPU_VENDOR_INTEL, features_of(avx512_all, 8));
    cpu_info haswell = cpu_make(CPU_VENDOR_INTEL, features_of(avx2_fma, 4));
    cpu_info zen2 = cpu_make(CPU_VENDOR_AMD, features_of(avx2_fma, 4));
    cpu_info zen4 = cpu_make(CPU_VENDOR_AMD, features_of(avx512_all, 8));
    cpu_info old = cpu_make(CPU_VENDOR_INTEL, 1u << CPU_SSE3 | 1u << CPU_AVX);
    /* AVX-512F without BW/DQ/VL (Knights Landing): not SkylakeX. */
    cpu_info knl = cpu_make(CPU_VENDOR_INTEL, features_of(avx2_fma, 4) | 1u << CPU_AVX512F);
    /* AVX2 without FMA is no Haswell. */
    cpu_info no_fma = cpu_make(CPU_VENDOR_INTEL, 1u << CPU_AVX | 1u << CPU_AVX2);

    plan_case("Emerald Rapids seen as Prescott", &emerald, "Prescott", none, BLAS_CHOICE_NANPROBE, 1, "SkylakeX",
              "the library detected Prescott on this CPU");
    plan_case("Emerald Rapids seen as Sandybridge", &emerald, "Sandybridge", none, BLAS_CHOICE_NANPROBE, 1,
              "SkylakeX", "detected Sandybridge");
    plan_case("Emerald Rapids seen as Haswell", &emerald, "Haswell", none, BLAS_CHOICE_NANPROBE, 1, "SkylakeX",
              "detected Haswell");
    plan_case("SkylakeX kept", &emerald, "SkylakeX", none, BLAS_CHOICE_LIBRARY, 0, "", "library's own choice");
    plan_case("Cooperlake kept", &emerald, "Cooperlake", none, BLAS_CHOICE_LIBRARY, 0, "", "library's own choice");
    plan_case("Haswell CPU seen as Prescott", &haswell, "Prescott", none, BLAS_CHOICE_NANPROBE, 1, "Haswell",
              "detected Prescott");
    plan_case("Haswell kept", &haswell, "Haswell", none, BLAS_CHOICE_LIBRARY, 0, "", "own choice");
    plan_case("Zen 2 seen as Prescott", &zen2, "Prescott", none, BLAS_CHOICE_NANPROBE, 1, "Zen", "detected Prescott");
    plan_case("Zen 2 seen as Excavator", &zen2, "Excavator", none, BLAS_CHOICE_NANPROBE, 1, "Zen", "Excavator");
    plan_case("Zen 2 as Haswell: same class, kept", &zen2, "Haswell", none, BLAS_CHOICE_LIBRARY, 0, "", "own");
    plan_case("Zen 4 seen as Zen", &zen4, "Zen", none, BLAS_CHOICE_NANPROBE, 1, "SkylakeX", "detected Zen");
    plan_case("Zen 4 as Cooperlake kept", &zen4, "Cooperlake", none, BLAS_CHOICE_LIBRARY, 0, "", "own");
    plan_case("AVX-only CPU", &old, "Prescott", none, BLAS_CHOICE_LIBRARY, 0, "", "own choice");
    plan_case("AVX-512F alone", &knl, "Prescott", none, BLAS_CHOICE_NANPROBE, 1, "Haswell", "Prescott");
    plan_case("AVX2 without FMA", &no_fma, "Prescott", none, BLAS_CHOICE_LIBRARY, 0, "", "own choice");
    plan_case("a core newer than the table", &emerald, "Zen5", none, BLAS_CHOICE_LIBRARY, 0, "", "own choice");
    plan_case("no core name", &emerald, NULL, none, BLAS_CHOICE_NANPROBE, 1, "SkylakeX", "detected Unknown");

    blas_environment user = {.user_coretype = "Prescott"};
    plan_case("the user's setting", &emerald, "Prescott", user, BLAS_CHOICE_USER, 0, "", "OPENBLAS_CORETYPE=Prescott");
    blas_environment keep = {.keep_library = 1};
    plan_case("NANPROBE_BLAS_KERNEL=library", &emerald, "Prescott", keep, BLAS_CHOICE_LIBRARY, 0, "",
              "NANPROBE_BLAS_KERNEL=library");
    blas_environment child = {.user_coretype = "SkylakeX", .marker = "upgrade:Prescott"};
    plan_case("the re-executed child", &emerald, "SkylakeX", child, BLAS_CHOICE_NANPROBE, 0, "",
              "the library detected Prescott on this CPU");
    blas_environment stale = {.marker = "upgrade:Prescott"};
    plan_case("a stale marker without the variable", &emerald, "Prescott", stale, BLAS_CHOICE_NANPROBE, 1,
              "SkylakeX", "detected Prescott");
    blas_environment fallback = {.marker = "fallback:SkylakeX:Prescott"};
    plan_case("after a failed check", &emerald, "Prescott", fallback, BLAS_CHOICE_FALLBACK, 0, "",
              "the SkylakeX kernel failed a sgemm check");
    blas_environment fallback_user = {.user_coretype = "Haswell", .marker = "fallback:SkylakeX:Prescott"};
    plan_case("no loop after a fallback", &emerald, "Haswell", fallback_user, BLAS_CHOICE_FALLBACK, 0, "",
              "failed");

    CHECK(blas_kernel_tier("Prescott") == 0 && blas_kernel_tier("Sandybridge") == 1 &&
              blas_kernel_tier("Haswell") == 2 && blas_kernel_tier("Zen") == 2 && blas_kernel_tier("SkylakeX") == 3 &&
              blas_kernel_tier("COOPERLAKE") == 3 && blas_kernel_tier("Zen5") == -1 && blas_kernel_tier(NULL) == -1,
          "kernel tiers");
}

/* Each feature cpu_detect reports agrees with the kernel's flags line,
 * which the kernel also clears when the OS does not enable the state. */
static void test_cpuid(void)
{
    cpu_info cpu;
    cpu_detect(&cpu);
    FILE *f = fopen("/proc/cpuinfo", "r");
    CHECK(f != NULL, "cannot read /proc/cpuinfo");
    if (!f) return;
    static char line[16384], flags[16384 + 2];
    flags[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0) {
            const char *colon = strchr(line, ':');
            size_t length = strlen(colon ? colon + 1 : line);
            flags[0] = ' ';
            memcpy(flags + 1, colon ? colon + 1 : line, length);
            flags[length + 1] = ' ';
            flags[length + 2] = '\0';
            break;
        }
    fclose(f);
    for (char *p = flags; *p; p++)
        if (*p == '\n' || *p == '\t') *p = ' ';
    CHECK(cpu.vendor_id[0] != '\0' && cpu.family > 0, "cpu_detect found no vendor or family");
    for (int k = 0; k < CPU_FEATURE_COUNT; k++) {
        /* Linux calls SSE3 "pni". */
        const char *name = k == CPU_SSE3 ? "pni" : cpu_feature_names[k];
        char word[64];
        snprintf(word, sizeof word, " %s ", name);
        int linux_has = strstr(flags, word) != NULL;
        CHECK(linux_has == cpu_has(&cpu, (cpu_feature)k), "%s: cpuid says %d, /proc/cpuinfo says %d", name,
              cpu_has(&cpu, (cpu_feature)k), linux_has);
    }
}

static void test_sgemm_check(void)
{
    double worst = -1;
    int ok = blas_kernel_check_sgemm(&worst);
    /* A correct kernel in any summation order stays well inside the bound:
     * the bound is twice the worst case, and rounding errors add up like a
     * random walk (we see ~0.01 of it). */
    CHECK(ok && worst >= 0 && worst < 0.5, "sgemm check: ok %d, worst %.3g of the bound", ok, worst);
    setenv(BLAS_KERNEL_TEST_BAD_SGEMM, "1", 1);
    ok = blas_kernel_check_sgemm(&worst);
    unsetenv(BLAS_KERNEL_TEST_BAD_SGEMM);
    CHECK(!ok && worst > 1.0, "a corrupted element passes the sgemm check (worst %.3g)", worst);
}

static void test_json(void)
{
    blas_selection s;
    memset(&s, 0, sizeof s);
    snprintf(s.library, sizeof s.library, "OpenBLAS 0.3.21");
    cpu_info cpu = cpu_make(CPU_VENDOR_INTEL, features_of(avx512_all, 8));
    blas_environment user = {.user_coretype = "Has\"well\\"};
    blas_kernel_plan(&cpu, "Haswell", &user, &s.plan);
    s.sgemm_ok = 1;
    char json[1024];
    blas_selection_json(&s, 2, json, sizeof json);
    CHECK(strcmp(json, "{\"library\": \"OpenBLAS 0.3.21\", \"kernel\": \"Haswell\", \"choice\": \"user\", "
                       "\"detected\": \"Haswell\", \"reason\": \"OPENBLAS_CORETYPE=Has\\\"well\\\\ set by the user\", "
                       "\"threads\": 2, \"sgemm_check\": true}") == 0,
          "config_json's blas object: %s", json);
}

static int run_with(char *output, size_t size, const char *env1, const char *env2, ...)
{
    if (env1) putenv((char *)env1);
    if (env2) putenv((char *)env2);
    const char *head[] = {nanprobe, NULL};
    va_list args;
    va_start(args, env2);
    int status = test_run_list(head, args, output, size);
    va_end(args);
    unsetenv(BLAS_KERNEL_TEST_DETECTED);
    unsetenv(BLAS_KERNEL_TEST_BAD_SGEMM);
    unsetenv("NANPROBE_BLAS_KERNEL");
    return status;
}

/* Through the binary: pretend the library detected Prescott.  Where the CPU
 * has AVX2+FMA or AVX-512 the program must re-execute itself with the
 * stronger kernel, keep its arguments and exit status, and say so. */
static void test_reexec(void)
{
    static char output[65536];
    cpu_info cpu;
    cpu_detect(&cpu);
    const char *best = blas_kernel_best(&cpu), *user = getenv("OPENBLAS_CORETYPE");
    char expected[160];
    if (user && *user) /* make check-full: the user's setting wins */
        snprintf(expected, sizeof expected, "OPENBLAS_CORETYPE=%s set by the user", user);
    else if (best)
        snprintf(expected, sizeof expected, "%s kernel (the library detected Prescott on this CPU)", best);
    else
        snprintf(expected, sizeof expected, "kernel (library's own choice)");
    int status = run_with(output, sizeof output, BLAS_KERNEL_TEST_DETECTED "=Prescott", NULL, "doctor", "--seconds",
                          "0", NULL);
    CHECK(status == 0 && strstr(output, expected), "doctor pretending Prescott: exit %d, expected '%s' in:\n%s",
          status, expected, output);
    /* argv and the exit status survive the re-execution. */
    status = run_with(output, sizeof output, BLAS_KERNEL_TEST_DETECTED "=Prescott", NULL, "train", "--depth", "19",
                      NULL);
    CHECK(status == 2 && strstr(output, "--depth") && strstr(output, "19"),
          "train --depth 19 after re-execution: exit %d (expected 2) and a message naming it:\n%s", status, output);
    status = run_with(output, sizeof output, BLAS_KERNEL_TEST_DETECTED "=Prescott", NULL, "version", "--verbose",
                      "--seconds=0", NULL);
    CHECK(status == 0 && strstr(output, expected), "version --verbose: exit %d:\n%s", status, output);
    /* A kernel that fails the check falls back to the library's own choice
     * once, and says so; no loop. */
    status = run_with(output, sizeof output, BLAS_KERNEL_TEST_DETECTED "=Prescott", BLAS_KERNEL_TEST_BAD_SGEMM "=1",
                      "doctor", "--seconds", "0", NULL);
    const char *phrase = user && *user ? "FAILED" : best ? "failed a sgemm check" : "FAILED";
    CHECK(status == 1 && strstr(output, phrase) && strstr(output, "sgemm check against a plain loop: FAILED"),
          "doctor with a failing sgemm: exit %d (expected 1), expected '%s' in:\n%s", status, phrase, output);
    status = run_with(output, sizeof output, "NANPROBE_BLAS_KERNEL=sometimes", NULL, "doctor", "--seconds", "0",
                      NULL);
    CHECK(status == 2 && strstr(output, "NANPROBE_BLAS_KERNEL") && strstr(output, "expected auto"),
          "a bad NANPROBE_BLAS_KERNEL: exit %d:\n%s", status, output);
    status = run_with(output, sizeof output, "NANPROBE_BLAS_KERNEL=library", BLAS_KERNEL_TEST_DETECTED "=Prescott",
                      "doctor", "--seconds", "0", NULL);
    CHECK(status == 0 && (user ? strstr(output, "set by the user") != NULL
                               : strstr(output, "kept by NANPROBE_BLAS_KERNEL=library") != NULL),
          "NANPROBE_BLAS_KERNEL=library: exit %d:\n%s", status, output);
}

/* A short training run after the re-execution: the setup line names the
 * kernel and why, and runs.config_json records it with the thread count. */
static void test_train_records(void)
{
    static char output[65536], config[16384];
    char dir[4096];
    if (test_temp_dir(dir, sizeof dir, "blas")) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    char out[4200];
    snprintf(out, sizeof out, "%s/run", dir);
    cpu_info cpu;
    cpu_detect(&cpu);
    const char *best = blas_kernel_best(&cpu), *user = getenv("OPENBLAS_CORETYPE");
    int status = run_with(output, sizeof output, BLAS_KERNEL_TEST_DETECTED "=Prescott", NULL, "train", "--depth=18",
                          "--width=4", "--clip=4x16x16x2", "--classes=3", "--batch=4", "--train-clips=8",
                          "--val-clips=4", "--epochs=1", "--threads=1", "--no-report", "--out", out, NULL);
    char line[160], kernel[80];
    if (user && *user) {
        snprintf(line, sizeof line, "set by the user)");
        snprintf(kernel, sizeof kernel, "\"choice\": \"user\"");
    } else if (best) {
        snprintf(line, sizeof line, "%s kernel (the library detected Prescott on this CPU)", best);
        snprintf(kernel, sizeof kernel, "\"kernel\": \"%s\", \"choice\": \"nanprobe\"", best);
    } else {
        snprintf(line, sizeof line, "(library's own choice)");
        snprintf(kernel, sizeof kernel, "\"choice\": \"library\"");
    }
    CHECK(status == 0 && strstr(output, "BLAS: OpenBLAS") && strstr(output, line),
          "train after re-execution: exit %d, expected a setup line with '%s':\n%s", status, line, output);
    test_db_row(out, "SELECT config_json FROM runs ORDER BY run_id LIMIT 1", config, sizeof config);
    CHECK(strstr(config, "\"blas\": {") && strstr(config, kernel) && strstr(config, "\"threads\": 1, \"sgemm_check\": true}"),
          "runs.config_json should record the kernel (%s) and 1 thread: %s", kernel, config);
    test_remove_tree(dir);
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    unsetenv(BLAS_KERNEL_MARKER);
    test_plan();
    test_cpuid();
    test_sgemm_check();
    test_json();
    test_reexec();
    test_train_records();
    return test_finish();
}
