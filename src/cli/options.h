/* options.h: a table-driven command-line parser for the subcommands.
 *
 * Each option names its target and what it accepts; a bad value produces a
 * message that says which option, what was given and what was expected, and
 * the caller exits with status 2.  Both "--name value" and "--name=value"
 * are accepted. */
#ifndef NANPROBE_OPTIONS_H
#define NANPROBE_OPTIONS_H

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
} option_type;

typedef struct string_list {
    const char *items[32];
    int count;
} string_list;

typedef struct option_spec {
    const char *name;    /* "--depth" */
    option_type type;
    void *target;
    const char *metavar; /* "N", "DxHxWxC" */
    const char *help;
    double minimum, maximum;
    const char *const *choices; /* OPTION_CHOICE: NULL-terminated */
} option_spec;

/* Parses argv[0..argc) against specs.  Arguments that are not options are
 * collected in positional (up to max_positional).  Returns -1 with err set
 * on anything unexpected; sets *help when --help/-h was given. */
int options_parse(const char *command, const option_spec *specs, int count, int argc, char *const *argv,
                  const char **positional, int max_positional, int *positional_count, int *help, error *err);
/* Whether argv holds the option `name` (as "--name" or "--name=..."). */
int options_given(int argc, char *const *argv, const char *name);
void options_print_help(FILE *out, const char *usage, const char *summary, const option_spec *specs, int count);
int options_parse_clip(const char *text, int clip[4]);

#endif
