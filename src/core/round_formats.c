/* round_formats.c: whole arrays rounded to TF32, bfloat16 or float16 (see round_formats.h). */
#include "round_formats.h"

#include "finite.h"

static const char *const round_format_names[] = {"float32", "tf32", "bfloat16", "float16"};
_Static_assert(sizeof round_format_names / sizeof *round_format_names == ROUND_FORMAT_COUNT, "one name per format");

const char *round_format_name(round_format format)
{
    return (unsigned)format < ROUND_FORMAT_COUNT ? round_format_names[format] : "?";
}

void round_array(round_format format, const float *x, float *dst, size_t n)
{
    switch (format) {
    case ROUND_TF32:
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) dst[i] = float_round_tf32(x[i]);
        return;
    case ROUND_BFLOAT16:
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) dst[i] = float_round_bfloat16(x[i]);
        return;
    case ROUND_FLOAT16:
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) dst[i] = float_round_float16(x[i]);
        return;
    default:
        if (dst != x) memcpy(dst, x, n * sizeof *dst);
        return;
    }
}

void round_array_damage(round_format format, const float *x, size_t n, round_damage *damage)
{
    size_t overflowed = 0, flushed = 0, subnormal = 0;
    const uint32_t min_normal = format == ROUND_FLOAT16 ? 0x38800000u : 0x00800000u;
    #pragma omp parallel for schedule(static) reduction(+ : overflowed, flushed, subnormal)
    for (size_t i = 0; i < n; i++) {
        uint32_t before = float_bits(x[i]) & 0x7fffffffu;
        if (before == 0 || before >= 0x7f800000u) continue;
        float rounded = float_round_to(format, x[i]);
        uint32_t after = float_bits(rounded) & 0x7fffffffu;
        overflowed += after == 0x7f800000u;
        flushed += after == 0;
        subnormal += after != 0 && after < min_normal;
    }
    damage->overflowed = overflowed;
    damage->flushed = flushed;
    damage->subnormal = subnormal;
}
