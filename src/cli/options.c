/* options.c: command-line parsing with precise messages (see options.h). */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int options_parse_clip(const char *text, int clip[4])
{
    const char *p = text;
    for (int a = 0; a < 4; a++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > 100000) return -1;
        clip[a] = (int)v;
        if (a < 3) {
            if (*end != 'x' && *end != 'X') return -1;
            p = end + 1;
        } else if (*end) {
            return -1;
        }
    }
    return 0;
}

static void describe_range(const option_spec *s, char *out, size_t size)
{
    const char *kind = s->type == OPTION_DOUBLE ? "a number" : "an integer";
    if (isinf(s->maximum) || s->maximum >= 1e18)
        snprintf(out, size, "%s >= %g", kind, s->minimum);
    else
        snprintf(out, size, "%s in [%g, %g]", kind, s->minimum, s->maximum);
}

static int set_value(const char *command, const option_spec *s, const char *value, error *err)
{
    char expected[96];
    switch (s->type) {
    case OPTION_INT:
    case OPTION_LONG: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno || (double)v < s->minimum || (double)v > s->maximum) {
            describe_range(s, expected, sizeof expected);
            return error_set(err, "nanprobe %s: %s expects %s, got '%s'", command, s->name, expected, value);
        }
        if (s->type == OPTION_INT) *(int *)s->target = (int)v;
        else *(long *)s->target = (long)v;
        return 0;
    }
    case OPTION_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v) || v < s->minimum || v > s->maximum) {
            describe_range(s, expected, sizeof expected);
            return error_set(err, "nanprobe %s: %s expects %s, got '%s'", command, s->name, expected, value);
        }
        *(double *)s->target = v;
        return 0;
    }
    case OPTION_STRING:
        if (!*value) return error_set(err, "nanprobe %s: %s expects a non-empty value", command, s->name);
        *(const char **)s->target = value;
        return 0;
    case OPTION_CHOICE:
        for (int i = 0; s->choices[i]; i++)
            if (strcmp(value, s->choices[i]) == 0) {
                *(int *)s->target = i;
                return 0;
            }
        {
            char list[256] = "";
            for (int i = 0; s->choices[i]; i++) {
                size_t len = strlen(list);
                snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", s->choices[i]);
            }
            return error_set(err, "nanprobe %s: %s expects one of %s, got '%s'", command, s->name, list, value);
        }
    case OPTION_CLIP:
        if (options_parse_clip(value, (int *)s->target))
            return error_set(err, "nanprobe %s: %s expects DxHxWxC with positive integers (e.g. 16x112x112x3), got '%s'",
                             command, s->name, value);
        return 0;
    case OPTION_LIST: {
        string_list *list = s->target;
        if (list->count >= (int)(sizeof list->items / sizeof list->items[0]))
            return error_set(err, "nanprobe %s: %s given too many times", command, s->name);
        list->items[list->count++] = value;
        return 0;
    }
    case OPTION_FLAG:
        *(int *)s->target = 1;
        return 0;
    }
    return 0;
}

int options_parse(const char *command, const option_spec *specs, int count, int argc, char *const *argv,
                  const char **positional, int max_positional, int *positional_count, int *help, error *err)
{
    *help = 0;
    if (positional_count) *positional_count = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = 1;
            return 0;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (!positional || *positional_count >= max_positional)
                return error_set(err, "nanprobe %s: unexpected argument '%s' (see nanprobe %s --help)", command,
                                 arg, command);
            positional[(*positional_count)++] = arg;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_length = eq ? (size_t)(eq - arg) : strlen(arg);
        const option_spec *s = NULL;
        for (int k = 0; k < count; k++)
            if (strlen(specs[k].name) == name_length && strncmp(specs[k].name, arg, name_length) == 0) s = &specs[k];
        if (!s)
            return error_set(err, "nanprobe %s: unknown option '%.*s' (see nanprobe %s --help)", command,
                             (int)name_length, arg, command);
        if (s->type == OPTION_FLAG) {
            if (eq) return error_set(err, "nanprobe %s: %s takes no value", command, s->name);
            set_value(command, s, NULL, err);
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc)
                return error_set(err, "nanprobe %s: %s expects a value (%s)", command, s->name,
                                 s->metavar ? s->metavar : "VALUE");
            value = argv[++i];
        }
        if (set_value(command, s, value, err)) return -1;
    }
    return 0;
}

int options_given(int argc, char *const *argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '=')) return 1;
    return 0;
}

void options_print_help(FILE *out, const char *usage, const char *summary, const option_spec *specs, int count)
{
    fprintf(out, "usage: %s\n\n%s\n\noptions:\n", usage, summary);
    for (int k = 0; k < count; k++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", specs[k].name, specs[k].metavar ? " " : "",
                 specs[k].metavar ? specs[k].metavar : "");
        fprintf(out, "  %-26s %s\n", left, specs[k].help);
    }
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}
