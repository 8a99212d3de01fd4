/* train_cli.h: the options of `nanprobe train` (one table, train_cli.c)
 * parsed into train_options, and the command's own. */
#ifndef NANPROBE_TRAIN_CLI_H
#define NANPROBE_TRAIN_CLI_H

#include "error.h"
#include "options.h"
#include "train.h"

#define TRAIN_CLI_MAX_OPTIONS 64

typedef struct train_cli {
    train_options o;
    /* the command's own: console output, the report, --timing's table */
    int quiet, report, timing;
    int depth_index, probes_choice, no_report, report_flag;
    const char *on_nan, *resume;
    string_list inject;
    const char *resize; /* --resize HxW, parsed into o.data.video.resize */
    /* the rows of train_option_specs given, over every parse (a resume
     * parses the stored options, then the new ones) */
    unsigned char given[TRAIN_CLI_MAX_OPTIONS];
} train_cli;

/* The table: name, type, default, help, whether --resume may change it. */
extern const option_spec train_option_specs[];

/* The seed's defaults (train_options_defaults, then the table's). */
void train_cli_init(train_cli *c);
/* Parses argv on top of what c holds (so a resumed run's stored options can
 * be parsed first and new ones after); the caller prints the help on --help. */
int train_cli_parse(train_cli *c, int argc, char *const *argv, int *help, error *err);
/* Whether the option called name (any spelling) was given in a parse so far. */
int train_cli_given(const train_cli *c, const char *name);

#endif
