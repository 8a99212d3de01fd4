/* report_ladder.h: the precision ladder's table in the report's Replay section. */
#ifndef NANPROBE_REPORT_LADDER_H
#define NANPROBE_REPORT_LADDER_H

#include <stdio.h>

#include "read_run.h"

void report_ladder_table(FILE *f, const rundata *d);

#endif
