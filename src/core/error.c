/* error.c: error messages for library code (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

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
