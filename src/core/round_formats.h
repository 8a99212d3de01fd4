/* round_formats.h: float32 rounded to the GPU's narrower formats, bit-exact.
 *
 *   TF32      1+8+10 bits: float32's range, 10 mantissa bits (what Ampere
 *             tensor cores multiply when TensorFlow enables TF32);
 *   bfloat16  1+8+7 bits: float32's range, 7 mantissa bits;
 *   float16   1+5+10 bits: largest finite 65504, smallest normal 2^-14,
 *             subnormals down to 2^-24.
 *
 * Every rounding is round-to-nearest, ties-to-even, on the float32 bits:
 * adding 0x0fff (or 0x7fff) plus the lowest kept bit carries exactly when
 * the dropped bits are above half, or at half with an odd kept bit, and a
 * carry out of the mantissa moves into the exponent, which is what rounding
 * a binade's largest value up to the next power of two needs (and the
 * largest finite values round up to inf).  NaN stays NaN of the same sign
 * (made quiet, so truncating the payload cannot turn it into inf); inf stays
 * inf.  tests/test_round_formats.c checks them against an independent
 * reference (scaling and rint in double) on every class of float32, and the
 * float16 one against the CPU's F16C instruction where it exists.
 *
 * The *_round_* functions return the rounded value as a float32, which
 * holds every value of the three formats exactly: the engine stores a
 * "float16 tensor" as float32 values that are all float16 values. */
#ifndef NANPROBE_ROUND_FORMATS_H
#define NANPROBE_ROUND_FORMATS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FLOAT16_MAX 65504.0f
#define FLOAT16_MIN_NORMAL 0x1p-14f
#define FLOAT16_MIN_SUBNORMAL 0x1p-24f

static inline uint32_t round_formats_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float round_formats_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Round to nearest even, keeping the top 32 - dropped bits of a non-NaN. */
static inline uint32_t round_formats_drop(uint32_t u, int dropped)
{
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u | 0x00400000u) & ~((1u << dropped) - 1);
    u += ((1u << (dropped - 1)) - 1) + ((u >> dropped) & 1u);
    return u & ~((1u << dropped) - 1);
}

static inline float float_round_tf32(float x)
{
    return round_formats_float(round_formats_drop(round_formats_bits(x), 13));
}

static inline uint16_t float_to_bfloat16(float x)
{
    return (uint16_t)(round_formats_drop(round_formats_bits(x), 16) >> 16);
}

static inline float bfloat16_to_float(uint16_t h)
{
    return round_formats_float((uint32_t)h << 16);
}

static inline float float_round_bfloat16(float x)
{
    return round_formats_float(round_formats_drop(round_formats_bits(x), 16));
}

/* float16 subnormals (and the zeros below them): the 24-bit significand
 * shifted right to units of 2^-24, rounded to nearest even by hand. */
static inline uint16_t round_formats_half_subnormal(uint32_t sign, uint32_t a)
{
    int shift = 126 - (int)(a >> 23); /* >= 14 below 2^-14 */
    if (shift > 24) return (uint16_t)sign;
    uint32_t mantissa = (a & 0x007fffffu) | 0x00800000u;
    uint32_t kept = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (kept & 1u))) kept++;
    return (uint16_t)(sign | kept);
}

static inline uint16_t float_to_float16(float x)
{
    uint32_t u = round_formats_bits(x), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x03ffu));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* 65520 and up: the tie above 65504 is even at 2^16 */
    if (a < 0x38800000u) return round_formats_half_subnormal(sign, a);
    a += 0x0fffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | ((a - (112u << 23)) >> 13));
}

static inline float float16_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x03ffu;
    if (exponent == 0) {
        float magnitude = (float)mantissa * FLOAT16_MIN_SUBNORMAL;
        return round_formats_float(round_formats_bits(magnitude) | sign);
    }
    if (exponent == 31) return round_formats_float(sign | 0x7f800000u | (mantissa << 13));
    return round_formats_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

static inline float float_round_float16(float x)
{
    return float16_to_float(float_to_float16(x));
}

/* The formats an engine array can be rounded to in place. */
typedef enum round_format { ROUND_NONE, ROUND_TF32, ROUND_BFLOAT16, ROUND_FLOAT16, ROUND_FORMAT_COUNT } round_format;

static inline float float_round_to(round_format format, float x)
{
    switch (format) {
    case ROUND_TF32: return float_round_tf32(x);
    case ROUND_BFLOAT16: return float_round_bfloat16(x);
    case ROUND_FLOAT16: return float_round_float16(x);
    default: return x;
    }
}

/* dst[i] = x[i] rounded to the format (dst may be x), over the OpenMP threads. */
void round_array(round_format format, const float *x, float *dst, size_t n);
/* Counts of what rounding x to the format does: values that overflow to
 * inf, nonzero values that flush to zero, and values left subnormal. */
typedef struct round_damage {
    size_t overflowed, flushed, subnormal;
} round_damage;
void round_array_damage(round_format format, const float *x, size_t n, round_damage *damage);

const char *round_format_name(round_format format);

#endif
