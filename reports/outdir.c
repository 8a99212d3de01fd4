/* outdir.c: report output directories (see outdir.h). */
#include "outdir.h"

#include <stdio.h>
#include <string.h>

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
