/* commands.h: the table of nanprobe's commands.  Each row names the
 * command, its synopsis, a one-line summary, a paragraph, its option table
 * (options.h) and the function that runs it.  main() dispatches through the
 * table; usage, --help, the man pages, docs/options.md and the bash
 * completion are printed from it (manual.c). */
#ifndef NANPROBE_COMMANDS_H
#define NANPROBE_COMMANDS_H

#include <stdio.h>

#include "blas_kernel.h"
#include "options.h"

struct dist_comm;

typedef struct command_context {
    const blas_selection *blas; /* chosen at start-up (only for commands that compute) */
    struct dist_comm *comm;
} command_context;

typedef struct command_spec {
    const char *name;        /* NULL ends the table */
    const char *synopsis;    /* what follows "nanprobe NAME" */
    const char *summary;     /* one line */
    const char *description; /* a paragraph, for --help and the man page */
    const option_spec *options;
    const char *inherits;    /* "train": also takes (and passes on) train's options; or NULL */
    int (*run)(int argc, char **argv, const command_context *context);
    int computes;            /* chooses the BLAS kernel before it runs */
    int every_rank;          /* under mpirun every rank runs it (otherwise rank 0 alone) */
} command_spec;

extern const command_spec commands[];

const command_spec *command_find(const char *name);
void command_print_help(FILE *out, const command_spec *command);
/* Parses a command's options into base with its own table; on --help prints
 * the help.  Returns -1 to go on, or the exit status to return now (0 after
 * the help, 2 after a usage error, whose message it printed). */
int command_options(const char *name, void *base, int argc, char **argv, const char **positional,
                    int max_positional, int *positional_count);

/* The commands (main.c and the command files). */
int command_train(int argc, char **argv, const command_context *context);
int command_init(int argc, char **argv, const command_context *context);
int command_report(int argc, char **argv, const command_context *context);
int command_compare(int argc, char **argv, const command_context *context);
int command_summary(int argc, char **argv, const command_context *context);
int command_schema(int argc, char **argv, const command_context *context);
int command_version(int argc, char **argv, const command_context *context);
int command_help(int argc, char **argv, const command_context *context);
int command_demo(int argc, char **argv, const command_context *context);

extern const option_spec report_option_specs[], compare_option_specs[], summary_option_specs[],
    version_option_specs[], help_option_specs[], ablate_option_specs[], data_option_specs[],
    export_keras_option_specs[], replay_option_specs[], doctor_option_specs[], demo_option_specs[];

#endif
