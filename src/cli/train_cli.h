/* train_cli.h: parsing the options of `nanprobe train` into train_options. */
#ifndef NANPROBE_TRAIN_CLI_H
#define NANPROBE_TRAIN_CLI_H

#include "error.h"
#include "options.h"
#include "train.h"

typedef struct train_cli {
    train_options o;
    int depth_index, probes_choice, no_report, report_flag;
    const char *on_nan, *resume;
    string_list inject;
    const char *resize;                 /* --resize HxW, parsed into o.video.resize */
    int classes_given, train_clips_given; /* over every parse (a resume parses twice) */
} train_cli;

/* The seed's defaults. */
void train_cli_init(train_cli *c);
/* Parses argv on top of what c holds (so a resumed run's stored options can
 * be parsed first and new ones after); prints the help on --help. */
int train_cli_parse(train_cli *c, int argc, char *const *argv, int *help, error *err);
/* Whether "--name" is an option of train. */
int train_cli_has_option(const char *name);

/* Options that define the model, the data or their order: they may not
 * change when a run is resumed. */
extern const char *const train_cli_fixed_on_resume[];

#endif
