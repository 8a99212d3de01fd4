/* strbuf.h: a growable text buffer, used to compose verdicts, rule details
 * and gnuplot script bodies before they are written out.
 *
 * An allocation failure sets `failed` and turns later appends into no-ops,
 * so callers check once at the end instead of after every append. */
#ifndef NANPROBE_STRBUF_H
#define NANPROBE_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len, cap;
    int failed;
} strbuf;

void strbuf_printf(strbuf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
void strbuf_append(strbuf *b, const char *text);
/* The text so far ("" when empty). */
const char *strbuf_text(const strbuf *b);
void strbuf_free(strbuf *b);

#endif
