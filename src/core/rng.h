/* rng.h: the seeded, deterministic random number generator.
 *
 * xoshiro256** (Blackman & Vigna), seeded through splitmix64.  The state is
 * four words, so a checkpoint stores it exactly and a resumed run draws the
 * same numbers.  Independent streams (initializers, shuffling, synthetic
 * clips) come from rng_seed(seed, stream). */
#ifndef NANPROBE_RNG_H
#define NANPROBE_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t state[4];
} rng;

enum {
    RNG_STREAM_INIT = 1,
    RNG_STREAM_SHUFFLE = 2,
    RNG_STREAM_DATA = 3,
};

void rng_seed(rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(rng *r);
/* Uniform integer in [0, n), without modulo bias. */
uint64_t rng_below(rng *r, uint64_t n);
/* Standard normal (Box-Muller on two uniforms; one value per call so the
 * stream does not depend on call parity). */
double rng_normal(rng *r);
/* Normal(0, sigma) redrawn until it lies inside (-2 sigma, 2 sigma), the
 * truncation TensorFlow's truncated_normal uses. */
double rng_truncated_normal(rng *r, double sigma);

#endif
