/* outdir.c: report output directories (see outdir.h). */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "directory.h"

void outdir_default(const char *db_path, char *out, size_t size)
{
    const char *slash = strrchr(db_path, '/');
    if (!slash) snprintf(out, size, "report");
    else if (slash == db_path) snprintf(out, size, "/report");
    else snprintf(out, size, "%.*s/report", (int)(slash - db_path), db_path);
}

int outdir_create(const char *path, error *err)
{
    char failed[DIRECTORY_PATH_MAX + 1];
    int code = 0;
    switch (directory_create(path, failed, sizeof failed, &code)) {
    case DIRECTORY_OK: return 0;
    case DIRECTORY_BAD_NAME: return error_set(err, "output directory path is empty or too long");
    case DIRECTORY_CANNOT_CREATE: return error_set(err, "%s: cannot create the directory: %s", failed, strerror(code));
    case DIRECTORY_NOT_DIRECTORY: break;
    }
    return error_set(err, "%s: exists but is not a directory", path);
}

FILE *outdir_file_create(const char *dir, const char *name, error *err)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    /* unlink first: a planted symlink (or a file of someone else's) loses
     * its name, never its target; O_EXCL | O_NOFOLLOW then refuses anything
     * planted again in between. */
    if (unlink(path) != 0 && errno != ENOENT)
        return error_set(err, "%s: cannot replace: %s", path, strerror(errno)), NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        error_set(err, "%s: cannot write: %s", path, strerror(e));
    }
    return f;
}
