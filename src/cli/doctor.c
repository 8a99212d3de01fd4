/* doctor.c: `nanprobe doctor`: the CPU and its usable vector features, the
 * BLAS library, the kernel that runs and why, the thread count, a measured
 * sgemm rate, and the SQLite and gnuplot versions: one paste for a bug
 * report about speed or about results that differ between machines. */
#include "doctor.h"

#include <fcntl.h>
#include <omp.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "exit_status.h"
#include "commands.h"
#include "options.h"
#include "version.h"

extern char **environ;


/* The first line `gnuplot --version` prints, or why there is none.  No
 * shell: gnuplot is found on PATH by posix_spawnp. */
static void gnuplot_version(char *out, size_t size)
{
    int fds[2];
    snprintf(out, size, "not found on PATH (reports need gnuplot-nox)");
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"gnuplot", "--version", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    char line[256] = "";
    ssize_t n = rc == 0 ? read(fds[0], line, sizeof line - 1) : 0;
    close(fds[0]);
    int status = 0;
    if (rc == 0) waitpid(pid, &status, 0);
    if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return;
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    snprintf(out, size, "%s", line);
}

static void print_cpu(const cpu_info *cpu)
{
    char features[512];
    cpu_features_text(cpu, features, sizeof features);
    printf("CPU: %s (%s, family %d, model %d, stepping %d), %ld logical CPUs online\n",
           cpu->brand[0] ? cpu->brand : "unnamed", cpu->vendor_id[0] ? cpu->vendor_id : "unknown vendor", cpu->family,
           cpu->model, cpu->stepping, sysconf(_SC_NPROCESSORS_ONLN));
    printf("CPU features usable (CPU and OS): %s\n", features[0] ? features : "(none of those checked)");
}

static void print_blas(const blas_selection *blas)
{
    char line[512];
    blas_selection_describe(blas, line, sizeof line);
    printf("BLAS: %s\n", line);
    /* blas_kernel_tier's classes */
    static const char *const classes[] = {"SSE", "AVX", "AVX2+FMA", "AVX-512"};
    const char *best = blas_kernel_best(&blas->cpu), *user = getenv("OPENBLAS_CORETYPE");
    int best_tier = blas_kernel_tier(best), detected_tier = blas_kernel_tier(blas->plan.detected);
    printf("BLAS kernel for this CPU's features: %s (%s class); the library detected %s (%s class); "
           "OPENBLAS_CORETYPE %s%s\n",
           best ? best : "none beyond SSE/AVX", best_tier >= 0 ? classes[best_tier] : "no AVX2",
           blas->plan.detected, detected_tier >= 0 ? classes[detected_tier] : "unknown", user ? "= " : "unset",
           user ? user : "");
    printf("sgemm check against a plain loop: %s (largest error %.3g of its bound)\n",
           blas->sgemm_ok ? "passed" : "FAILED", blas->sgemm_error);
    if (blas->warning[0]) printf("warning: %s\n", blas->warning);
}

typedef struct doctor_cli {
    int threads;
    double seconds;
} doctor_cli;

const option_spec doctor_option_specs[] = {
    {"--threads", NULL, OPTION_INT, offsetof(doctor_cli, threads), "N", NULL, "threads for the sgemm measurement (default: all cores)", 1, 1024, NULL, ON_RESUME_NA, NULL},
    {"--seconds", NULL, OPTION_DOUBLE, offsetof(doctor_cli, seconds), "S", "0.5", "how long to measure sgemm; 0 skips it", 0, 60, NULL, ON_RESUME_NA, NULL},
    {0},
};

int doctor_main(int argc, char **argv, const blas_selection *blas)
{
    doctor_cli c = {0};
    int rc = command_options("doctor", &c, argc, argv, NULL, 0, NULL);
    if (rc >= 0) return rc;
    return doctor_report(c.threads, c.seconds, blas);
}

int doctor_report(int threads, double seconds, const blas_selection *blas)
{
    if (threads > 0) omp_set_num_threads(threads);
    printf("nanprobe %s\n", NANPROBE_VERSION);
    print_cpu(&blas->cpu);
    print_blas(blas);
    printf("threads: %d (OpenMP; each GEMM is split by nanprobe into single-threaded OpenBLAS calls)\n",
           omp_get_max_threads());
    if (seconds > 0) {
        fflush(stdout);
        const int n = 1024;
        double rate = blas_kernel_sgemm_rate(n, omp_get_max_threads(), seconds);
        printf("sgemm %dx%dx%d on %d threads: %.1f GFLOP/s (best of %.1f s)\n", n, n, n, omp_get_max_threads(), rate,
               seconds);
    }
    char gnuplot[256];
    gnuplot_version(gnuplot, sizeof gnuplot);
    printf("SQLite: %s\n", db_sqlite_version());
    printf("gnuplot: %s\n", gnuplot);
    return blas->sgemm_ok ? EXIT_OK : EXIT_FAILURE_;
}
