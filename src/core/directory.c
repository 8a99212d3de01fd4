/* directory.c: mkdir -p (see directory.h). */
#include "directory.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

directory_status directory_create(const char *path, char *failed, size_t failed_size, int *error)
{
    char partial[DIRECTORY_PATH_MAX + 1];
    size_t n = strlen(path);
    if (n == 0 || n > DIRECTORY_PATH_MAX) return DIRECTORY_BAD_NAME;
    memcpy(partial, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (partial[i] != '/' && partial[i] != '\0') continue;
        char saved = partial[i];
        partial[i] = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST) {
            *error = errno;
            snprintf(failed, failed_size, "%s", partial);
            return DIRECTORY_CANNOT_CREATE;
        }
        partial[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return DIRECTORY_NOT_DIRECTORY;
    return DIRECTORY_OK;
}
