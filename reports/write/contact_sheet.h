/* contact_sheet.h: a PNG of a few clips exactly as the network sees them,
 * one row per clip, one tile per frame, through gnuplot (`with rgbimage`).
 *
 * Values are mapped linearly from [lo, hi] to 0..255 and clamped, so the
 * picture shows the normalized input, not the decoded video: the caller
 * picks the range for its normalization (0..255 for none, 0..1 for scale,
 * -3..3 for the standardizations) and the title states it.  Non-finite
 * values are drawn magenta, which no clamp produces. */
#ifndef NANPROBE_CONTACT_SHEET_H
#define NANPROBE_CONTACT_SHEET_H

#include "error.h"

typedef struct contact_sheet {
    const float *clips;            /* count clips of D x H x W x C, channels-last */
    int count;
    int clip[4];                   /* D, H, W, C (C = 1 or 3) */
    const char *const *captions;   /* one per clip (file, frames, crop); any text */
    double lo, hi;                 /* value range shown as black .. white */
    const char *title;             /* any text */
} contact_sheet;

/* Writes dir/png_name (a plain file name).  The raw pixels and the script
 * go to dir as png_name + ".rgb" / ".gp" and are removed afterwards. */
int contact_sheet_write(const char *dir, const char *png_name, const contact_sheet *sheet, error *err);

#endif
