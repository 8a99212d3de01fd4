/* outdir.c: report output directories (see outdir.h). */
#include "outdir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void outdir_default(const char *db_path, char *out, size_t size)
{
    const char *slash = strrchr(db_path, '/');
    if (!slash) snprintf(out, size, "report");
    else if (slash == db_path) snprintf(out, size, "/report");
    else snprintf(out, size, "%.*s/report", (int)(slash - db_path), db_path);
}

int outdir_create(const char *path, error *err)
{
    char partial[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof partial) return error_set(err, "output directory path is empty or too long");
    memcpy(partial, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (partial[i] != '/' && partial[i] != '\0') continue;
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST)
            return error_set(err, "%s: cannot create the directory: %s", partial, strerror(errno));
        partial[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(err, "%s: exists but is not a directory", path);
    return 0;
}
