/* finite.h: non-finite tests on the bit pattern of a float.
 *
 * isnan()/isfinite() may be folded to constants when the compiler is told
 * to assume finite math (the fast-math options do).  The exponent field is
 * all ones exactly for Inf and NaN whatever the compiler assumes, so the
 * sentinel and the statistics look at bits instead. */
#ifndef NANPROBE_FINITE_H
#define NANPROBE_FINITE_H

#include <stdint.h>
#include <string.h>

static inline uint32_t float_bits(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

/* 0 for a finite value, otherwise which kind of non-finite value it is. */
enum { FLOAT_FINITE = 0, FLOAT_NAN = 1, FLOAT_POSITIVE_INF = 2, FLOAT_NEGATIVE_INF = 3 };

static inline int float_class(float x)
{
    uint32_t bits = float_bits(x);
    if ((bits & 0x7f800000u) != 0x7f800000u) return FLOAT_FINITE;
    if (bits & 0x007fffffu) return FLOAT_NAN;
    return (bits >> 31) ? FLOAT_NEGATIVE_INF : FLOAT_POSITIVE_INF;
}

static inline int float_is_finite(float x)
{
    return (float_bits(x) & 0x7f800000u) != 0x7f800000u;
}

static inline int float_is_nan(float x)
{
    return (float_bits(x) & 0x7fffffffu) > 0x7f800000u;
}

#endif
