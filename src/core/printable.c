/* printable.c: terminal-safe text (see printable.h). */
#include "printable.h"

#include <stdio.h>

void printable_in_place(char *s)
{
    char *out = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            *out++ = '?';
            p++;
        } else {
            *out++ = *p < 0x20 || *p == 0x7F ? '?' : (char)*p;
        }
    }
    *out = '\0';
}

const char *printable_copy(const char *s, char *out, size_t size)
{
    snprintf(out, size, "%s", s ? s : "");
    printable_in_place(out);
    return out;
}
