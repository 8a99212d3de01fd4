/* options.h: the options of every command as data, and their parser.
 *
 * A command's options are one table of option_spec rows (ended by a row
 * whose name is NULL): name and short alias, type, where the value goes in
 * the command's own struct (offsetof), the default as the user would type
 * it, the help text, the accepted range or choices, and whether a resumed
 * run may change it.  The parser, --help, the error messages, the man
 * pages, docs/options.md and the bash completion are all made from these
 * rows (commands.c, manual.c), so adding an option is adding one row.
 *
 * A bad value produces a message that says which option, what was given
 * and what was expected, and the caller exits with status 2.  Both
 * "--name value" and "--name=value" are accepted. */
#ifndef NANPROBE_OPTIONS_H
#define NANPROBE_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

typedef enum option_type {
    OPTION_INT,    /* int, within [minimum, maximum] */
    OPTION_LONG,   /* long, within [minimum, maximum] */
    OPTION_DOUBLE, /* finite double, within [minimum, maximum] */
    OPTION_STRING, /* const char * (points into argv) */
    OPTION_CHOICE, /* int: index into choices */
    OPTION_CLIP,   /* int[4]: DxHxWxC, each >= 1 */
    OPTION_FLAG,   /* int set to 1; takes no value */
    OPTION_LIST,   /* repeatable string: string_list */
    OPTION_TYPE_COUNT
} option_type;

/* What `train --resume` may do with an option (other commands: NA). */
typedef enum option_on_resume {
    ON_RESUME_NA,         /* the command has no --resume */
    ON_RESUME_MAY_CHANGE, /* a new value applies from the resumed step on */
    ON_RESUME_FIXED,      /* defines the model, the data or their order */
} option_on_resume;

typedef struct string_list {
    const char *items[32];
    int count;
} string_list;

typedef struct option_spec {
    const char *name;        /* "--depth"; NULL ends a table */
    const char *alias;       /* "-o", or NULL */
    option_type type;
    size_t offset;           /* of the value in the command's struct */
    const char *metavar;     /* "N", "DxHxWxC" */
    const char *value;       /* the default as typed ("34"), set by options_init; NULL: the help says */
    const char *help;
    double minimum, maximum;
    const char *const *choices; /* OPTION_CHOICE: NULL-terminated */
    option_on_resume on_resume;
    const char *deprecated;  /* an old spelling still accepted ("--sheet"), or NULL */
} option_spec;

/* Rows in a table (up to the NULL name). */
int options_count(const option_spec *specs);
/* Sets every option with a default (spec.value) in base. */
void options_init(const char *command, const option_spec *specs, void *base);
/* Parses argv[0..argc) against specs into base.  Arguments that are not
 * options are collected in positional (up to max_positional).  given (may
 * be NULL, one entry per row) is or-ed with the rows that appeared.
 * Returns -1 with err set on anything unexpected; sets *help on --help/-h. */
int options_parse(const char *command, const option_spec *specs, void *base, int argc, char *const *argv,
                  const char **positional, int max_positional, int *positional_count, unsigned char *given,
                  int *help, error *err);
/* The row argv[*i] names (by name, alias or deprecated spelling), or NULL;
 * on a match its value is stored in base (taking argv[*i + 1] if needed). */
const option_spec *options_take(const char *command, const option_spec *specs, void *base, int argc,
                                char *const *argv, int *i, int *failed, error *err);
/* The row called name (any spelling), or NULL. */
const option_spec *options_find(const option_spec *specs, const char *name);
/* Whether argv holds the option s (any spelling, as "--name" or "--name=..."). */
int options_spec_given(const option_spec *s, int argc, char *const *argv);
/* Whether argv holds the option spelled `name` (as "--name" or "--name=..."). */
int options_given(int argc, char *const *argv, const char *name);
/* "-o, --out DIR" */
void options_left_column(const option_spec *s, char *out, size_t size);
/* What a value must be: "an integer in [1, 4096]", "one of he_normal, glorot_uniform". */
void options_expected(const option_spec *s, char *out, size_t size);
/* The help text with the default, "fixed on --resume" and the old spelling. */
void options_describe(const option_spec *s, char *out, size_t size);
/* text as words (the cursor already at column indent), broken before
 * width, continuation lines indented. */
void options_print_wrapped(FILE *out, const char *text, int indent, int width);
void options_print_help(FILE *out, const char *usage, const char *summary, const option_spec *specs);
int options_parse_clip(const char *text, int clip[4]);

#endif
