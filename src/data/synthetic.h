/* synthetic.h: the built-in video dataset, "moving shapes".
 *
 * Each clip shows one bright shape (disc, ring, cross or square) gliding in a
 * straight line over a flat, tinted, noisy background.  The class is the
 * direction of motion, and the shape too once there are more classes than
 * eight directions:
 *
 *   shapes     = min(4, ceil(K / 8))        (1: the shape is random, not a class)
 *   directions = ceil(K / shapes)
 *   label c    : direction c % directions, shape c / directions
 *   direction j: angle 360 * j / directions degrees counter-clockwise from
 *                "moving right" as seen on screen (rows grow downwards), so
 *                K = 4 is right, up, left, down and K = 2 is right, left.
 *
 * K = classes, except that classes == 1 (a sigmoid output) means binary
 * labels 0/1, generated as K = 2.  Motion wraps around the frame edges
 * (a torus), so the position in any single frame is uniform and says nothing
 * about the class: only the change across frames does, which is what makes
 * the temporal axis necessary.  With D == 1 the direction is therefore
 * unlearnable (only the shape part of a label remains).
 *
 * Nuisance variables, random per clip: start position, size (8-16% of the
 * smaller frame side), speed (0.3-0.7 of the radius per frame), a jitter of
 * up to a quarter of the angle between neighbouring directions, background
 * level and tint, shape brightness, noise level (std 2-12).  Values are
 * integers 0..255 stored as float, like a decoded uint8 video.
 *
 * Everything is a function of (seed, split, id) alone: any clip can be made
 * on its own, in any order, by any thread.  Labels are id modulo K, so every
 * run of K consecutive ids holds each class once (shuffle before batching). */
#ifndef NANPROBE_SYNTHETIC_H
#define NANPROBE_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

enum { SYNTHETIC_SHAPES = 4, SYNTHETIC_DIRECTIONS_PER_SHAPE = 8 };

typedef enum synthetic_shape {
    SYNTHETIC_DISC, SYNTHETIC_RING, SYNTHETIC_CROSS, SYNTHETIC_SQUARE
} synthetic_shape;

/* What a label means for a given `classes`. */
typedef struct synthetic_class {
    int direction;  /* 0 .. directions-1 */
    int directions;
    int shape;      /* a synthetic_shape, or -1 when the shape is not part of the class */
    int shapes;     /* shapes that take part in the classes (1 = none) */
} synthetic_class;

int synthetic_label(int classes, long id);
void synthetic_class_get(int classes, int label, synthetic_class *out);
/* "moving up-left (135 deg), ring"; for logs and the docs. */
void synthetic_class_describe(int classes, int label, char *out, size_t size);
const char *synthetic_shape_name(int shape);

/* Writes one clip of clip[0]*clip[1]*clip[2]*clip[3] floats (D, H, W, C),
 * unnormalized, and returns its label.  Allocates nothing. */
int synthetic_clip_generate(const int clip[4], int classes, uint64_t seed, dataset_split split,
                            long id, float *out);

#endif
