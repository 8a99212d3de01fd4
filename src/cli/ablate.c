/* ablate.c: `nanprobe ablate`: trains every arm of a grid of train options,
 * each in its own run directory and its own process (up to --jobs at a
 * time), then writes the comparison report of all arms.
 *
 *   nanprobe ablate --grid init=he_normal,glorot_uniform --grid l2=0,1e-4 \
 *                   [train options] -o DIR [--jobs N]
 *   nanprobe ablate --arm init=he_normal,l2=0 --arm init=glorot_uniform,l2=1e-4 \
 *                   --arm init=he_normal,l2=1e-4 --seeds 2 [train options] -o DIR
 *
 * --arm lists the arms one by one (the seed's three arms are one command)
 * instead of a cartesian grid; --seeds N trains every arm N times with
 * seeds S, S+1, ... (S = --seed, default 1), so that the comparison can
 * tell a difference between settings from the spread between seeds.
 *
 * An arm that stops at a NaN is a result (exit 3 of its trainer), not a
 * failure; an arm whose trainer fails (exit 1 or 2) makes ablate exit 1
 * after the others have run.
 *
 * Under mpirun the arms are spread over the ranks (rank r trains arms r,
 * r + N, ... as single-process children, --jobs at a time on each); the
 * statuses are gathered, and rank 0 names the failed arms and writes the
 * comparison. */
#include "ablate.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "directory.h"
#include "commands.h"
#include "exit_status.h"
#include "options.h"
#include "report.h"
#include "train_cli.h"

#define MAX_AXES 8
/* An arm's options: one per grid axis or --arm pair, and its --seed. */
#define MAX_ARM_OPTIONS (MAX_AXES + 1)
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
    char options[MAX_ARM_OPTIONS][200]; /* "--init=he_normal" */
    int option_count;
    char database[4200]; /* dir/run.db */
    pid_t pid;
    int status;
} arm;

/* ablate's own options (the others go to every arm's train). */
typedef struct ablate_cli {
    string_list grid, arms;
    int jobs, seeds;
    const char *out;
} ablate_cli;

const option_spec ablate_option_specs[] = {
    {"--grid", NULL, OPTION_LIST, offsetof(ablate_cli, grid), "KEY=V1,V2,...", NULL, "an axis of the grid, repeatable: a train option without its dashes and the values its arms take", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--arm", NULL, OPTION_LIST, offsetof(ablate_cli, arms), "KEY=V,KEY=V", NULL, "one arm's settings, repeatable, instead of --grid (the seed's three arms: --arm init=he_normal,l2=0 --arm init=glorot_uniform,l2=1e-4 --arm init=he_normal,l2=1e-4)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--seeds", NULL, OPTION_INT, offsetof(ablate_cli, seeds), "N", NULL, "train every arm N times with seeds S..S+N-1 (S = --seed, default 1), so the comparison can tell settings from seed spread", 1, 64, NULL, ON_RESUME_NA, NULL},
    {"--jobs", NULL, OPTION_INT, offsetof(ablate_cli, jobs), "N", "1", "arms trained at once", 1, 64, NULL, ON_RESUME_NA, NULL},
    {"--out", "-o", OPTION_STRING, offsetof(ablate_cli, out), "DIR", NULL, "the arms' parent directory; the comparison goes to DIR/compare (default runs/ablate-DATE)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {0},
};

/* Everything one ablation holds (on the heap: the arms are large). */
typedef struct ablation {
    grid_axis axes[MAX_AXES];
    int axis_count, jobs;
    /* --arm KEY=V,KEY=V: each listed arm's settings (instead of a grid) */
    grid_axis listed[MAX_ARMS];
    int listed_count;
    int seeds;          /* --seeds N: every arm N times (0: once, seed as given) */
    long long base_seed;
    int seed_given;
    char seed_option[48]; /* --seed passed on when --seeds is not given */
    const char *out;
    char default_out[64];
    char *passthrough[128]; /* the train options every arm shares */
    int passthrough_count, threads_given;
    arm arms[MAX_ARMS];
    int arm_count;
} ablation;

/* What a step of ablate_main decided: go on, or exit with a status. */
#define ABLATE_CONTINUE (-1)

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

/* environment: NULL for ours; under mpirun, ours without MPI's variables,
 * so an arm's trainer is a single process and not a rank. */
static pid_t launch(const char *self, const ablation *ab, arm *a, const char *threads, char **environment)
{
    char *argv[160];
    int n = 0;
    argv[n++] = (char *)self;
    argv[n++] = "train";
    for (int i = 0; i < ab->passthrough_count && n < 140; i++) argv[n++] = ab->passthrough[i];
    for (int k = 0; k < a->option_count; k++) argv[n++] = a->options[k];
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

/* Whether --KEY is a train option that may differ between arms. */
static int key_can_vary(const char *option, const char *key)
{
    const option_spec *train_option = options_find(train_option_specs, key);
    if (!train_option || strcmp(train_option->name, "--out") == 0 || strcmp(key, "--resume") == 0 ||
        strcmp(key, "--inject") == 0) {
        fprintf(stderr, "nanprobe ablate: %s key '%s' is not a train option that can vary between arms\n", option,
                key + 2);
        return 0;
    }
    return 1;
}

/* One --grid KEY=V1,V2,...: a train option that may differ between arms. */
static int parse_grid_option(ablation *ab, const char *value)
{
    if (!value || ab->axis_count >= MAX_AXES || parse_axis(value, &ab->axes[ab->axis_count])) {
        fprintf(stderr, "nanprobe ablate: --grid expects KEY=V1,V2,... (at most %d axes of %d values), got '%s'\n",
                MAX_AXES, MAX_VALUES, value ? value : "");
        return EXIT_USAGE;
    }
    if (!key_can_vary("--grid", ab->axes[ab->axis_count].key)) return EXIT_USAGE;
    ab->axis_count++;
    return ABLATE_CONTINUE;
}

/* One --arm KEY=V,KEY=V,...: the settings of one listed arm, kept as
 * "--KEY=V" options in a grid_axis (one value each). */
static int parse_arm_option(ablation *ab, const char *value)
{
    grid_axis *arm_settings = &ab->listed[ab->listed_count];
    arm_settings->count = 0;
    char text[2048];
    snprintf(text, sizeof text, "%s", value ? value : "");
    char *save = NULL;
    int ok = value && ab->listed_count < MAX_ARMS;
    for (char *pair = ok ? strtok_r(text, ",", &save) : NULL; pair && ok; pair = strtok_r(NULL, ",", &save)) {
        const char *eq = strchr(pair, '=');
        ok = eq && eq != pair && eq[1] && arm_settings->count < MAX_AXES;
        if (!ok) break;
        char key[64];
        snprintf(key, sizeof key, "--%.*s", (int)(eq - pair), pair);
        if (!key_can_vary("--arm", key)) return EXIT_USAGE;
        snprintf(arm_settings->values[arm_settings->count++], sizeof arm_settings->values[0], "--%s", pair);
    }
    if (!ok || arm_settings->count == 0) {
        fprintf(stderr, "nanprobe ablate: --arm expects KEY=V,KEY=V,... (at most %d settings, %d arms), got '%s'\n",
                MAX_AXES, MAX_ARMS, value ? value : "");
        return EXIT_USAGE;
    }
    ab->listed_count++;
    return ABLATE_CONTINUE;
}

/* --seed S: kept here, since with --seeds each arm gets its own from S on;
 * passed on as it is otherwise. */
static int parse_seed_option(ablation *ab, const char *value)
{
    char *end;
    ab->base_seed = strtoll(value, &end, 10);
    if (*end || ab->base_seed < 0) {
        fprintf(stderr, "nanprobe ablate: --seed expects a non-negative integer, got '%s'\n", value);
        return EXIT_USAGE;
    }
    ab->seed_given = 1;
    return ABLATE_CONTINUE;
}

/* Option NAME (--seed) as "--NAME=V" or "--NAME V". */
static int own_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0 || (a[n] != '=' && a[n] != '\0')) return 0;
    *value = a[n] == '=' ? a + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
    return 1;
}

/* The arms' settings from ablate's own options: the grid's axes, or the
 * listed arms (not both), and the seeds. */
static int parse_settings(ablation *ab, const ablate_cli *own)
{
    for (int k = 0; k < own->grid.count; k++) {
        int rc = parse_grid_option(ab, own->grid.items[k]);
        if (rc != ABLATE_CONTINUE) return rc;
    }
    for (int k = 0; k < own->arms.count; k++) {
        int rc = parse_arm_option(ab, own->arms.items[k]);
        if (rc != ABLATE_CONTINUE) return rc;
    }
    if (ab->axis_count == 0 && ab->listed_count == 0) {
        fprintf(stderr, "nanprobe ablate: at least one --grid KEY=V1,V2,... or --arm KEY=V,... is needed\n");
        return EXIT_USAGE;
    }
    if (ab->axis_count > 0 && ab->listed_count > 0) {
        fprintf(stderr, "nanprobe ablate: --grid and --arm cannot be combined: list every arm with --arm, or use "
                        "only --grid\n");
        return EXIT_USAGE;
    }
    ab->seeds = own->seeds;
    if (ab->seed_given && ab->seeds == 0) {
        snprintf(ab->seed_option, sizeof ab->seed_option, "--seed=%lld", ab->base_seed);
        ab->passthrough[ab->passthrough_count++] = ab->seed_option;
    }
    return ABLATE_CONTINUE;
}

/* Parse the grid: ablate's options, and the train options passed through. */
static int parse_grid(ablation *ab, int argc, char **argv)
{
    ablate_cli own = {0};
    options_init("ablate", ablate_option_specs, &own);
    ab->base_seed = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            command_print_help(stdout, command_find("ablate"));
            return EXIT_OK;
        }
        int failed;
        error err;
        if (options_take("ablate", ablate_option_specs, &own, argc, argv, &i, &failed, &err)) {
            if (failed) {
                fprintf(stderr, "%s\n", err.message);
                return EXIT_USAGE;
            }
        } else if (own_option(argc, argv, &i, "--seed", &value) && value) {
            if (parse_seed_option(ab, value) != ABLATE_CONTINUE) return EXIT_USAGE;
        } else if (strcmp(a, "--resume") == 0 || strncmp(a, "--resume=", 9) == 0) {
            fprintf(stderr, "nanprobe ablate: --resume is per run: resume an arm with nanprobe train --resume "
                            "DIR/arm-...\n");
            return EXIT_USAGE;
        } else {
            if (ab->passthrough_count >= 120) {
                fprintf(stderr, "nanprobe ablate: too many options\n");
                return EXIT_USAGE;
            }
            ab->threads_given |= strncmp(a, "--threads", 9) == 0;
            ab->passthrough[ab->passthrough_count++] = argv[i];
        }
    }
    int rc = parse_settings(ab, &own);
    if (rc != ABLATE_CONTINUE) return rc;
    ab->jobs = own.jobs;
    ab->out = own.out;
    if (!ab->out) {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(ab->default_out, sizeof ab->default_out, "runs/ablate-%Y%m%d-%H%M%S", &tm);
        ab->out = ab->default_out;
    }
    return ABLATE_CONTINUE;
}

/* The settings of arm `setting` (before seeds): of the cartesian product
 * (first axis slowest), or the listed arm's. */
static void arm_settings(const ablation *ab, int setting, arm *a)
{
    if (ab->listed_count > 0) {
        const grid_axis *listed = &ab->listed[setting];
        for (int k = 0; k < listed->count; k++) {
            /* Through a copy, as below: a lies inside *ab. */
            char value[sizeof listed->values[0]];
            memcpy(value, listed->values[k], sizeof value);
            snprintf(a->options[k], sizeof a->options[k], "%s", value);
        }
        a->option_count = listed->count;
        return;
    }
    int rest = setting;
    for (int k = ab->axis_count - 1; k >= 0; k--) {
        int index = rest % ab->axes[k].count;
        rest /= ab->axes[k].count;
        /* Through copies: a lies inside *ab, and the compiler cannot tell
         * that the arm and the axes do not overlap. */
        char key[sizeof ab->axes[0].key], value[sizeof ab->axes[0].values[0]];
        memcpy(key, ab->axes[k].key, sizeof key);
        memcpy(value, ab->axes[k].values[index], sizeof value);
        snprintf(a->options[k], sizeof a->options[k], "%s=%s", key, value);
    }
    a->option_count = ab->axis_count;
}

/* Arm i: its settings, with --seeds its seed, its label and its directory. */
static void name_arm(const ablation *ab, int i, arm *a)
{
    memset(a, 0, sizeof *a);
    int copies = ab->seeds > 0 ? ab->seeds : 1;
    arm_settings(ab, i / copies, a);
    if (ab->seeds > 0)
        snprintf(a->options[a->option_count++], sizeof a->options[0], "--seed=%lld", ab->base_seed + i % copies);
    char name[512] = "";
    for (int k = 0; k < a->option_count; k++) {
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
    char dir[sizeof a->dir];
    snprintf(dir, sizeof dir, "%s/arm-%d-%s", ab->out, i + 1, name);
    memcpy(a->dir, dir, sizeof dir);
    snprintf(a->database, sizeof a->database, "%s/run.db", dir);
}

/* Make the arms; every arm's options must parse before anything runs. */
static int make_arms(ablation *ab)
{
    int settings = 1;
    for (int k = 0; k < ab->axis_count; k++) settings *= ab->axes[k].count;
    if (ab->listed_count > 0) settings = ab->listed_count;
    ab->arm_count = settings * (ab->seeds > 0 ? ab->seeds : 1);
    if (ab->arm_count > MAX_ARMS) {
        fprintf(stderr, "nanprobe ablate: %d arms is more than %d\n", ab->arm_count, MAX_ARMS);
        return EXIT_USAGE;
    }
    for (int i = 0; i < ab->arm_count; i++) {
        arm *a = &ab->arms[i];
        name_arm(ab, i, a);
        char *check[160];
        int n = 0;
        for (int p = 0; p < ab->passthrough_count; p++) check[n++] = ab->passthrough[p];
        for (int k = 0; k < a->option_count; k++) check[n++] = a->options[k];
        train_cli c;
        train_cli_init(&c);
        error err;
        int help = 0;
        if (train_cli_parse(&c, n, check, &help, &err)) {
            fprintf(stderr, "nanprobe ablate: arm '%s': %s\n", a->label, err.message);
            return EXIT_USAGE;
        }
    }
    return ABLATE_CONTINUE;
}

static void report_arm(const ablation *ab, int i)
{
    const arm *a = &ab->arms[i];
    if (a->status == EXIT_OK || a->status == EXIT_NAN)
        printf("  arm %d/%d  %-40s %s\n", i + 1, ab->arm_count, a->label, describe_status(a->status));
    else
        printf("  arm %d/%d  %-40s %s (exit %d, see %s.log)\n", i + 1, ab->arm_count, a->label,
               describe_status(a->status), a->status, a->dir);
    fflush(stdout);
}

/* Run this rank's arms (all of them without mpirun: rank r takes arms r,
 * r + ranks, ...), --jobs at a time, each a `nanprobe train` process;
 * returns how many failed (a NaN stop is a result, not a failure). */
static int run_arms(ablation *ab, const char *self, const char *threads, const dist_comm *comm)
{
    const int ranks = comm->size;
    if (ranks > 1 && comm->rank == 0)
        printf("nanprobe ablate: %d arms over %d ranks, %d at a time on each, into %s\n", ab->arm_count, ranks,
               ab->jobs, ab->out);
    else if (ranks == 1)
        printf("nanprobe ablate: %d arms, %d at a time, into %s\n", ab->arm_count, ab->jobs, ab->out);
    fflush(stdout);
    char **environment = ranks > 1 ? dist_environment_without_mpi() : NULL;
    int mine = comm->rank < ab->arm_count ? (ab->arm_count - comm->rank + ranks - 1) / ranks : 0;
    int next = comm->rank, running = 0, finished = 0, failed = 0;
    while (finished < mine) {
        while (running < ab->jobs && next < ab->arm_count) {
            ab->arms[next].pid = launch(self, ab, &ab->arms[next], ab->threads_given ? NULL : threads, environment);
            running++;
            next += ranks;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) break;
        for (int i = 0; i < ab->arm_count; i++) {
            arm *a = &ab->arms[i];
            if (a->pid != pid) continue;
            a->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            running--;
            finished++;
            failed += !(a->status == EXIT_OK || a->status == EXIT_NAN);
            report_arm(ab, i);
        }
    }
    free(environment);
    return failed;
}

/* Under mpirun: every rank's arm statuses to every rank (each arm is
 * trained by one rank), then one line from rank 0 naming the failed arms. */
static int share_statuses(ablation *ab, dist_comm *comm, int *failed)
{
    double status[MAX_ARMS];
    for (int i = 0; i < ab->arm_count; i++)
        status[i] = i % comm->size == comm->rank ? ab->arms[i].status + 1.0 : 0.0;
    error err;
    if (dist_sum_doubles_patient(comm, status, ab->arm_count, &err)) {
        fprintf(stderr, "nanprobe ablate: rank %d: %s\n", comm->rank, err.message);
        return -1;
    }
    char names[2048] = "";
    *failed = 0;
    for (int i = 0; i < ab->arm_count; i++) {
        arm *a = &ab->arms[i];
        a->status = (int)status[i] - 1;
        if (a->status == EXIT_OK || a->status == EXIT_NAN) continue;
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s'%.200s' (rank %d)", *failed ? ", " : "", a->label,
                 i % comm->size);
        (*failed)++;
    }
    if (comm->rank == 0) {
        printf("nanprobe ablate: %d of %d arms done over %d ranks", ab->arm_count - *failed, ab->arm_count,
               comm->size);
        printf(*failed ? "; FAILED: %s\n" : "%s\n", names);
        fflush(stdout);
    }
    return 0;
}

/* The comparison of every arm that produced a database. */
static int compare_arms(const ablation *ab, int failed)
{
    const char *databases[MAX_ARMS];
    int count = 0;
    for (int i = 0; i < ab->arm_count; i++) {
        struct stat st;
        if (stat(ab->arms[i].database, &st) == 0) databases[count++] = ab->arms[i].database;
    }
    if (count == 0) {
        fprintf(stderr, "nanprobe ablate: no arm produced a database\n");
        return EXIT_FAILURE_;
    }
    char compare_dir[4200];
    snprintf(compare_dir, sizeof compare_dir, "%s/compare", ab->out);
    error err;
    if (compare_write(databases, count, compare_dir, &err)) {
        fprintf(stderr, "nanprobe ablate: the comparison is incomplete: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    printf("comparison: %s/index.html\n", compare_dir);
    return failed ? EXIT_FAILURE_ : EXIT_OK;
}

/* The output directory, our own executable (each arm runs it), and the
 * threads each arm gets unless --threads was given. */
static int prepare_launch(const ablation *ab, const dist_comm *comm, char *self, size_t self_size, char *threads,
                          size_t threads_size)
{
    char failed[DIRECTORY_PATH_MAX + 1];
    int code = 0;
    /* Whether it is a directory, the arms find out. */
    if (directory_create(ab->out, failed, sizeof failed, &code) == DIRECTORY_CANNOT_CREATE) {
        fprintf(stderr, "nanprobe ablate: --out %s: cannot create %s: %s\n", ab->out, failed, strerror(code));
        return EXIT_FAILURE_;
    }
    ssize_t length = readlink("/proc/self/exe", self, self_size - 1);
    if (length <= 0) {
        fprintf(stderr, "nanprobe ablate: cannot find its own executable\n");
        return EXIT_FAILURE_;
    }
    self[length] = '\0';
    /* The host's cores are shared by the ranks on it and their arms. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN) / (comm->local_size > 0 ? comm->local_size : 1);
    snprintf(threads, threads_size, "--threads=%ld", cores / ab->jobs > 0 ? cores / ab->jobs : 1);
    return ABLATE_CONTINUE;
}

/* This rank's arms, then (under mpirun) every rank's statuses; rank 0
 * writes the comparison. */
static int run_and_compare(ablation *ab, const char *self, const char *threads, dist_comm *comm)
{
    int failed = run_arms(ab, self, threads, comm);
    if (comm->size > 1 && share_statuses(ab, comm, &failed)) return EXIT_FAILURE_;
    if (comm->rank > 0) return failed ? EXIT_FAILURE_ : EXIT_OK;
    return compare_arms(ab, failed);
}

int ablate_main(int argc, char **argv, dist_comm *comm)
{
    ablation *ab = calloc(1, sizeof *ab);
    if (!ab) {
        fprintf(stderr, "nanprobe ablate: out of memory\n");
        return EXIT_FAILURE_;
    }
    char self[4096], threads[32];
    int rc = parse_grid(ab, argc, argv);
    if (rc == ABLATE_CONTINUE) rc = make_arms(ab);
    if (rc == ABLATE_CONTINUE) rc = prepare_launch(ab, comm, self, sizeof self, threads, sizeof threads);
    if (rc == ABLATE_CONTINUE) rc = run_and_compare(ab, self, threads, comm);
    free(ab);
    return rc;
}
