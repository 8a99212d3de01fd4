/* gnuplot.c: quoting for gnuplot scripts and running gnuplot as a child
 * process (see gnuplot.h). */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int label_char_ok(unsigned char c, int allow_space)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    if (c == ' ') return allow_space;
    return strchr("_.,:;=+-/()[]%", c) != NULL && c != '\0';
}

static void sanitize(const char *text, char *out, size_t size, size_t limit, int allow_space)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p && n + 1 < size && n < limit; p++)
        out[n++] = label_char_ok(*p, allow_space) ? (char)*p : '_';
    out[n] = '\0';
}

/* The sanitized text between two quote characters. */
static void quoted(const char *text, char quote, char *out, size_t size)
{
    if (size < 3) {
        if (size) out[0] = '\0';
        return;
    }
    out[0] = quote;
    sanitize(text, out + 1, size - 2, 120, 1);
    size_t n = strlen(out);
    out[n] = quote;
    out[n + 1] = '\0';
}

void gnuplot_quote(const char *text, char *out, size_t size)
{
    quoted(text, '\'', out, size);
}

void gnuplot_data_label(const char *text, char *out, size_t size)
{
    if (size < 2) {
        if (size) out[0] = '\0';
        return;
    }
    sanitize(text, out, size, 60, 0);
    if (!out[0]) snprintf(out, size, "_");
}

void gnuplot_data_text(const char *text, char *out, size_t size)
{
    quoted(text, '"', out, size);
}

/* Reads the last bytes of `path` into out (printable, one line per line). */
static void read_tail(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char buffer[8192];
    size_t n = fread(buffer, 1, sizeof buffer, f);
    fclose(f);
    size_t start = n > size - 1 ? n - (size - 1) : 0, k = 0;
    for (size_t i = start; i < n && k + 1 < size; i++) {
        unsigned char c = (unsigned char)buffer[i];
        out[k++] = (c == '\n' || c == '\t' || (c >= 32 && c < 127)) ? (char)c : '?';
    }
    out[k] = '\0';
    while (k > 0 && (out[k - 1] == '\n' || out[k - 1] == ' ')) out[--k] = '\0';
}

typedef struct running {
    pid_t pid;
    int job;
} running;

static int spawn_job(const char *dir, gnuplot_job *job, const char *log_name, pid_t *pid)
{
    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions)) return ENOMEM;
    int rc = posix_spawn_file_actions_addchdir_np(&actions, dir);
    if (!rc) rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (!rc) rc = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    /* relative to dir: the chdir action runs first; never through a symlink
     * (the caller unlinked the name) */
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&actions, 2, log_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    char *argv[] = {"gnuplot", (char *)job->script, NULL};
    if (!rc) rc = posix_spawnp(pid, "gnuplot", &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

static void finish_job(const char *dir, gnuplot_job *job, int status)
{
    if (WIFEXITED(status)) job->exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) job->exit_status = 128 + WTERMSIG(status);
    else job->exit_status = 127;
    char log_path[4200];
    snprintf(log_path, sizeof log_path, "%s/%s.log", dir, job->script);
    read_tail(log_path, job->stderr_tail, sizeof job->stderr_tail);
    unlink(log_path);
}

int gnuplot_run_all(const char *dir, gnuplot_job *jobs, int count, int parallel, error *err)
{
    if (parallel < 1) parallel = 1;
    if (parallel > 8) parallel = 8;
    running active[8];
    int active_count = 0, next = 0, missing = 0, spawn_error = 0;
    for (int i = 0; i < count; i++) {
        jobs[i].exit_status = 127;
        jobs[i].stderr_tail[0] = '\0';
    }
    while (next < count || active_count > 0) {
        while (next < count && active_count < parallel && !missing) {
            gnuplot_job *job = &jobs[next];
            char log_name[512];
            snprintf(log_name, sizeof log_name, "%s.log", job->script);
            char log_path[4200];
            snprintf(log_path, sizeof log_path, "%s/%s", dir, log_name);
            unlink(log_path);
            pid_t pid;
            int rc = spawn_job(dir, job, log_name, &pid);
            if (rc) {
                if (rc == ENOENT) missing = 1;
                else if (!spawn_error) spawn_error = rc;
                snprintf(job->stderr_tail, sizeof job->stderr_tail, "cannot start gnuplot: %s", strerror(rc));
                next++;
                continue;
            }
            active[active_count].pid = pid;
            active[active_count].job = next;
            active_count++;
            next++;
        }
        if (active_count == 0) {
            if (missing) break; /* nothing more will start */
            continue;
        }
        /* Wait for our own children only (never waitpid(-1): the caller may
         * have children of its own). */
        int status = 0;
        pid_t done;
        do {
            done = waitpid(active[0].pid, &status, 0);
        } while (done < 0 && errno == EINTR);
        finish_job(dir, &jobs[active[0].job], done < 0 ? 0x7f00 : status);
        memmove(active, active + 1, sizeof active[0] * (size_t)(active_count - 1));
        active_count--;
    }
    if (missing)
        return error_set(err,
                         "gnuplot was not found on PATH, so no figure was rendered; the data (.dat) and scripts (.gp) "
                         "are in %s: install gnuplot (Debian: apt-get install gnuplot-nox) and run `gnuplot NAME.gp` "
                         "there",
                         dir);
    int failed = 0, first = -1;
    for (int i = 0; i < count; i++)
        if (jobs[i].exit_status != 0) {
            if (first < 0) first = i;
            failed++;
        }
    if (first < 0) return 0;
    if (spawn_error && jobs[first].exit_status == 127 && !jobs[first].stderr_tail[0])
        return error_set(err, "cannot start gnuplot: %s", strerror(spawn_error));
    return error_set(err, "gnuplot failed on %s/%s (exit status %d; %d of %d scripts failed): %s", dir,
                     jobs[first].script, jobs[first].exit_status, failed, count,
                     jobs[first].stderr_tail[0] ? jobs[first].stderr_tail : "no message on stderr");
}
