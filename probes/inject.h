/* inject.h: the fault-injection drill (--inject SPEC), with which a user can
 * prove the sentinel on their own machine and our tests can check that it
 * names exactly the place a fault was planted.
 *
 *   nan-input@step=S,sample=K               a NaN in clip K of step S's batch
 *   inf-forward@layer=NAME,step=S           +Inf written into NAME's output
 *   inf-backward@layer=NAME,step=S          +Inf written into the gradient reaching NAME's output
 *   scale-weights@layer=NAME,step=S,factor=F  NAME's kernel (or gamma) multiplied by F before step S
 *
 * Steps count from 1; sample is the position in the batch (default 0).  The
 * element hit is at the centre of the volume, channel 0, unless d=, h=, w=,
 * channel= say otherwise. */
#ifndef NANPROBE_INJECT_H
#define NANPROBE_INJECT_H

#include "error.h"
#include "run_enums.h" /* injection_kind and its names: run.db stores them (events.inject_kind) */

struct model;

typedef struct injection {
    injection_kind kind;
    long step;
    int layer;     /* model layer index (0 = the input) */
    int sample;
    int d, h, w, channel; /* -1: the default (centre, channel 0) */
    double factor;
    char spec[160];
} injection;

/* Parses one SPEC against the model's layer names. */
int injection_parse(const char *spec, const struct model *m, injection *out, error *err);
/* The flat index an injection hits in a tensor of the given shape (rank 2
 * for Dense outputs, 5 otherwise). */
long long injection_element(const injection *inj, int rank, const int *shape);
/* The cell it hits, the defaults resolved: d, h, w are -1 for rank 2. */
void injection_cell(const injection *inj, int rank, const int *shape, int *d, int *h, int *w, int *channel);

/* scale-weights: multiplies the layer's first parameter (kernel or gamma)
 * by the factor, in place (the training run and its replay both do it). */
void injection_apply_scaling(const injection *inj, struct model *m);

#endif
