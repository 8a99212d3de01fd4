/* tensor.h: tensors that carry their shape, and the arenas they live in;
 * `real` is float32, or float64 in the replay's twin build (real.h).
 *
 * Activations are channels-last like Keras: (N, D, H, W, C).  Conv kernels are
 * Keras' (kd, kh, kw, Cin, Cout) and Dense kernels (in, out), so a kernel is
 * also a row-major [fan_in x out] matrix that cblas_sgemm takes as is.
 *
 * A tensor does not own its data.  Every buffer the model needs is carved out
 * of an arena sized before training starts, so a step allocates nothing. */
#ifndef NANPROBE_TENSOR_H
#define NANPROBE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "real.h"

#define TENSOR_MAX_RANK 5

typedef struct tensor {
    real *data;
    int rank;
    int shape[TENSOR_MAX_RANK];
    size_t count; /* product of shape[0..rank) */
} tensor;

/* A tensor header for `data` with the given shape (data may be NULL while
 * the arena has not been placed yet). */
tensor tensor_make(real *data, int rank, const int *shape);
size_t tensor_shape_count(int rank, const int *shape);
/* "(8, 16, 112, 112, 3)"; with skip_batch, Keras' "(None, 16, 112, 112, 3)". */
void tensor_format_shape(const tensor *t, int skip_batch, char *out, size_t out_size);

/* A bump allocator over one 64-byte aligned block.  Reserve sizes first
 * (arena_reserve with no block), then arena_place() allocates the block once,
 * and the same sequence of arena_take() calls hands out the pieces. */
typedef struct arena {
    real *base;
    size_t capacity; /* reals */
    size_t used;     /* reals */
} arena;

/* Rounds n up to whole 64-byte lines so every piece starts aligned. */
size_t arena_round(size_t n);
/* Counts n reals during the sizing pass (base == NULL) or hands them out. */
real *arena_take(arena *a, size_t n);
/* Allocates the block for everything counted so far (zero-filled, 64-byte
 * aligned: page-aligned in fact); returns -1 if the allocation fails. */
int arena_place(arena *a);
void arena_free(arena *a);

#endif
