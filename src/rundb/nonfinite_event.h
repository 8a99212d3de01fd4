/* nonfinite_event.h: the first non-finite value of a run, as the sentinel
 * (probes/sentinel.h) finds it and as an events row of kind 'nan' stores
 * it;  It lives with the
 * run.db owner because both the writer and the readers speak it. */
#ifndef NANPROBE_NONFINITE_EVENT_H
#define NANPROBE_NONFINITE_EVENT_H

#include "run_enums.h"


/* The first non-finite value of a run. */
typedef struct nonfinite_event {
    long step;
    int epoch;
    int layer;
    probe_pass pass;
    char tensor[32];         /* as in the stats table: output, output_grad, kernel.grad, ... */
    value_class value_class;
    long long element;       /* flat index of the first bad element */
    int sample, d, h, w, channel; /* -1 where the tensor has no such axis */
    long sample_id;          /* dataset id of the clip at `sample`, -1 if none */
    int is_origin;
    char message[640];
} nonfinite_event;

#endif
