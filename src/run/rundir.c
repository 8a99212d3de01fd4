/* rundir.c: run directories, their lock and identity (see rundir.h). */
#include "rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "directory.h"

/* mkdir -p; records whether the directory itself was made here (a refused
 * start then removes it again). */
static int make_directories(rundir *d, const char *option, error *err)
{
    struct stat st;
    int existed = stat(d->path, &st) == 0;
    char failed[DIRECTORY_PATH_MAX + 1];
    int code = 0;
    if (directory_create(d->path, failed, sizeof failed, &code) == DIRECTORY_CANNOT_CREATE)
        return error_set(err, "%s '%s': cannot create %s: %s", option, d->path, failed, strerror(code));
    /* A name that exists but is no directory is reported by the open. */
    d->created = !existed;
    return 0;
}

int rundir_open(rundir *d, const char *path, const char *option, error *err)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--; /* "runs/a/" is "runs/a" */
    if (n == 0 || n >= sizeof d->path)
        return error_set(err, "%s: the directory name is empty or longer than %zu characters", option,
                         sizeof d->path - 1);
    memcpy(d->path, path, n);
    d->path[n] = '\0';
    snprintf(d->database, sizeof d->database, "%s/%s", d->path, RUNDIR_DATABASE);
    if (make_directories(d, option, err)) return -1;
    d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0) {
        int e = errno;
        return error_set(err, "%s '%s': %s", option, d->path,
                         e == ENOTDIR ? "exists but is not a directory" : strerror(e));
    }
    if (flock(d->fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(d->fd);
        d->fd = -1;
        if (e == EWOULDBLOCK)
            return error_set(err, "%s '%s': another nanprobe process is training in this directory; wait for it "
                                  "or choose another directory",
                             option, d->path);
        return error_set(err, "%s '%s': cannot lock the directory: %s", option, d->path, strerror(e));
    }
    return 0;
}

rundir_state rundir_state_get(const rundir *d)
{
    struct stat st;
    return lstat(d->database, &st) == 0 ? RUNDIR_RUN : RUNDIR_EMPTY;
}

/* Only files a refused start of ours can leave: a killed creation's
 * run.db-new (and journal) and the first checkpoint with its temporary. */
static const char *const own_leftovers[] = {"run.db-new", "run.db-new-journal", "checkpoint.bin",
                                            "checkpoint.bin.tmp"};
#define OWN_LEFTOVERS ((int)(sizeof own_leftovers / sizeof own_leftovers[0]))

static int is_own_leftover(const char *name)
{
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return 1;
    for (int i = 0; i < OWN_LEFTOVERS; i++)
        if (strcmp(name, own_leftovers[i]) == 0) return 1;
    return 0;
}

void rundir_close(rundir *d, int keep)
{
    if (d->fd < 0) return;
    if (!keep && d->created && rundir_state_get(d) == RUNDIR_EMPTY) {
        DIR *dir = fdopendir(dup(d->fd));
        int only_ours = dir != NULL;
        for (struct dirent *e; dir && (e = readdir(dir));)
            if (!is_own_leftover(e->d_name)) only_ours = 0;
        if (dir) closedir(dir);
        if (only_ours) {
            for (int i = 0; i < OWN_LEFTOVERS; i++) unlinkat(d->fd, own_leftovers[i], 0);
            rmdir(d->path);
        }
    }
    close(d->fd); /* drops the lock */
    d->fd = -1;
}

int rundir_identity_new(char out[40], error *err)
{
    unsigned char bytes[16];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return error_set(err, "cannot draw a run identity from the kernel: %s", strerror(errno));
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof bytes; i++) snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}
