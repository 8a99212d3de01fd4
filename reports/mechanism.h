/* mechanism.h: the taxonomy of NaN mechanisms a causal verdict names.
 *
 * Every verdict of a run with a NaN gets exactly one class; a healthy run
 * gets MECHANISM_NONE and no "Cause" line.  Each class has a key (stored in
 * the cause_chain table), a sentence a user understands, and a fix hint.
 * The table is documented in docs/verdict.md. */
#ifndef NANPROBE_MECHANISM_H
#define NANPROBE_MECHANISM_H

typedef enum mechanism {
    MECHANISM_NONE,            /* healthy run: no cause */
    MECHANISM_DATA,            /* a non-finite, constant or badly scaled clip */
    MECHANISM_UPDATE_BLOWUP,   /* one optimizer step moved weights far beyond their scale */
    MECHANISM_GRADUAL_GROWTH,  /* a statistic grew step after step until float32 overflowed */
    MECHANISM_BATCHNORM,       /* BatchNorm collapse (variance -> 0), cancellation or a tiny count */
    MECHANISM_LOSS_SATURATION, /* logits so far apart that the loss or its gradient overflowed */
    MECHANISM_INJECTED,        /* a fault planted with --inject */
    MECHANISM_INFERENCE_STATISTICS, /* validation only: BatchNorm's moving statistics do not fit (issue 22) */
    /* precision (train --precision, the precision ladder; cause_precision.c) */
    MECHANISM_FLOAT16_OVERFLOW,     /* a float16 tensor passed 65504 */
    MECHANISM_FLOAT16_UNDERFLOW,    /* float16 gradients flushed to zero: too little loss scale */
    MECHANISM_LOSS_SCALE_COLLAPSE,  /* every step skipped, the loss scale at its floor */
    MECHANISM_REDUCED_PRECISION,    /* TF32 / bfloat16 rounding cancelled what float32 keeps */
    MECHANISM_L2_ADAM,         /* L2 outweighs the data gradient under Adam: kernels shrink, relative steps grow */
    MECHANISM_COUNT
} mechanism;

typedef struct mechanism_def {
    const char *key;      /* "update_blowup" */
    const char *title;    /* "update blow-up (learning rate)" */
    const char *sentence; /* what happened, in plain words */
    const char *fix;      /* what to change */
} mechanism_def;

extern const mechanism_def mechanism_defs[MECHANISM_COUNT];

#endif
