/* error.c: error messages for library code (see error.h). */
#include "error.h"

#include "printable.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message is "subject: what is wrong".  When a subject (a 5,000-character
 * path) makes it longer than the buffer, the middle goes, never the end: the
 * head still names the file and the tail still says what was expected. */
#define ERROR_HEAD 300

int error_set(error *err, const char *format, ...)
{
    if (!err) return -1;
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    int n = vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    if (n >= (int)sizeof err->message) {
        char *full = malloc((size_t)n + 1);
        if (full) {
            vsnprintf(full, (size_t)n + 1, format, again);
            static const char gap[] = " [...] ";
            size_t tail = sizeof err->message - 1 - ERROR_HEAD - (sizeof gap - 1);
            memcpy(err->message, full, ERROR_HEAD);
            memcpy(err->message + ERROR_HEAD, gap, sizeof gap - 1);
            memcpy(err->message + ERROR_HEAD + sizeof gap - 1, full + (size_t)n - tail, tail + 1);
            free(full);
        }
    }
    va_end(again);
    /* Messages name files and layers from untrusted input; whoever prints
     * them prints to a terminal. */
    printable_in_place(err->message);
    return -1;
}
