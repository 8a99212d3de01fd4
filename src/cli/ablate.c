/* ablate.c: `nanprobe ablate`: trains every arm of a grid of train options,
 * each in its own run directory and its own process (up to --jobs at a
 * time), then writes the comparison report of all arms.
 *
 *   nanprobe ablate --grid init=he_normal,glorot_uniform --grid l2=0,1e-4 \
 *                   [train options] --out DIR [--jobs N]
 *
 * An arm that stops at a NaN is a result (exit 3 of its trainer), not a
 * failure; an arm whose trainer fails (exit 1 or 2) makes ablate exit 1
 * after the others have run. */
#include "ablate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "exit_status.h"
#include "options.h"
#include "report.h"
#include "train_cli.h"

#define MAX_AXES 8
#define MAX_VALUES 16
#define MAX_ARMS 256

typedef struct grid_axis {
    char key[64];  /* "--init" */
    char values[MAX_VALUES][128];
    int count;
} grid_axis;

typedef struct arm {
    char label[512];     /* "init=he_normal l2=0" */
    char dir[4096];
    char options[MAX_AXES][200]; /* "--init=he_normal" */
    pid_t pid;
    int status;
} arm;

static int parse_axis(const char *text, grid_axis *axis)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || !eq[1]) return -1;
    snprintf(axis->key, sizeof axis->key, "--%.*s", (int)(eq - text), text);
    axis->count = 0;
    char values[2048];
    snprintf(values, sizeof values, "%s", eq + 1);
    char *save = NULL;
    for (char *v = strtok_r(values, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
        if (axis->count >= MAX_VALUES) return -1;
        snprintf(axis->values[axis->count++], sizeof axis->values[0], "%s", v);
    }
    return axis->count > 0 ? 0 : -1;
}

/* Keeps letters, digits, '.', '-' and '_' (a directory name that is safe
 * to show, to quote and to pass on). */
static void sanitize(const char *text, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = text; *p && k + 1 < size; p++) {
        char c = *p;
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                   c == '-' || c == '_';
        out[k++] = keep ? c : '_';
    }
    out[k] = '\0';
}

static pid_t launch(const char *self, arm *a, int passthrough_count, char **passthrough, int axes,
                    const char *threads, char **environment)
{
    char *argv[160];
    int n = 0;
    argv[n++] = (char *)self;
    argv[n++] = "train";
    for (int i = 0; i < passthrough_count && n < 140; i++) argv[n++] = passthrough[i];
    for (int k = 0; k < axes; k++) argv[n++] = a->options[k];
    char out[4200];
    snprintf(out, sizeof out, "--out=%s", a->dir);
    argv[n++] = out;
    if (threads) argv[n++] = (char *)threads;
    argv[n] = NULL;
    char log[4200];
    snprintf(log, sizeof log, "%s.log", a->dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        /* Under mpirun the arm must not take itself for a rank. */
        if (environment) execve(self, argv, environment);
        else execv(self, argv);
        _exit(127);
    }
    return pid;
}

static const char *describe_status(int status)
{
    switch (status) {
    case EXIT_OK: return "completed";
    case EXIT_NAN: return "stopped at a NaN";
    case EXIT_INTERRUPTED: return "interrupted";
    default: return "FAILED";
    }
}

/* How every arm is started: the shared train options, the threads, and
 * (under mpirun) the environment without MPI's variables. */
typedef struct arm_launcher {
    const char *self;
    int passthrough_count;
    char **passthrough;
    int axes;
    const char *threads;
    char **environment;
    int jobs;
} arm_launcher;

/* Trains this rank's arms, `jobs` at a time: rank r takes arms r, r +
 * ranks, ... (all of them without mpirun).  Returns how many failed. */
static int run_arms(const arm_launcher *l, arm *arms, int arm_count, const dist_comm *comm)
{
    const int ranks = comm->size;
    int mine = comm->rank < arm_count ? (arm_count - comm->rank + ranks - 1) / ranks : 0;
    int next = comm->rank, running = 0, finished = 0, failed = 0;
    while (finished < mine) {
        while (running < l->jobs && next < arm_count) {
            arms[next].pid = launch(l->self, &arms[next], l->passthrough_count, l->passthrough, l->axes, l->threads,
                                    l->environment);
            running++;
            next += ranks;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) break;
        for (int i = 0; i < arm_count; i++) {
            if (arms[i].pid != pid) continue;
            arms[i].status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            running--;
            finished++;
            int ok = arms[i].status == EXIT_OK || arms[i].status == EXIT_NAN;
            failed += !ok;
            if (ok)
                printf("  arm %d/%d  %-40s %s\n", i + 1, arm_count, arms[i].label, describe_status(arms[i].status));
            else
                printf("  arm %d/%d  %-40s %s (exit %d, see %s.log)\n", i + 1, arm_count, arms[i].label,
                       describe_status(arms[i].status), arms[i].status, arms[i].dir);
            fflush(stdout);
        }
    }
    return failed;
}

/* Under mpirun: every rank's arm statuses to every rank (each arm is
 * trained by one rank), then one line from rank 0 naming the failed arms. */
static int share_statuses(arm *arms, int arm_count, dist_comm *comm, int *failed)
{
    double status[MAX_ARMS];
    for (int i = 0; i < arm_count; i++) status[i] = i % comm->size == comm->rank ? arms[i].status + 1.0 : 0.0;
    error err;
    if (dist_sum_doubles_patient(comm, status, arm_count, &err)) {
        fprintf(stderr, "nanprobe ablate: rank %d: %s\n", comm->rank, err.message);
        return -1;
    }
    char names[2048] = "";
    *failed = 0;
    for (int i = 0; i < arm_count; i++) {
        arms[i].status = (int)status[i] - 1;
        if (arms[i].status == EXIT_OK || arms[i].status == EXIT_NAN) continue;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s'%.200s' (rank %d)", *failed ? ", " : "", arms[i].label,
                 i % comm->size);
        (*failed)++;
    }
    if (comm->rank == 0) {
        printf("nanprobe ablate: %d of %d arms done over %d ranks", arm_count - *failed, arm_count, comm->size);
        printf(*failed ? "; FAILED: %s\n" : "%s\n", names);
        fflush(stdout);
    }
    return 0;
}

int ablate_main(int argc, char **argv, dist_comm *comm)
{
    grid_axis axes[MAX_AXES];
    int axis_count = 0, jobs = 1;
    const char *out = NULL;
    char *passthrough[128];
    int passthrough_count = 0, threads_given = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *value = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("usage: nanprobe ablate --grid KEY=V1,V2,... [--grid ...] [train options] --out DIR [--jobs N]\n\n"
                   "Trains every arm of the grid (KEY is any train option without the dashes, e.g.\n"
                   "--grid init=he_normal,glorot_uniform --grid l2=0,1e-4 is the seed's 2x2), each into\n"
                   "DIR/arm-N-..., with the other train options shared; then writes DIR/compare/index.html.\n"
                   "--jobs N runs N arms at once (threads are shared out unless --threads is given).\n");
            return EXIT_OK;
        }
        if (strncmp(a, "--grid", 6) == 0 && (a[6] == '=' || a[6] == '\0')) {
            value = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!value || axis_count >= MAX_AXES || parse_axis(value, &axes[axis_count])) {
                fprintf(stderr, "nanprobe ablate: --grid expects KEY=V1,V2,... (at most %d axes of %d values), got '%s'\n",
                        MAX_AXES, MAX_VALUES, value ? value : "");
                return EXIT_USAGE;
            }
            const char *key = axes[axis_count].key;
            if (!train_cli_has_option(key) || strcmp(key, "--out") == 0 || strcmp(key, "--resume") == 0 ||
                strcmp(key, "--inject") == 0) {
                fprintf(stderr, "nanprobe ablate: --grid key '%s' is not a train option that can vary between arms\n",
                        key + 2);
                return EXIT_USAGE;
            }
            axis_count++;
        } else if (strncmp(a, "--jobs", 6) == 0 && (a[6] == '=' || a[6] == '\0')) {
            value = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            char *end;
            long v = value ? strtol(value, &end, 10) : 0;
            if (!value || *end || v < 1 || v > 64) {
                fprintf(stderr, "nanprobe ablate: --jobs expects an integer in [1, 64], got '%s'\n", value ? value : "");
                return EXIT_USAGE;
            }
            jobs = (int)v;
        } else if (strncmp(a, "--out", 5) == 0 && (a[5] == '=' || a[5] == '\0')) {
            out = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
        } else if (strcmp(a, "--resume") == 0 || strncmp(a, "--resume=", 9) == 0) {
            fprintf(stderr, "nanprobe ablate: --resume is per run: resume an arm with nanprobe train --resume DIR/arm-...\n");
            return EXIT_USAGE;
        } else {
            if (passthrough_count >= 120) {
                fprintf(stderr, "nanprobe ablate: too many options\n");
                return EXIT_USAGE;
            }
            threads_given |= strncmp(a, "--threads", 9) == 0;
            passthrough[passthrough_count++] = argv[i];
        }
    }
    if (axis_count == 0) {
        fprintf(stderr, "nanprobe ablate: at least one --grid KEY=V1,V2,... is needed\n");
        return EXIT_USAGE;
    }
    char default_out[64];
    if (!out) {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(default_out, sizeof default_out, "runs/ablate-%Y%m%d-%H%M%S", &tm);
        out = default_out;
    }

    /* The arms: the cartesian product, first axis slowest. */
    static arm arms[MAX_ARMS];
    int arm_count = 1;
    for (int k = 0; k < axis_count; k++) arm_count *= axes[k].count;
    if (arm_count > MAX_ARMS) {
        fprintf(stderr, "nanprobe ablate: %d arms is more than %d\n", arm_count, MAX_ARMS);
        return EXIT_USAGE;
    }
    for (int i = 0; i < arm_count; i++) {
        arm *a = &arms[i];
        memset(a, 0, sizeof *a);
        int rest = i;
        char name[512] = "";
        for (int k = axis_count - 1; k >= 0; k--) {
            int index = rest % axes[k].count;
            rest /= axes[k].count;
            snprintf(a->options[k], sizeof a->options[k], "%s=%s", axes[k].key, axes[k].values[index]);
        }
        for (int k = 0; k < axis_count; k++) {
            /* Label and directory name from a copy: the compiler cannot
             * tell that label and options do not overlap inside *a. */
            char option[200], part[256];
            snprintf(option, sizeof option, "%s", a->options[k] + 2);
            size_t len = strlen(a->label);
            snprintf(a->label + len, sizeof a->label - len, "%s%s", k ? " " : "", option);
            sanitize(option, part, sizeof part);
            len = strlen(name);
            snprintf(name + len, sizeof name - len, "%s%s", k ? "_" : "", part);
        }
        snprintf(a->dir, sizeof a->dir, "%s/arm-%d-%s", out, i + 1, name);

        /* Every arm's options must parse before anything runs. */
        char *check[160];
        int n = 0;
        for (int p = 0; p < passthrough_count; p++) check[n++] = passthrough[p];
        for (int k = 0; k < axis_count; k++) check[n++] = a->options[k];
        train_cli c;
        train_cli_init(&c);
        error err;
        int help = 0;
        if (train_cli_parse(&c, n, check, &help, &err)) {
            fprintf(stderr, "nanprobe ablate: arm '%s': %s\n", a->label, err.message);
            return EXIT_USAGE;
        }
    }
    /* The output directory and its parents, without a shell. */
    char partial[4200];
    size_t out_length = strlen(out);
    for (size_t i = 1; i <= out_length && out_length < sizeof partial; i++)
        if (out[i] == '/' || out[i] == '\0') {
            memcpy(partial, out, i);
            partial[i] = '\0';
            if (mkdir(partial, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "nanprobe ablate: --out %s: cannot create %s: %s\n", out, partial, strerror(errno));
                return EXIT_FAILURE_;
            }
        }

    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) {
        fprintf(stderr, "nanprobe ablate: cannot find its own executable\n");
        return EXIT_FAILURE_;
    }
    self[length] = '\0';
    /* The host's cores are shared by the ranks on it and their arms. */
    const int ranks = comm->size;
    long cores = sysconf(_SC_NPROCESSORS_ONLN) / comm->local_size;
    char threads[32];
    snprintf(threads, sizeof threads, "--threads=%ld", cores / jobs > 0 ? cores / jobs : 1);
    char **environment = ranks > 1 ? dist_environment_without_mpi() : NULL;

    if (ranks > 1 && comm->rank == 0)
        printf("nanprobe ablate: %d arms over %d ranks, %d at a time on each, into %s\n", arm_count, ranks, jobs, out);
    else if (ranks == 1)
        printf("nanprobe ablate: %d arms, %d at a time, into %s\n", arm_count, jobs, out);
    fflush(stdout);
    arm_launcher launcher = {self, passthrough_count, passthrough, axis_count, threads_given ? NULL : threads,
                             environment, jobs};
    int failed = run_arms(&launcher, arms, arm_count, comm);
    free(environment);
    if (ranks > 1 && share_statuses(arms, arm_count, comm, &failed)) return EXIT_FAILURE_;
    if (comm->rank > 0) return failed ? EXIT_FAILURE_ : EXIT_OK;

    const char *databases[MAX_ARMS];
    static char paths[MAX_ARMS][4200];
    int count = 0;
    for (int i = 0; i < arm_count; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/run.db", arms[i].dir);
        struct stat st;
        if (stat(paths[i], &st) == 0) databases[count++] = paths[i];
    }
    char compare_dir[4200];
    snprintf(compare_dir, sizeof compare_dir, "%s/compare", out);
    error err;
    if (count == 0) {
        fprintf(stderr, "nanprobe ablate: no arm produced a database\n");
        return EXIT_FAILURE_;
    }
    if (compare_write(databases, count, compare_dir, &err)) {
        fprintf(stderr, "nanprobe ablate: the comparison is incomplete: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    printf("comparison: %s/index.html\n", compare_dir);
    return failed ? EXIT_FAILURE_ : EXIT_OK;
}
