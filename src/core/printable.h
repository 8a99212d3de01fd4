/* printable.h: text from untrusted names (video files, class folders,
 * Keras layer names) made safe for a terminal.  Control characters (C0,
 * DEL, and C1 in UTF-8 as 0xC2 0x80..0x9F) would let a file name move the
 * cursor, retitle the window or hide text; each becomes '?'.  Everything
 * else, UTF-8 included, is kept byte for byte. */
#ifndef NANPROBE_PRINTABLE_H
#define NANPROBE_PRINTABLE_H

#include <stddef.h>

/* Rewrites s in place (the C1 pair becomes "?" and the rest moves up). */
void printable_in_place(char *s);

/* A printable copy of s in out (size bytes, always NUL-terminated). */
const char *printable_copy(const char *s, char *out, size_t size);

#endif
