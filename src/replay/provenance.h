/* provenance.h: which numbers made one element of a layer's output: the
 * terms of its sum, recomputed in float64 from the float32 inputs and
 * weights the step used.
 *
 * A float32 origin is an element whose inputs were all finite and whose
 * value was not: some sum of products, or of squared deviations, left the
 * float range.  Recomputing each term in double (where a product of two
 * floats is exact) shows which input channel and which taps carried it:
 * "97 % of the sum comes from activation_8 channel 31 (values up to 3e36)
 * times taps of ~1e3". */
#ifndef NANPROBE_PROVENANCE_H
#define NANPROBE_PROVENANCE_H

#include <stddef.h>

#include "conv3d.h"
#include "error.h"

#define PROVENANCE_TOP 16 /* terms kept, largest |term| first */

typedef struct provenance_term {
    int channel;          /* input channel; Dense: input unit; Add: the element's channel */
    int sample, d, h, w;  /* input cell; -1 where the layer has no such axis */
    int tap[3];           /* conv: (kd, kh, kw); -1 otherwise */
    double input, weight; /* weight is 1 where the term is the input itself (Add, pooling) */
    double term;          /* input * weight; BatchNorm variance: (x - mean)^2 / n */
} provenance_term;

typedef struct provenance {
    double sum;           /* float64 sum of every term, plus the bias */
    double bias;
    long term_count;      /* terms in the receptive field (padding excluded) */
    provenance_term top[PROVENANCE_TOP];
    int top_count;
    /* Conv, Dense: the input channel (unit) with the largest share of
     * sum |term|.  BatchNorm: the channel itself (share 1; the top terms say
     * which cells).  Add: which input, 0 a (the shortcut), 1 b (the residual). */
    int dominant_channel;
    double dominant_share;          /* 0..1 */
    double dominant_input_max;      /* max |input| of that channel's terms */
    double dominant_weight_typical; /* median |weight| of that channel's terms */
    /* Owned (provenance_free): the receptive field as the layer saw it and
     * the matching weights, shapes slice_shape[0..slice_rank).  Conv: input
     * (kd, kh, kw, Cin) with padding as 0, kernel (kd, kh, kw, Cin) of the
     * output channel; Dense: (in) and (in); BatchNorm: the channel's cells
     * (cells) and no kernel (kernel_slice NULL). */
    float *input_slice, *kernel_slice;
    int slice_rank;
    int slice_shape[4];
} provenance;

/* Conv3D output element (sample, d, h, w, out_channel) of a batch whose
 * input is x and weights kernel/bias (float32 as in the step). */
int provenance_conv(const conv3d_geometry *g, const float *x, const float *kernel, const float *bias, int sample,
                    int d, int h, int w, int out_channel, provenance *p, error *err);
/* Dense logit (sample, unit) of a [batch x in] input. */
int provenance_dense(int in, int out, const float *x, const float *kernel, const float *bias, int sample, int unit,
                     provenance *p, error *err);
/* BatchNorm batch statistic of one channel over `cells` cells of x:
 * variance = 0 for the mean (terms x/n), 1 for the biased variance (terms
 * (x - mean)^2 / n, mean in double).  Terms are per cell; a cell's
 * (sample, d, h, w) follows from cells_per_sample and the shape dims[3]. */
int provenance_batchnorm(size_t cells, int channels, const float *x, int channel, int variance,
                         int cells_per_sample, const int dims[3], provenance *p, error *err);
/* Add: the two inputs of element `element` (a the shortcut, b the residual,
 * as the model orders them); the caller keeps `element` inside both. */
int provenance_add(const float *a, const float *b, size_t element, int channels, provenance *p, error *err);

/* Writes the slices as float32 .npy files (kernel_path skipped when there is
 * no kernel slice). */
int provenance_write_npy(const provenance *p, const char *input_path, const char *kernel_path, error *err);
void provenance_free(provenance *p);

#endif
