/* inference_trace.h: the causal trace of a NaN first seen in validation.
 *
 * Validation runs in inference mode: BatchNorm normalizes with its moving
 * statistics.  From the origin (the first 'nan' event, pass validation) the
 * walk goes upstream through the validation batch's per-layer statistics
 * (validation_stats: at each layer the input with the larger |x|) down to
 * the clips, and names the root:
 *   - the data: a validation clip held NaN/Inf (origin at the input), or
 *     the batch was far out of the training input's scale;
 *   - a moving variance <= 0 or non-finite in a BatchNorm on the path
 *     (sqrt of a negative number; a Keras checkpoint can carry one);
 *   - moving statistics that disagree with what the layer now produces
 *     (validation_batchnorm.inference_scale >= INFERENCE_SCALE_LIMIT): the
 *     most upstream such BatchNorm; the chain lists the path's BatchNorms
 *     with their factors, which compound layer by layer;
 *   - otherwise the weights (the kernel on the path that amplified most).
 * The class is MECHANISM_INFERENCE_STATISTICS for the two BatchNorm roots. */
#ifndef NANPROBE_INFERENCE_TRACE_H
#define NANPROBE_INFERENCE_TRACE_H

#include "cause.h"
#include "strbuf.h"

/* RMS of the normalized input from which a BatchNorm's moving statistics
 * count as disagreeing: 10 x what training's batch statistics give. */
#define INFERENCE_SCALE_LIMIT 10.0

/* 1 when the event is a validation one. */
int inference_event(const event_info *e);

/* Fills t (already zeroed, nan_step set) for the validation event e from
 * the validation rows of window. */
int inference_trace_build(const rundata *d, const event_info *e, const cause_window *window, cause_trace *t,
                          error *err);

/* "Validation: after epoch E, validation batch B, validation clip X (file,
 * frames)." for the verdict; nothing for other events. */
void inference_text_origin(const rundata *d, const event_info *e, const cause_trace *t, strbuf *out);

#endif
