/* npy.h: the NumPy .npy file format, read through a memory map and written
 * whole.
 *
 * Only the format is known here (magic, versions 1.0/2.0/3.0, the header
 * dict, the size of the data); which dtypes and shapes make sense is the
 * caller's business.  Headers (and small arrays such as labels, read once at
 * open) are validated through a memory map; bulk data (clip arrays can be
 * gigabytes, a batch touches a few clips) is read with pread, which turns a
 * file that shrinks under us into an error instead of a SIGBUS.  Data is never
 * byte-swapped: big-endian files and Fortran-ordered arrays are refused when
 * opened. */
#ifndef NANPROBE_NPY_H
#define NANPROBE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define NPY_MAX_RANK 8

typedef struct npy_array {
    char descr[16];   /* as written in the header, e.g. "<f4", "|u1" */
    char kind;        /* 'b' bool, 'i' signed, 'u' unsigned, 'f' float, ... */
    int item_size;    /* bytes per element */
    int rank;
    int64_t shape[NPY_MAX_RANK];
    size_t count;     /* elements: product of shape */
    int version;      /* major format version, 1..3 */
    const unsigned char *data; /* first element, inside the mapping; may be unaligned */
    void *map;        /* the whole file */
    size_t map_size;
    int fd;           /* open for npy_read_data while map is set */
    size_t data_offset; /* of the first element in the file */
    char *path;
} npy_array;

/* Maps `path` and validates the header and the file size against shape x
 * dtype.  `row_noun` names one entry along axis 0 in messages ("clips" gives
 * "header says 10 clips of 602112 bytes ..."); NULL means "rows".  On failure
 * the array is left closed and err starts with the path. */
int npy_open(npy_array *a, const char *path, const char *row_noun, error *err);
void npy_close(npy_array *a);

/* Copies n bytes of the data from byte `offset` (counted from the first
 * element) with pread, not through the mapping: a file truncated while it is
 * in use (overwritten by another program) becomes an error naming it, where
 * touching the mapping past the new end would kill the process with SIGBUS.
 * Safe to call from several threads at once. */
int npy_read_data(const npy_array *a, size_t offset, void *out, size_t n, error *err);

/* Bytes of one entry along axis 0 (the whole array when rank is 0). */
size_t npy_row_bytes(const npy_array *a);

/* A readable name for a descr's element type: "uint8", "float32", "int16",
 * "bool", or the descr itself when it is none of those. */
const char *npy_type_name(const npy_array *a);

/* "(10, 16, 112, 112, 3)"; "(10,)" for one axis, as NumPy prints it. */
void npy_shape_format(int rank, const int64_t *shape, char *out, size_t size);

/* Writes a C-ordered array with the given descr ("<f4", "|u1", "<i8", ...)
 * in format version 1, 2 or 3, header padded so the data is 64-byte aligned
 * as NumPy does.  `data` holds product(shape) elements of the descr's size. */
int npy_write(const char *path, const char *descr, int rank, const int64_t *shape,
              const void *data, int version, error *err);

#endif
