/* error.h: how library code reports a failure to its caller.
 *
 * Library functions never print or exit.  They fill an `error` with one
 * human-readable sentence (naming the file, option or value at fault and what
 * was expected) and return -1; main() decides what to print and which exit
 * code to use. */
#ifndef NANPROBE_ERROR_H
#define NANPROBE_ERROR_H

typedef struct error {
    char message[1024];
} error;

/* Formats the message into err (if err is not NULL) and returns -1, so that
 * `return error_set(err, "...")` reads naturally. */
int error_set(error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
