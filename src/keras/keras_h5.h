/* keras_h5.h: the HDF5 primitives Keras' files are made of, on libhdf5,
 * with every read checked: string-list attributes as Keras writes them
 * (numpy bytes, i.e. fixed-length strings, or variable-length ones; split
 * into NAME0, NAME1, ... when too long for one object header), string
 * attributes holding JSON, float datasets of any float width (float16 and
 * float64 are converted; anything else is refused), integer scalars; and
 * the writers export needs.
 *
 * Every failure is one sentence naming the file and the object.  libhdf5's
 * own error printing is switched off (it would print to stderr from library
 * code); the library's state is process-wide, which is libhdf5's design, not
 * ours. */
#ifndef NANPROBE_KERAS_H5_H
#define NANPROBE_KERAS_H5_H

#include <hdf5.h>
#include <stddef.h>

#include "error.h"

#define KERAS_H5_MAX_RANK 8

typedef struct string_array {
    char **items;
    int count;
} string_array;

void string_array_free(string_array *a);

/* Opens path read-only; a file that is not HDF5, or is cut short, gives a
 * clear error (label names the file in messages).  A file with an external
 * or user-defined link, a soft link that does not land on one of its own
 * objects, or more than KERAS_H5_MAX_LINKS links is refused before any
 * read. */
#define KERAS_H5_MAX_LINKS 100000
hid_t keras_h5_open(const char *path, const char *label, error *err);
void keras_h5_close(hid_t file);

/* Whether loc has a link (group or dataset) at the relative path. */
int keras_h5_has(hid_t loc, const char *path);
int keras_h5_has_attribute(hid_t loc, const char *name);

/* A string-list attribute, joined from NAME0, NAME1, ... when NAME itself
 * is absent.  Missing: *out empty and 0 (callers decide); not strings: -1. */
int keras_h5_read_strings(hid_t loc, const char *name, const char *label, const char *where, string_array *out,
                          error *err);
/* A scalar (or one-element) string attribute, malloc'd into *out. */
int keras_h5_read_string(hid_t loc, const char *name, const char *label, char **out, error *err);

typedef struct keras_h5_info {
    int rank;
    int dims[KERAS_H5_MAX_RANK];
    size_t count;
    int is_float, is_integer;
    size_t bytes;   /* element size in the file */
} keras_h5_info;

int keras_h5_dataset_info(hid_t loc, const char *path, const char *label, const char *variable,
                          keras_h5_info *info, error *err);
/* Reads a float dataset of exactly count elements into out as float32.
 * float64 values beyond float32's range are refused (their Inf would be our
 * invention); NaN and Inf pass through (the sentinel reports them).  Sets
 * *converted when the file's type was not float32. */
int keras_h5_read_floats(hid_t loc, const char *path, const char *label, const char *variable, float *out,
                         size_t count, int *converted, error *err);
/* A scalar integer or float dataset as double (iterations, learning rate). */
int keras_h5_read_scalar(hid_t loc, const char *path, const char *label, const char *variable, double *out,
                         error *err);

/* Writers (export).  Groups on the way are created.  keras_h5_create
 * makes a new file and fails when the name exists (the caller unlinks). */
hid_t keras_h5_create(const char *path, error *err);
int keras_h5_write_strings(hid_t loc, const char *name, char *const *items, int count);
int keras_h5_write_string(hid_t loc, const char *name, const char *text);
int keras_h5_write_floats(hid_t loc, const char *path, int rank, const int *dims, const float *data);
int keras_h5_write_scalar(hid_t loc, const char *path, hid_t type, const void *value);
hid_t keras_h5_group(hid_t loc, const char *path);

#endif
