/* error.c: error messages for library code (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(error *err, const char *format, ...)
{
    if (err) {
        va_list args;
        va_start(args, format);
        vsnprintf(err->message, sizeof err->message, format, args);
        va_end(args);
    }
    return -1;
}

int error_prefix(error *err, const char *format, ...)
{
    if (err) {
        char prefix[512], old[sizeof err->message];
        va_list args;
        va_start(args, format);
        vsnprintf(prefix, sizeof prefix, format, args);
        va_end(args);
        memcpy(old, err->message, sizeof old);
        size_t len = strlen(prefix);
        if (len + 2 >= sizeof err->message) len = sizeof err->message - 3;
        memcpy(err->message, prefix, len);
        memcpy(err->message + len, ": ", 2);
        size_t rest = sizeof err->message - len - 3;
        strncpy(err->message + len + 2, old, rest);
        err->message[sizeof err->message - 1] = '\0';
    }
    return -1;
}
