/* manual.h: everything a user reads about the commands and their options,
 * printed from the tables (commands.h, options.h): the list of commands,
 * the man pages nanprobe(1) and nanprobe-COMMAND(1), the options reference
 * docs/options.md and the bash completion. */
#ifndef NANPROBE_MANUAL_H
#define NANPROBE_MANUAL_H

#include <stdio.h>

#include "commands.h"

void manual_print_usage(FILE *out);
/* command NULL: nanprobe(1). */
void manual_man_page(FILE *out, const command_spec *command);
void manual_markdown(FILE *out);
void manual_bash_completion(FILE *out);

#endif
