/* test_round_formats.c: TF32, bfloat16 and float16 rounding bit-exact
 * against an independent reference, on every class of float32.
 *
 * The reference rounds by arithmetic in double, not by bits: the quantum
 * of x in a format of p significand bits and smallest normal exponent emin
 * is 2^(max(e, emin) - p + 1), x / quantum is exact in double, rint() (the
 * default rounding mode, ties to even) rounds it, and a result past the
 * format's largest finite value is inf.
 *
 * Inputs: every float32 whose low 16 bits are one of 48 patterns around the
 * rounding points (all 2^16 high halves each, so every exponent, sign and
 * high mantissa, and the ties of all three formats including each float16
 * subnormal's), plus a stride-997 sweep of all 2^32 bit patterns.
 * NANPROBE_FULL=1 (make check-full) runs all 2^32 inputs. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#ifdef __F16C__
#include <immintrin.h>
#endif

#include "round_formats.h"
#include "test_util.h"

typedef struct format_definition {
    round_format format;
    int significand_bits, min_exponent;
    double largest;
} format_definition;

static const format_definition definitions[] = {
    {ROUND_TF32, 11, -126, 0x1.ffcp127},
    {ROUND_BFLOAT16, 8, -126, 0x1.fep127},
    {ROUND_FLOAT16, 11, -14, 65504.0},
};

static double reference_round(const format_definition *f, double x)
{
    if (isnan(x) || isinf(x) || x == 0.0) return x;
    int e;
    frexp(x, &e); /* |x| = m 2^e, 1/2 <= m < 1: leading bit at 2^(e-1) */
    int lead = e - 1 < f->min_exponent ? f->min_exponent : e - 1;
    double quantum = ldexp(1.0, lead - f->significand_bits + 1);
    double r = rint(x / quantum) * quantum;
    if (fabs(r) > f->largest) return copysign(INFINITY, x);
    return r;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

typedef struct tally {
    unsigned long long checked, wrong, nan_checked, f16c_checked, f16c_wrong;
    uint32_t first_wrong;
} tally;

static void check_one(const format_definition *f, uint32_t u, tally *t)
{
    float x = float_of(u), got = float_round_to(f->format, x);
    t->checked++;
#ifdef __F16C__
    if (f->format == ROUND_FLOAT16) { /* NaN included: F16C keeps the payload's top bits, as we do */
        t->f16c_checked++;
        if ((uint16_t)_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT) != float_to_float16(x)) t->f16c_wrong++;
    }
#endif
    if (isnan(x)) {
        t->nan_checked++;
        if (!isnan(got) || signbit(got) != signbit(x)) t->wrong++;
        return;
    }
    float want = (float)reference_round(f, (double)x);
    if (round_formats_bits(got) != round_formats_bits(want)) {
        if (!t->wrong) t->first_wrong = u;
        t->wrong++;
    }
}

static void sweep(const format_definition *f, int exhaustive, tally *t)
{
    memset(t, 0, sizeof *t);
    if (exhaustive) {
        for (uint64_t u = 0; u <= 0xffffffffu; u++) check_one(f, (uint32_t)u, t);
        return;
    }
    uint32_t lows[48];
    int n = 0;
    lows[n++] = 0, lows[n++] = 0xffff;
    for (int b = 1; b < 16; b++) lows[n++] = 1u << b, lows[n++] = (1u << b) - 1, lows[n++] = (1u << b) | 1u;
    lows[n++] = 0x5555;
    for (uint32_t high = 0; high < 0x10000u; high++)
        for (int i = 0; i < n; i++) check_one(f, high << 16 | lows[i], t);
    for (uint64_t u = 0; u <= 0xffffffffu; u += 997) check_one(f, (uint32_t)u, t);
}

/* Hand-picked known answers, one per class, so a reference bug that agreed
 * with an implementation bug would still be caught. */
static void known_answers(void)
{
    CHECK(float_round_tf32(1.0f + 0x1p-11f) == 1.0f, "tf32: a tie below an even bit stays down");
    CHECK(float_round_tf32(1.0f + 0x1p-10f + 0x1p-11f) == 1.0f + 0x1p-9f, "tf32: a tie above an odd bit goes up");
    CHECK(float_round_tf32(1.0f + 0x1p-11f + 0x1p-23f) == 1.0f + 0x1p-10f, "tf32: above half goes up");
    CHECK(isinf(float_round_tf32(FLT_MAX)), "tf32: float32's largest finite rounds up to inf");
    CHECK(float_round_tf32(0x1.ffcp127f) == 0x1.ffcp127f, "tf32: its own largest finite value is kept");
    CHECK(float_round_tf32(0x1p-149f) == 0.0f, "tf32: the smallest float32 subnormal flushes to 0");
    CHECK(float_round_tf32(0x1p-136f) == 0x1p-136f, "tf32: its smallest subnormal 2^-136 is kept");
    CHECK(float_round_bfloat16(1.0f + 0x1p-8f) == 1.0f, "bfloat16: a tie rounds to even");
    CHECK(float_round_bfloat16(3.140625f) == 3.140625f && float_round_bfloat16(3.14159265f) == 3.140625f,
          "bfloat16: pi is 3.140625");
    CHECK(bfloat16_to_float(float_to_bfloat16(-2.0f)) == -2.0f, "bfloat16: bits round trip");
    CHECK(float_round_float16(65504.0f) == 65504.0f, "float16: 65504 is finite");
    CHECK(float_round_float16(65519.99f) == 65504.0f, "float16: just below the tie stays finite");
    CHECK(isinf(float_round_float16(65520.0f)) && float_round_float16(-65520.0f) < 0, "float16: 65520 is inf");
    CHECK(float_round_float16(0x1p-24f) == 0x1p-24f, "float16: 2^-24 is its smallest subnormal");
    CHECK(float_round_float16(0x1p-25f) == 0.0f, "float16: 2^-25 ties to even zero");
    CHECK(float_round_float16(0x1.8p-25f) == 0x1p-24f, "float16: 1.5*2^-25 rounds up to 2^-24");
    CHECK(float_round_float16(3 * 0x1p-25f) == 2 * 0x1p-24f, "float16: 3*2^-25 ties to even 2*2^-24");
    CHECK(float_to_float16(0x1p-14f) == 0x0400, "float16: 2^-14 is the smallest normal (0x0400)");
    CHECK(float_to_float16(0x1.ffcp-15f) == 0x0400, "float16: the largest subnormal rounds up into the normals");
    CHECK(signbit(float_round_float16(-1e-10f)) && float_round_float16(-1e-10f) == 0.0f, "float16: -0 keeps its sign");
    CHECK(isnan(float_round_float16(float_of(0x7f800001u))), "float16: a NaN with a low payload stays NaN");
    CHECK(isnan(float_round_tf32(float_of(0xff800001u))) && signbit(float_round_tf32(float_of(0xff800001u))),
          "tf32: -NaN with a low payload stays -NaN");
    CHECK(isinf(float_round_bfloat16(-INFINITY)) && float_round_bfloat16(-INFINITY) < 0, "bfloat16: -inf stays");
    float x[4] = {1e5f, 1e-9f, 1e-6f, 1.0f}, y[4];
    round_array(ROUND_FLOAT16, x, y, 4);
    round_damage damage;
    round_array_damage(ROUND_FLOAT16, x, 4, &damage);
    CHECK(isinf(y[0]) && y[1] == 0.0f && y[3] == 1.0f, "round_array rounds every element");
    CHECK(damage.overflowed == 1 && damage.flushed == 1 && damage.subnormal == 1,
          "damage: 1e5 overflows, 1e-9 flushes, 1e-6 is subnormal (got %zu %zu %zu)", damage.overflowed,
          damage.flushed, damage.subnormal);
}

int main(void)
{
    known_answers();
    int exhaustive = test_full();
    for (size_t i = 0; i < sizeof definitions / sizeof *definitions; i++) {
        const format_definition *f = &definitions[i];
        tally t;
        sweep(f, exhaustive, &t);
        CHECK(t.wrong == 0, "%s: %llu of %llu inputs differ from the reference, first 0x%08x",
              round_format_name(f->format), t.wrong, t.checked, t.first_wrong);
        CHECK(t.nan_checked > 1000, "%s: NaNs were among the inputs (%llu)", round_format_name(f->format),
              t.nan_checked);
        printf("%s: %llu inputs%s, %llu NaN, bit-exact\n", round_format_name(f->format), t.checked,
               exhaustive ? " (all 2^32)" : "", t.nan_checked);
#ifdef __F16C__
        if (f->format == ROUND_FLOAT16) {
            CHECK(t.f16c_wrong == 0, "float16: %llu of %llu inputs differ from F16C's vcvtps2ph", t.f16c_wrong,
                  t.f16c_checked);
            printf("float16: F16C vcvtps2ph agrees on %llu inputs\n", t.f16c_checked);
        }
#endif
    }
    return test_finish();
}
