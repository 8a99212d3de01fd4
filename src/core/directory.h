/* directory.h: mkdir -p, without a shell.  Callers word their own errors
 * (each names its option or file), so this returns what went wrong and
 * where instead of a message. */
#ifndef NANPROBE_DIRECTORY_H
#define NANPROBE_DIRECTORY_H

#include <stddef.h>

typedef enum directory_status {
    DIRECTORY_OK,
    DIRECTORY_BAD_NAME,      /* empty, or longer than DIRECTORY_PATH_MAX */
    DIRECTORY_CANNOT_CREATE, /* mkdir of `failed` gave errno `error` */
    DIRECTORY_NOT_DIRECTORY, /* the path exists but is not a directory */
} directory_status;

#define DIRECTORY_PATH_MAX 4095

/* Creates path and its missing parents.  On DIRECTORY_CANNOT_CREATE the
 * component that failed is copied to failed (failed_size bytes) and its
 * errno to *error. */
directory_status directory_create(const char *path, char *failed, size_t failed_size, int *error);

#endif
