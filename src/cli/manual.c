/* manual.c: usage, man pages, the options reference and the bash
 * completion, all from the command and option tables (see manual.h). */
#include "manual.h"

#include <stddef.h>
#include <string.h>

#include "exit_status.h"
#include "version.h"

#define MANUAL_DATE "2026"

void manual_print_usage(FILE *out)
{
    fprintf(out, "nanprobe %s: numerical-stability probes for a ResNet3D trained in C\n\n"
                 "usage: nanprobe COMMAND [options]   (nanprobe COMMAND --help for each)\n\ncommands:\n",
            NANPROBE_VERSION);
    for (const command_spec *c = commands; c->name; c++) fprintf(out, "  %-13s %s\n", c->name, c->summary);
}

/* Text for roff: a leading '.' or '\'' would be a request, '\' an escape,
 * '-' a hyphen rather than the minus of an option. */
static void roff(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '\\') fputs("\\e", out);
        else if (*p == '-') fputs("\\-", out);
        else if ((*p == '.' || *p == '\'') && (p == text || p[-1] == '\n')) fprintf(out, "\\&%c", *p);
        else fputc(*p, out);
    }
}

static void man_options(FILE *out, const option_spec *specs)
{
    for (const option_spec *s = specs; s && s->name; s++) {
        char left[96], help[1024];
        options_left_column(s, left, sizeof left);
        options_describe(s, help, sizeof help);
        fputs(".TP\n.B ", out);
        roff(out, left);
        fputc('\n', out);
        roff(out, help);
        fputc('\n', out);
    }
}

static const char *const exit_statuses =
    ".TP\n0\ndone (also early stopping and \\-\\-max\\-steps)\n"
    ".TP\n1\na failure (a bad data file, a full disk, ...): the message says which\n"
    ".TP\n2\na usage error: an unknown option, or a bad option value (the message names the option and what "
    "was expected)\n"
    ".TP\n3\ntraining stopped at the first non\\-finite value (the run.db says where)\n"
    ".TP\n130\ninterrupted (Ctrl\\-C, SIGTERM) after a clean checkpoint\n";

static void man_overview(FILE *out)
{
    fprintf(out, ".TH NANPROBE 1 \"%s\" \"nanprobe %s\" \"User Commands\"\n", MANUAL_DATE, NANPROBE_VERSION);
    fputs(".SH NAME\nnanprobe \\- numerical\\-stability probes for a ResNet3D trained in C\n"
          ".SH SYNOPSIS\n.B nanprobe\n.I COMMAND\n[options]\n.SH DESCRIPTION\n"
          "nanprobe trains a ResNet3D with tf.keras semantics on OpenBLAS, probes every layer every step into "
          "SQLite (run.db), explains the first NaN or Inf with a causal verdict, writes a report, replays the "
          "failing step in float32 and float64 and compares ablation arms.\n"
          ".PP\nThe one\\-minute demo: \\fBnanprobe demo\\fR (or \\fBmake demo\\fR).\n.SH COMMANDS\n",
          out);
    for (const command_spec *c = commands; c->name; c++) {
        fprintf(out, ".TP\n.B nanprobe-%s(1)\n", c->name);
        roff(out, c->summary);
        fputc('\n', out);
    }
    fprintf(out, ".SH EXIT STATUS\n%s.SH FILES\n.TP\nDIR/run.db\nthe run database (nanprobe schema prints it)\n"
                 ".TP\nDIR/report/index.html, DIR/report/verdict.txt\nthe report\n"
                 ".SH SEE ALSO\nThe documentation in docs/ of the source tree (docs/options.md is this page's "
                 "options, generated from the same tables).\n",
            exit_statuses);
}

void manual_man_page(FILE *out, const command_spec *c)
{
    if (!c) {
        man_overview(out);
        return;
    }
    char upper[64];
    size_t n = 0;
    for (const char *p = c->name; *p && n + 1 < sizeof upper; p++) upper[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    upper[n] = '\0';
    fprintf(out, ".TH NANPROBE-%s 1 \"%s\" \"nanprobe %s\" \"User Commands\"\n.SH NAME\nnanprobe\\-", upper,
            MANUAL_DATE, NANPROBE_VERSION);
    roff(out, c->name);
    fputs(" \\- ", out);
    roff(out, c->summary);
    fprintf(out, "\n.SH SYNOPSIS\n.B nanprobe %s\n", c->name);
    roff(out, c->synopsis);
    fputs("\n.SH DESCRIPTION\n", out);
    roff(out, c->description);
    fputc('\n', out);
    if (options_count(c->options) || c->inherits) fputs(".SH OPTIONS\n", out);
    man_options(out, c->options);
    if (c->inherits) fprintf(out, ".PP\nand every option of\n.BR nanprobe-%s (1).\n", c->inherits);
    fprintf(out, ".SH EXIT STATUS\n%s.SH SEE ALSO\n.BR nanprobe (1)\n", exit_statuses);
}

static const char *type_name(option_type type)
{
    static const char *const names[] = {
        [OPTION_INT] = "integer", [OPTION_LONG] = "integer", [OPTION_DOUBLE] = "number",
        [OPTION_STRING] = "text", [OPTION_CHOICE] = "choice", [OPTION_CLIP] = "DxHxWxC",
        [OPTION_FLAG] = "flag", [OPTION_LIST] = "text, repeatable",
    };
    _Static_assert(sizeof names / sizeof names[0] == OPTION_TYPE_COUNT, "a name for every option type");
    return names[type];
}

/* A table cell: '|' would end the cell. */
static void cell(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '|') fputs("\\|", out);
        else fputc(*p, out);
    }
}

void manual_markdown(FILE *out)
{
    fputs("# nanprobe options reference\n\n"
          "Generated by `nanprobe help --markdown` from the command and option tables in src/cli/ (the same "
          "rows the parser, `--help` and the man pages use); `make docs-check` fails when this file is out of "
          "date. Do not edit it by hand.\n\n"
          "Every command exits 2 on an unknown option or a bad value, with a message naming the option and "
          "what was expected. Commands that write something name it with `-o` (long form `--out`).\n",
          out);
    for (const command_spec *c = commands; c->name; c++) {
        fprintf(out, "\n## nanprobe %s\n\n`nanprobe %s %s`\n\n%s\n", c->name, c->name, c->synopsis, c->description);
        if (c->inherits) fprintf(out, "\nIt also takes every option of `nanprobe %s`.\n", c->inherits);
        if (!options_count(c->options)) continue;
        int resumable = c->options[0].on_resume != ON_RESUME_NA;
        fprintf(out, "\n| option | type | default | %smeaning |\n|---|---|---|%s---|\n", resumable ? "on --resume | " : "",
                resumable ? "---|" : "");
        for (const option_spec *s = c->options; s->name; s++) {
            char left[96], expected[256];
            options_left_column(s, left, sizeof left);
            options_expected(s, expected, sizeof expected);
            fputs("| `", out);
            cell(out, left);
            fprintf(out, "` | %s | %s | ", type_name(s->type), s->value ? s->value : "");
            if (resumable) fputs(s->on_resume == ON_RESUME_FIXED ? "fixed | " : "may change | ", out);
            cell(out, s->help);
            if (s->type != OPTION_FLAG && s->type != OPTION_STRING && s->type != OPTION_LIST) {
                fputs("; ", out);
                cell(out, expected);
            }
            if (s->deprecated) fprintf(out, "; old spelling `%s`", s->deprecated);
            fputs(" |\n", out);
        }
    }
}

static void completion_words(FILE *out, const option_spec *specs)
{
    for (const option_spec *s = specs; s && s->name; s++) fprintf(out, " %s%s%s", s->name, s->alias ? " " : "", s->alias ? s->alias : "");
}

void manual_bash_completion(FILE *out)
{
    fputs("# bash completion for nanprobe (generated by `nanprobe help --completion`)\n"
          "_nanprobe() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} command=${COMP_WORDS[1]} words\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n        words=\"",
          out);
    for (const command_spec *c = commands; c->name; c++) fprintf(out, "%s%s", c == commands ? "" : " ", c->name);
    fputs("\"\n    else\n        case $command in\n", out);
    for (const command_spec *c = commands; c->name; c++) {
        fprintf(out, "        %s) words=\"--help", c->name);
        completion_words(out, c->options);
        if (c->inherits) completion_words(out, command_find(c->inherits)->options);
        fputs("\" ;;\n", out);
    }
    fputs("        esac\n"
          "        case $cur in\n"
          "            -*) ;;\n"
          "            *) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
          "        esac\n"
          "    fi\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "}\n"
          "complete -o filenames -F _nanprobe nanprobe\n",
          out);
}

/* ------------------------------------------------------------ nanprobe help */

typedef struct help_cli {
    int man, markdown, completion;
} help_cli;

const option_spec help_option_specs[] = {
    {"--man", NULL, OPTION_FLAG, offsetof(help_cli, man), NULL, NULL, "print the man page in roff (of COMMAND, or nanprobe(1))", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--markdown", NULL, OPTION_FLAG, offsetof(help_cli, markdown), NULL, NULL, "print the options reference of every command (docs/options.md)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--completion", NULL, OPTION_FLAG, offsetof(help_cli, completion), NULL, NULL, "print the bash completion script", 0, 0, NULL, ON_RESUME_NA, NULL},
    {0},
};

int command_help(int argc, char **argv, const command_context *context)
{
    (void)context;
    help_cli c = {0};
    const char *positional[1];
    int count = 0;
    int rc = command_options("help", &c, argc, argv, positional, 1, &count);
    if (rc >= 0) return rc;
    const command_spec *command = count ? command_find(positional[0]) : NULL;
    if (count && !command) {
        fprintf(stderr, "nanprobe help: unknown command '%s' (see nanprobe help)\n", positional[0]);
        return EXIT_USAGE;
    }
    if (c.man + c.markdown + c.completion > 1) {
        fprintf(stderr, "nanprobe help: --man, --markdown and --completion exclude each other\n");
        return EXIT_USAGE;
    }
    if (c.man) manual_man_page(stdout, command);
    else if (c.markdown) manual_markdown(stdout);
    else if (c.completion) manual_bash_completion(stdout);
    else if (command) command_print_help(stdout, command);
    else manual_print_usage(stdout);
    return EXIT_OK;
}
