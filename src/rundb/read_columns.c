/* read_columns.c: a run.db row checked and loaded by its table (see read_columns.h). */
#include "read_columns.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

_Static_assert(sizeof(probe_pass) == sizeof(int) && sizeof(layer_kind) == sizeof(int), "enums are stored as int");

static int broken(sqlite3_stmt *st, const char *table, const column_spec *c, const char *expected, char *why,
                  size_t size)
{
    const char *name = sqlite3_column_name(st, c->column);
    const unsigned char *text = sqlite3_column_text(st, c->column);
    snprintf(why, size, "%s%s%s = '%.40s' %s", table ? table : "", table ? "." : "", name ? name : "?",
             text ? (const char *)text : "NULL", expected);
    return -1;
}

static int read_integer(sqlite3_stmt *st, const char *table, const column_spec *c, void *to, char *why, size_t size)
{
    int type = sqlite3_column_type(st, c->column);
    long long v = sqlite3_column_int64(st, c->column);
    if (type != SQLITE_INTEGER || v < c->lo || v > c->hi) {
        if (!c->lenient && !(type == SQLITE_NULL && c->nullable)) {
            char expected[96];
            snprintf(expected, sizeof expected, "where an integer in [%lld, %lld] was expected", c->lo, c->hi);
            return broken(st, table, c, expected, why, size);
        }
        v = -1;
    }
    if (c->size == sizeof(int)) *(int *)to = (int)v; /* the spec's range lies within int */
    else *(long long *)to = v;
    return 0;
}

static double read_real(sqlite3_stmt *st, const column_spec *c)
{
    const unsigned char *text = c->twin ? sqlite3_column_text(st, c->twin) : NULL;
    if (text && strlen((const char *)text) < 48) {
        char *end = NULL;
        double v = strtod((const char *)text, &end);
        if (end != (const char *)text && *end == '\0') return v;
    }
    int type = sqlite3_column_type(st, c->column);
    return type == SQLITE_INTEGER || type == SQLITE_FLOAT ? sqlite3_column_double(st, c->column) : NAN;
}

/* A stored name as its enum value, count when NULL or unknown. */
static int enum_value(const column_spec *c, const char *text, int *count)
{
    *count = stored_enums[c->names].count;
    int k = stored_enum_parse(c->names, text);
    return k >= 0 ? k : *count;
}

static int read_enum(sqlite3_stmt *st, const char *table, const column_spec *c, int *to, char *why, size_t size)
{
    const char *text = (const char *)sqlite3_column_text(st, c->column);
    int count;
    *to = enum_value(c, text, &count);
    if (*to < count || c->lenient || (!text && c->nullable)) return 0;
    return broken(st, table, c, "is not one this nanprobe knows", why, size);
}

int read_row(sqlite3_stmt *st, const char *table, const column_spec *specs, int count, void *row, char *why,
             size_t why_size)
{
    for (int i = 0; i < count; i++) {
        const column_spec *c = &specs[i];
        void *to = (char *)row + c->offset;
        const char *text = NULL;
        if (c->type == COLUMN_TEXT || c->type == COLUMN_TEXT_IN) {
            text = (const char *)sqlite3_column_text(st, c->column);
            if (!text) text = "";
        }
        switch (c->type) {
        case COLUMN_INTEGER:
            if (read_integer(st, table, c, to, why, why_size)) return -1;
            break;
        case COLUMN_REAL:
            *(double *)to = read_real(st, c);
            break;
        case COLUMN_TEXT:
            if (!(*(char **)to = strndup(text, c->hi > 0 ? (size_t)c->hi : strlen(text)))) {
                snprintf(why, why_size, "out of memory reading %s", table ? table : "a row");
                return -2;
            }
            break;
        case COLUMN_TEXT_IN:
            snprintf((char *)to, c->size, "%s", text);
            break;
        case COLUMN_ENUM:
            if (read_enum(st, table, c, (int *)to, why, why_size)) return -1;
            break;
        }
    }
    return 0;
}

const char *read_enum_name(stored_enum which, int value)
{
    if ((unsigned)which >= STORED_ENUM_COUNT || value < 0 || value >= stored_enums[which].count) return "";
    return stored_enums[which].names[value];
}
