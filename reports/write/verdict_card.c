/* verdict_card.c: the verdict card and its evidence list (see verdict_card.h). */
#include "verdict_card.h"

#include <ctype.h>
#include <string.h>

#include "html.h"
#include "verdict.h"

/* Which row a verdict line belongs to, by how it starts.  `strip` says
 * whether the prefix is dropped from the value (it is the row's label). */
typedef struct card_row {
    const char *prefix, *label;
    int strip;
} card_row;

static const card_row card_rows[] = {
    {"Not reproducible:", "Replay", 0},
    {"Cause:", "Cause", 1},
    {"Path:", "Path", 1},
    {"Fix:", "Fix", 1},
    {"Uncertain:", "Uncertain", 1},
    {"Precision:", "Precision", 1},
    {"First non-finite value ", "Origin", 1},
    {"First bad element:", "Origin", 0},
    {"Origin:", "Origin", 1},
    {"Propagation:", "Origin", 0},
    {"Validation:", "Origin", 0},
    {"No NaN or Inf recorded:", "Status", 0},
    {"Closest approach to overflow:", "Headroom", 1},
    {"Riskiest layers (least headroom):", "Riskiest", 1},
};
#define CARD_ROW_COUNT ((int)(sizeof card_rows / sizeof card_rows[0]))

static const card_row *row_of(const char *line, size_t length)
{
    for (int i = 0; i < CARD_ROW_COUNT; i++) {
        size_t n = strlen(card_rows[i].prefix);
        if (length >= n && strncmp(line, card_rows[i].prefix, n) == 0) return &card_rows[i];
    }
    return NULL;
}

/* Does a Path segment continue the link before it?  A link reads "LAYER
 * TENSOR STAT [baseline] BEFORE -> AFTER (step S)": what follows its own
 * arrow is a number (or Inf, NaN), while the next link starts with a name. */
static int continues_link(const char *segment)
{
    return isdigit((unsigned char)segment[0]) || segment[0] == '-' || segment[0] == '+' ||
           strncmp(segment, "Inf", 3) == 0 || strncmp(segment, "NaN", 3) == 0;
}

/* The path as one link per line, root first, with the numbers of each. */
static void path_html(FILE *f, const char *text, size_t length)
{
    fputs("<ol class=\"path\"><li>", f);
    const char *p = text, *end = text + length;
    while (p < end) {
        const char *arrow = strstr(p, " -> ");
        if (!arrow || arrow >= end) {
            html_escape_span(f, p, (size_t)(end - p));
            break;
        }
        html_escape_span(f, p, (size_t)(arrow - p));
        p = arrow + 4;
        fputs(continues_link(p) ? " &rarr; " : "</li>\n<li>", f);
    }
    fputs("</li></ol>", f);
}

/* A Cause value: its headline (up to the first ": ") in bold, then the rest. */
static void cause_html(FILE *f, const char *text, size_t length)
{
    const char *colon = strstr(text, ": ");
    if (!colon || colon >= text + length) {
        html_escape_span(f, text, length);
        return;
    }
    fputs("<strong>", f);
    html_escape_span(f, text, (size_t)(colon - text));
    fputs("</strong>", f);
    html_escape_span(f, colon, length - (size_t)(colon - text));
}

static void value_html(FILE *f, const card_row *row, const char *text, size_t length)
{
    if (row && strcmp(row->label, "Path") == 0) path_html(f, text, length);
    else if (row && strcmp(row->label, "Cause") == 0) cause_html(f, text, length);
    else html_escape_span(f, text, length);
}

void verdict_card_html(FILE *f, const char *verdict, int healthy)
{
    const char *stop = strstr(verdict, VERDICT_EVIDENCE_HEADING);
    const char *end = stop ? stop : verdict + strlen(verdict);
    fprintf(f, "<div class=\"card%s\" id=\"verdict-card\">\n<table>\n", healthy ? " healthy" : "");
    const char *open_label = NULL;
    for (const char *line = verdict; line < end;) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        size_t length = newline ? (size_t)(newline - line) : (size_t)(end - line);
        if (length > 0) {
            const card_row *row = row_of(line, length);
            const char *label = row ? row->label : "Note";
            size_t skip = row && row->strip ? strlen(row->prefix) : 0;
            while (skip < length && line[skip] == ' ') skip++;
            if (open_label && strcmp(open_label, label) == 0) {
                fputs("<br>\n", f);
            } else {
                if (open_label) fputs("</td></tr>\n", f);
                fprintf(f, "<tr class=\"%s\"><th>%s</th><td>", label, label);
                open_label = label;
            }
            value_html(f, row, line + skip, length - skip);
        }
        line += length + 1;
    }
    if (open_label) fputs("</td></tr>\n", f);
    fputs("</table>\n</div>\n", f);
}

void verdict_evidence_html(FILE *f, const char *verdict)
{
    const char *start = strstr(verdict, VERDICT_EVIDENCE_HEADING);
    if (!start) return;
    start += strlen(VERDICT_EVIDENCE_HEADING);
    fputs("<ul class=\"evidence\">\n", f);
    for (const char *line = start; *line;) {
        size_t length = strcspn(line, "\n");
        if (length > 0) {
            const char *colon = memchr(line, ':', length);
            fputs("<li>", f);
            if (colon) {
                fputs("<b>", f);
                html_escape_span(f, line, (size_t)(colon - line) + 1);
                fputs("</b>", f);
                html_escape_span(f, colon + 1, length - (size_t)(colon - line) - 1);
            } else {
                html_escape_span(f, line, length);
            }
            fputs("</li>\n", f);
        }
        line += length + (line[length] ? 1 : 0);
    }
    fputs("</ul>\n", f);
}
