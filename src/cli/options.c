/* options.c: command-line parsing from the option tables (see options.h). */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TARGET(base, s, type) ((type *)((char *)(base) + (s)->offset))

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

int options_count(const option_spec *specs)
{
    int n = 0;
    while (specs && specs[n].name) n++;
    return n;
}

void options_expected(const option_spec *s, char *out, size_t size)
{
    const char *kind = s->type == OPTION_DOUBLE ? "a number" : "an integer";
    switch (s->type) {
    case OPTION_INT:
    case OPTION_LONG:
    case OPTION_DOUBLE:
        if (isinf(s->maximum) || s->maximum >= 1e18) snprintf(out, size, "%s >= %g", kind, s->minimum);
        else snprintf(out, size, "%s in [%g, %g]", kind, s->minimum, s->maximum);
        return;
    case OPTION_CHOICE: {
        size_t used = (size_t)snprintf(out, size, "one of ");
        for (int i = 0; s->choices[i] && used < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%s%s", i ? ", " : "", s->choices[i]);
        return;
    }
    case OPTION_CLIP: snprintf(out, size, "DxHxWxC with positive integers (e.g. 16x112x112x3)"); return;
    case OPTION_FLAG: snprintf(out, size, "no value"); return;
    default: snprintf(out, size, "a non-empty value"); return;
    }
}

static int bad_value(const char *command, const option_spec *s, const char *value, error *err)
{
    char expected[256];
    options_expected(s, expected, sizeof expected);
    return error_set(err, "nanprobe %s: %s expects %s, got '%s'", command, s->name, expected, value);
}

static int set_value(const char *command, const option_spec *s, void *base, const char *value, error *err)
{
    char *end;
    errno = 0;
    switch (s->type) {
    case OPTION_INT:
    case OPTION_LONG: {
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno || (double)v < s->minimum || (double)v > s->maximum)
            return bad_value(command, s, value, err);
        if (s->type == OPTION_INT) *TARGET(base, s, int) = (int)v;
        else *TARGET(base, s, long) = (long)v;
        return 0;
    }
    case OPTION_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v) || v < s->minimum || v > s->maximum)
            return bad_value(command, s, value, err);
        *TARGET(base, s, double) = v;
        return 0;
    }
    case OPTION_STRING:
        if (!*value) return bad_value(command, s, value, err);
        *TARGET(base, s, const char *) = value;
        return 0;
    case OPTION_CHOICE:
        for (int i = 0; s->choices[i]; i++)
            if (strcmp(value, s->choices[i]) == 0) {
                *TARGET(base, s, int) = i;
                return 0;
            }
        return bad_value(command, s, value, err);
    case OPTION_CLIP:
        if (options_parse_clip(value, TARGET(base, s, int))) return bad_value(command, s, value, err);
        return 0;
    case OPTION_LIST: {
        string_list *list = TARGET(base, s, string_list);
        if (list->count >= (int)(sizeof list->items / sizeof list->items[0]))
            return error_set(err, "nanprobe %s: %s given too many times", command, s->name);
        list->items[list->count++] = value;
        return 0;
    }
    case OPTION_FLAG:
        *TARGET(base, s, int) = 1;
        return 0;
    default: return 0;
    }
}

void options_init(const char *command, const option_spec *specs, void *base)
{
    error ignored;
    for (int k = 0; specs && specs[k].name; k++)
        if (specs[k].value && specs[k].type != OPTION_FLAG && specs[k].type != OPTION_LIST)
            set_value(command, &specs[k], base, specs[k].value, &ignored);
}

static int spelled(const char *spelling, const char *arg, size_t length)
{
    return spelling && strlen(spelling) == length && strncmp(spelling, arg, length) == 0;
}

static const option_spec *find(const option_spec *specs, const char *arg, size_t length)
{
    for (int k = 0; specs && specs[k].name; k++)
        if (spelled(specs[k].name, arg, length) || spelled(specs[k].alias, arg, length) ||
            spelled(specs[k].deprecated, arg, length))
            return &specs[k];
    return NULL;
}

const option_spec *options_find(const option_spec *specs, const char *name)
{
    return find(specs, name, strlen(name));
}

const option_spec *options_take(const char *command, const option_spec *specs, void *base, int argc,
                                char *const *argv, int *i, int *failed, error *err)
{
    const char *arg = argv[*i];
    const char *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;
    size_t length = eq ? (size_t)(eq - arg) : strlen(arg);
    const option_spec *s = find(specs, arg, length);
    *failed = 0;
    if (!s) return NULL;
    if (s->type == OPTION_FLAG) {
        if (eq) *failed = error_set(err, "nanprobe %s: %s takes no value", command, s->name);
        else set_value(command, s, base, NULL, err);
        return s;
    }
    const char *value = eq ? eq + 1 : NULL;
    if (!value) {
        if (*i + 1 >= argc) {
            *failed = error_set(err, "nanprobe %s: %s expects a value (%s)", command, s->name,
                                s->metavar ? s->metavar : "VALUE");
            return s;
        }
        value = argv[++*i];
    }
    *failed = set_value(command, s, base, value, err);
    return s;
}

int options_parse(const char *command, const option_spec *specs, void *base, int argc, char *const *argv,
                  const char **positional, int max_positional, int *positional_count, unsigned char *given,
                  int *help, error *err)
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
        int failed;
        const option_spec *s = options_take(command, specs, base, argc, argv, &i, &failed, err);
        if (!s) {
            const char *eq = strchr(arg, '=');
            return error_set(err, "nanprobe %s: unknown option '%.*s' (see nanprobe %s --help)", command,
                             eq ? (int)(eq - arg) : (int)strlen(arg), arg, command);
        }
        if (failed) return -1;
        if (given) given[s - specs] = 1;
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

int options_spec_given(const option_spec *s, int argc, char *const *argv)
{
    return options_given(argc, argv, s->name) || (s->alias && options_given(argc, argv, s->alias)) ||
           (s->deprecated && options_given(argc, argv, s->deprecated));
}

void options_left_column(const option_spec *s, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s%s%s", s->alias ? s->alias : "", s->alias ? ", " : "", s->name,
             s->metavar ? " " : "", s->metavar ? s->metavar : "");
}

void options_describe(const option_spec *s, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s%s%s%s%s", s->help, s->value ? " (default " : "", s->value ? s->value : "",
             s->value ? ")" : "", s->on_resume == ON_RESUME_FIXED ? "; fixed on --resume" : "",
             s->deprecated ? "; old spelling: " : "", s->deprecated ? s->deprecated : "");
}

void options_print_wrapped(FILE *out, const char *text, int indent, int width)
{
    int column = indent, first = 1;
    while (*text) {
        size_t word = strcspn(text, " ");
        if (!first && column + 1 + (int)word > width) {
            fprintf(out, "\n%*s", indent, "");
            column = indent;
        } else if (!first) {
            fputc(' ', out);
            column++;
        }
        fprintf(out, "%.*s", (int)word, text);
        column += (int)word;
        first = 0;
        text += word;
        while (*text == ' ') text++;
    }
    fputc('\n', out);
}

void options_print_help(FILE *out, const char *usage, const char *summary, const option_spec *specs)
{
    fprintf(out, "usage: %s\n\n", usage);
    options_print_wrapped(out, summary, 0, 100);
    if (options_count(specs)) fprintf(out, "\noptions:\n");
    for (int k = 0; specs && specs[k].name; k++) {
        const option_spec *s = &specs[k];
        char left[64];
        options_left_column(s, left, sizeof left);
        char help[1024];
        options_describe(s, help, sizeof help);
        fprintf(out, "  %-26s ", left);
        options_print_wrapped(out, help, 29, 110);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help");
}
