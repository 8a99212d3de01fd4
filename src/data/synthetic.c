/* synthetic.c: the "moving shapes" clips (see synthetic.h for the design). */
#include "synthetic.h"

#include <math.h>
#include <stdio.h>

#include "rng.h"

static const double synthetic_pi = 3.14159265358979323846;

/* splitmix64's finalizer: turns structured inputs (seed, split, id) into
 * well-spread keys, and drives the per-pixel noise cheaply. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int effective_classes(int classes)
{
    return classes <= 1 ? 2 : classes;
}

int synthetic_label(int classes, long id)
{
    return (int)(id % effective_classes(classes));
}

void synthetic_class_get(int classes, int label, synthetic_class *out)
{
    int k = effective_classes(classes);
    int shapes = (k + SYNTHETIC_DIRECTIONS_PER_SHAPE - 1) / SYNTHETIC_DIRECTIONS_PER_SHAPE;
    if (shapes > SYNTHETIC_SHAPES) shapes = SYNTHETIC_SHAPES;
    int directions = (k + shapes - 1) / shapes;
    out->directions = directions;
    out->shapes = shapes;
    out->direction = label % directions;
    out->shape = shapes > 1 ? label / directions : -1;
}

const char *synthetic_shape_name(int shape)
{
    static const char *names[SYNTHETIC_SHAPES] = {"disc", "ring", "cross", "square"};
    return shape >= 0 && shape < SYNTHETIC_SHAPES ? names[shape] : "any shape";
}

void synthetic_class_describe(int classes, int label, char *out, size_t size)
{
    static const char *compass[8] = {"right", "up-right", "up", "up-left",
                                     "left", "down-left", "down", "down-right"};
    synthetic_class c;
    synthetic_class_get(classes, label, &c);
    double degrees = 360.0 * c.direction / c.directions;
    int eighths = 8 * c.direction;
    if (eighths % c.directions == 0)
        snprintf(out, size, "moving %s (%g deg), %s", compass[eighths / c.directions], degrees,
                 synthetic_shape_name(c.shape));
    else
        snprintf(out, size, "moving at %.4g deg, %s", degrees, synthetic_shape_name(c.shape));
}

static inline float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* How much of the pixel whose centre is (dx, dy) from the shape's centre the
 * shape covers: a one-pixel linear ramp at the edge, so sub-pixel motion
 * still changes the picture. */
static inline float shape_coverage(int shape, float dx, float dy, float radius)
{
    float ax = fabsf(dx), ay = fabsf(dy);
    switch (shape) {
    case SYNTHETIC_DISC:
        return clamp01(radius + 0.5f - sqrtf(dx * dx + dy * dy));
    case SYNTHETIC_RING: {
        float mid = 0.7f * radius, half = fmaxf(0.3f * radius, 0.5f);
        return clamp01(half + 0.5f - fabsf(sqrtf(dx * dx + dy * dy) - mid));
    }
    case SYNTHETIC_CROSS: {
        float arm = fmaxf(radius / 3.0f, 0.5f);
        return clamp01(radius + 0.5f - fmaxf(ax, ay)) * clamp01(arm + 0.5f - fminf(ax, ay));
    }
    default: /* square, same area as the disc */
        return clamp01(0.886f * radius + 0.5f - ax) * clamp01(0.886f * radius + 0.5f - ay);
    }
}

static inline int wrap_index(int i, int n)
{
    i %= n;
    return i < 0 ? i + n : i;
}

int synthetic_clip_generate(const int clip[4], int classes, uint64_t seed, dataset_split split,
                            long id, float *out)
{
    const int depth = clip[0], height = clip[1], width = clip[2], channels = clip[3];
    const int label = synthetic_label(classes, id);
    synthetic_class cls;
    synthetic_class_get(classes, label, &cls);

    rng r;
    uint64_t key = mix64(mix64(seed ^ 0x5bd1e9955bd1e995ull) ^ ((uint64_t)split << 62) ^ (uint64_t)id);
    rng_seed(&r, key, RNG_STREAM_DATA);

    /* The draws happen in a fixed order whatever the clip shape, so changing
     * only the channel count keeps the motion of every clip. */
    int shape = cls.shape >= 0 ? cls.shape : (int)rng_below(&r, SYNTHETIC_SHAPES);
    int side = height < width ? height : width;
    double radius = fmax(side * (0.08 + 0.08 * rng_uniform(&r)), 1.0);
    double speed = fmax(radius * (0.3 + 0.4 * rng_uniform(&r)), 0.5);
    double sector = 2.0 * synthetic_pi / cls.directions;
    double angle = sector * (cls.direction + 0.5 * (rng_uniform(&r) - 0.5));
    double vx = speed * cos(angle), vy = -speed * sin(angle); /* rows grow downwards */
    double x0 = width * rng_uniform(&r), y0 = height * rng_uniform(&r);
    double background = 10.0 + 64.0 * rng_uniform(&r);
    double foreground = 180.0 + 75.0 * rng_uniform(&r);
    /* Triangular noise (sum of two uniforms): std = amplitude / sqrt(6). */
    float amplitude = (float)((2.0 + 10.0 * rng_uniform(&r)) * sqrt(6.0));
    float back[channels], delta[channels];
    for (int c = 0; c < channels; c++) {
        double b = background + 16.0 * rng_uniform(&r);
        double f = foreground - 20.0 * rng_uniform(&r);
        back[c] = (float)b;
        delta[c] = (float)(f - b);
    }
    uint64_t noise = rng_next(&r);

    const size_t pixels = (size_t)height * width, values = pixels * channels;
    const float to_unit = 1.0f / 65535.0f;
    int reach = (int)ceil(radius) + 1;
    int box_w = 2 * reach + 1 < width ? 2 * reach + 1 : width;
    int box_h = 2 * reach + 1 < height ? 2 * reach + 1 : height;

    for (int t = 0; t < depth; t++) {
        float *frame = out + (size_t)t * values;
        /* Background, then noise and rounding to whole levels, two values
         * per 64 random bits. */
        for (size_t p = 0; p < pixels; p++) {
            float *px = frame + p * channels;
            for (int c = 0; c < channels; c++) px[c] = back[c];
        }
        size_t i = 0;
        for (; i + 2 <= values; i += 2) {
            uint64_t z = mix64(noise += 0x9e3779b97f4a7c15ull);
            float n0 = (float)((uint32_t)(z & 0xffff) + (uint32_t)((z >> 16) & 0xffff)) * to_unit - 1.0f;
            float n1 = (float)((uint32_t)((z >> 32) & 0xffff) + (uint32_t)(z >> 48)) * to_unit - 1.0f;
            float v0 = frame[i] + amplitude * n0, v1 = frame[i + 1] + amplitude * n1;
            v0 = v0 < 0.0f ? 0.0f : v0 > 255.0f ? 255.0f : v0;
            v1 = v1 < 0.0f ? 0.0f : v1 > 255.0f ? 255.0f : v1;
            frame[i] = (float)(int)(v0 + 0.5f);
            frame[i + 1] = (float)(int)(v1 + 0.5f);
        }
        if (i < values) {
            uint64_t z = mix64(noise += 0x9e3779b97f4a7c15ull);
            float n0 = (float)((uint32_t)(z & 0xffff) + (uint32_t)((z >> 16) & 0xffff)) * to_unit - 1.0f;
            float v0 = frame[i] + amplitude * n0;
            v0 = v0 < 0.0f ? 0.0f : v0 > 255.0f ? 255.0f : v0;
            frame[i] = (float)(int)(v0 + 0.5f);
        }

        /* The shape, blended over the noisy background inside its box; the
         * box is at most one frame wide, so no pixel is visited twice. */
        double cx = x0 + vx * t, cy = y0 + vy * t;
        cx -= width * floor(cx / width);
        cy -= height * floor(cy / height);
        int left = (int)floor(cx) - reach, top = (int)floor(cy) - reach;
        for (int iy = top; iy < top + box_h; iy++) {
            float dy = (float)(iy + 0.5 - cy);
            float *row = frame + (size_t)wrap_index(iy, height) * width * channels;
            for (int ix = left; ix < left + box_w; ix++) {
                float alpha = shape_coverage(shape, (float)(ix + 0.5 - cx), dy, (float)radius);
                if (alpha <= 0.0f) continue;
                float *px = row + (size_t)wrap_index(ix, width) * channels;
                for (int c = 0; c < channels; c++) {
                    float v = px[c] + alpha * delta[c];
                    v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
                    px[c] = (float)(int)(v + 0.5f);
                }
            }
        }
    }
    return label;
}
