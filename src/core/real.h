/* real.h: the engine's scalar type.
 *
 * The engine (tensors and arenas, GEMM, every layer, the model, Adam) is
 * written once in terms of `real` and compiled twice: as float, the engine
 * that trains, and with -DNANPROBE_REAL_DOUBLE as double, the float64
 * reference the replay runs a step on (src/replay).  In the double build
 * every external name of those files gets an _f64 suffix (real_names.h,
 * the way zlib's Z_PREFIX renames its symbols), so both engines link into
 * one program; `make layers` checks that no unsuffixed symbol escapes.
 *
 * Types keep their names in both builds (a C type is per translation
 * unit), so a translation unit sees one engine only: the float code talks
 * to the double one through src/replay/shadow.h, whose interface has no
 * `real` in it.
 *
 * Model constants written as float literals (BatchNorm's epsilon 1e-3f,
 * Adam's 1e-7f) stay float32 values in the double build: the reference
 * computes the same model, only with more precision. */
#ifndef NANPROBE_REAL_H
#define NANPROBE_REAL_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef NANPROBE_REAL_DOUBLE
typedef double real;
#define real_sqrt sqrt
/* On bits, like finite.h, so no compiler assumption folds it away. */
static inline int real_is_nan(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (bits & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}
#include "real_names.h"
#else
#include "finite.h"
typedef float real;
#define real_sqrt sqrtf
#define real_is_nan float_is_nan
#endif

#endif
