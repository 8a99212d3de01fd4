/* keras_h5.c: checked HDF5 reads and the writes of export (see keras_h5.h). */
#include "keras_h5.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what an untrusted file may ask us to allocate for names. */
#define MAX_STRINGS 1000000
#define MAX_STRING_BYTES (1u << 20)

void string_array_free(string_array *a)
{
    for (int i = 0; i < a->count; i++) free(a->items[i]);
    free(a->items);
    a->items = NULL;
    a->count = 0;
}

static void quiet_hdf5(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* What the walk over every link of a file found wrong (first finding). */
typedef struct link_walk {
    hid_t file;
    int pass;      /* 0: external and user-defined links; 1: soft links */
    long links;
    char bad[512]; /* "NAME (why)" */
} link_walk;

static herr_t check_link(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    link_walk *w = data;
    if (++w->links > KERAS_H5_MAX_LINKS) {
        snprintf(w->bad, sizeof w->bad, "more than %d objects, far beyond any ResNet3D checkpoint",
                 KERAS_H5_MAX_LINKS);
        return 1;
    }
    if (w->pass == 0 && info->type != H5L_TYPE_HARD && info->type != H5L_TYPE_SOFT) {
        snprintf(w->bad, sizeof w->bad, "'%.300s' is an %s link (to another file)", name,
                 info->type == H5L_TYPE_EXTERNAL ? "external" : "user-defined");
        return 1;
    }
    if (w->pass == 1 && info->type == H5L_TYPE_SOFT) {
        /* Resolved from the root, a soft link must land on an object of this
         * file: dangling, looping or reaching out is refused. */
        char target[1024] = "", resolved[2048];
        if (info->u.val_size >= sizeof target || H5Lget_val(group, name, target, sizeof target, H5P_DEFAULT) < 0)
            target[0] = '\0';
        const char *slash = strrchr(name, '/');
        if (target[0] == '/' || !slash) snprintf(resolved, sizeof resolved, "%s", target);
        else snprintf(resolved, sizeof resolved, "%.*s/%s", (int)(slash - name), name, target);
        if (!target[0] || H5Oexists_by_name(w->file, resolved, H5P_DEFAULT) <= 0) {
            snprintf(w->bad, sizeof w->bad, "'%.300s' is a soft link to '%.150s', which is not an object of the file",
                     name, target);
            return 1;
        }
    }
    return 0;
}

/* Every link of the file, before anything is read through them: HDF5
 * follows an external link to any file on the machine. */
static int links_checked(hid_t file, const char *label, error *err)
{
    link_walk w = {.file = file};
    for (w.pass = 0; w.pass < 2; w.pass++) {
        w.links = 0;
        herr_t rc = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, check_link, &w);
        if (w.bad[0])
            return error_set(err, "%s: the HDF5 file is refused: %s; a Keras checkpoint holds only its own "
                                  "groups and datasets", label, w.bad);
        if (rc < 0) return error_set(err, "%s: the HDF5 file cannot be read (truncated or damaged)", label);
    }
    return 0;
}

hid_t keras_h5_open(const char *path, const char *label, error *err)
{
    quiet_hdf5();
    FILE *probe = fopen(path, "rb");
    if (!probe) return error_set(err, "%s: cannot open the file: %s", label, strerror(errno));
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) return error_set(err, "%s: not an HDF5 file (expected a Keras .h5 or .weights.h5)", label);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) return error_set(err, "%s: the HDF5 file cannot be read (truncated or damaged)", label);
    if (links_checked(file, label, err)) {
        H5Fclose(file);
        return -1;
    }
    return file;
}

void keras_h5_close(hid_t file)
{
    if (file >= 0) H5Fclose(file);
}

/* Each component in turn: H5Lexists on "a/b" fails when "a" is missing. */
int keras_h5_has(hid_t loc, const char *path)
{
    char partial[1024];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof partial) return 0;
    for (size_t i = 0; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        if (i == 0) return 0;
        memcpy(partial, path, i);
        partial[i] = '\0';
        if (H5Lexists(loc, partial, H5P_DEFAULT) <= 0) return 0;
        if (path[i] && H5Oexists_by_name(loc, partial, H5P_DEFAULT) <= 0) return 0;
    }
    return H5Oexists_by_name(loc, path, H5P_DEFAULT) > 0;
}

int keras_h5_has_attribute(hid_t loc, const char *name)
{
    return H5Aexists(loc, name) > 0;
}

/* Variable-length strings (h5py's str): HDF5 allocates them, we copy. */
static int read_variable(hid_t attr, hid_t type, hid_t space, hssize_t n, string_array *out)
{
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    char **variable = calloc((size_t)n + 1, sizeof(char *));
    int read = variable && H5Aread(attr, mem, variable) >= 0, rc = read ? 0 : -1;
    for (hssize_t i = 0; rc == 0 && i < n; i++) {
        const char *s = variable[i] ? variable[i] : "";
        if (strlen(s) > MAX_STRING_BYTES || !(out->items[out->count] = strdup(s))) rc = -1;
        else out->count++;
    }
    if (read) H5Dvlen_reclaim(mem, space, H5P_DEFAULT, variable);
    free(variable);
    H5Tclose(mem);
    return rc;
}

/* Fixed-length strings (numpy bytes, what Keras writes). */
static int read_fixed(hid_t attr, hid_t type, hssize_t n, string_array *out)
{
    size_t size = H5Tget_size(type);
    if (size == 0 || size > MAX_STRING_BYTES) return -1;
    /* NUL-padded in memory: a NUL-terminated type would give the
     * terminator the last byte and cut a full-length name short. */
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, size);
    H5Tset_strpad(mem, H5T_STR_NULLPAD);
    char *fixed = malloc(size * (size_t)n + 1);
    int rc = fixed && H5Aread(attr, mem, fixed) >= 0 ? 0 : -1;
    for (hssize_t i = 0; rc == 0 && i < n; i++) {
        const char *s = fixed + (size_t)i * size;
        size_t length = strnlen(s, size);
        char *copy = malloc(length + 1);
        if (!copy) {
            rc = -1;
            break;
        }
        memcpy(copy, s, length);
        copy[length] = '\0';
        out->items[out->count++] = copy;
    }
    free(fixed);
    H5Tclose(mem);
    return rc;
}

/* Appends the strings of one attribute to out. */
static int read_string_attribute(hid_t loc, const char *name, const char *label, const char *where,
                                 string_array *out, error *err)
{
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    if (attr < 0) return error_set(err, "%s: attribute '%s' of %s cannot be read", label, name, where);
    hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    int rc = -1;
    char **grown;
    if (type >= 0 && n == 0) {
        /* Keras writes an empty list (a layer without weights) as an empty
         * float64 array: no names, whatever its type. */
        rc = 0;
    } else if (type < 0 || H5Tget_class(type) != H5T_STRING) {
        error_set(err, "%s: attribute '%s' of %s is not a string list (expected layer or weight names)", label,
                  name, where);
    } else if (n < 0 || n > MAX_STRINGS || out->count + n > MAX_STRINGS) {
        error_set(err, "%s: attribute '%s' of %s has an unreadable size", label, name, where);
    } else if (!(grown = realloc(out->items, sizeof(char *) * (size_t)(out->count + n + 1)))) {
        error_set(err, "%s: out of memory reading attribute '%s'", label, name);
    } else {
        out->items = grown;
        rc = H5Tis_variable_str(type) > 0 ? read_variable(attr, type, space, n, out) : read_fixed(attr, type, n, out);
        if (rc) error_set(err, "%s: attribute '%s' of %s cannot be read", label, name, where);
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Aclose(attr);
    return rc;
}

int keras_h5_read_strings(hid_t loc, const char *name, const char *label, const char *where, string_array *out,
                          error *err)
{
    memset(out, 0, sizeof *out);
    if (keras_h5_has_attribute(loc, name)) {
        if (read_string_attribute(loc, name, label, where, out, err) == 0) return 0;
        string_array_free(out);
        return -1;
    }
    /* Keras splits an attribute over the 64 KiB header limit into NAME0.. */
    for (int chunk = 0;; chunk++) {
        char part[256];
        snprintf(part, sizeof part, "%s%d", name, chunk);
        if (!keras_h5_has_attribute(loc, part)) return 0;
        if (read_string_attribute(loc, part, label, where, out, err)) {
            string_array_free(out);
            return -1;
        }
    }
}

int keras_h5_read_string(hid_t loc, const char *name, const char *label, char **out, error *err)
{
    string_array a;
    *out = NULL;
    if (!keras_h5_has_attribute(loc, name)) return error_set(err, "%s: attribute '%s' is missing", label, name);
    memset(&a, 0, sizeof a);
    if (read_string_attribute(loc, name, label, "the file", &a, err)) {
        string_array_free(&a);
        return -1;
    }
    if (a.count != 1) {
        string_array_free(&a);
        return error_set(err, "%s: attribute '%s' should hold one string", label, name);
    }
    *out = a.items[0];
    free(a.items);
    return 0;
}

int keras_h5_dataset_info(hid_t loc, const char *path, const char *label, const char *variable,
                          keras_h5_info *info, error *err)
{
    memset(info, 0, sizeof *info);
    if (!keras_h5_has(loc, path)) return error_set(err, "%s: %s is missing (no dataset '%s')", label, variable, path);
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return error_set(err, "%s: %s cannot be read (no dataset '%s')", label, variable, path);
    hid_t type = H5Dget_type(d), space = H5Dget_space(d);
    int rc = 0;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hsize_t dims[KERAS_H5_MAX_RANK];
    if (type < 0 || rank < 0 || rank > KERAS_H5_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        rc = error_set(err, "%s: %s has an unreadable shape", label, variable);
    } else {
        info->rank = rank;
        info->count = 1;
        for (int a = 0; a < rank; a++) {
            if (dims[a] > INT32_MAX) {
                rc = error_set(err, "%s: %s has an impossible shape", label, variable);
                break;
            }
            info->dims[a] = (int)dims[a];
            info->count *= (size_t)dims[a];
        }
        H5T_class_t c = H5Tget_class(type);
        info->is_float = c == H5T_FLOAT;
        info->is_integer = c == H5T_INTEGER;
        info->bytes = H5Tget_size(type);
    }
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return rc;
}

int keras_h5_read_floats(hid_t loc, const char *path, const char *label, const char *variable, float *out,
                         size_t count, int *converted, error *err)
{
    keras_h5_info info;
    if (keras_h5_dataset_info(loc, path, label, variable, &info, err)) return -1;
    if (!info.is_float)
        return error_set(err, "%s: %s is not stored as floating point (expected float32; float16 and float64 "
                              "are converted)", label, variable);
    if (info.bytes != 2 && info.bytes != 4 && info.bytes != 8)
        return error_set(err, "%s: %s is stored as a %zu-byte float (bfloat16 or an unusual type); save it as "
                              "float32", label, variable, info.bytes);
    if (info.count != count) return error_set(err, "%s: %s holds %zu values, expected %zu", label, variable,
                                              info.count, count);
    *converted = info.bytes != 4;
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return error_set(err, "%s: %s cannot be read", label, variable);
    int rc = 0;
    if (info.bytes == 8) {
        /* Read as double ourselves: HDF5 would clamp or overflow silently. */
        double *wide = malloc(sizeof(double) * (count ? count : 1));
        if (!wide) rc = error_set(err, "%s: out of memory reading %s", label, variable);
        else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, wide) < 0)
            rc = error_set(err, "%s: %s cannot be read (truncated or damaged file)", label, variable);
        for (size_t i = 0; rc == 0 && i < count; i++) {
            if (isfinite(wide[i]) && fabs(wide[i]) > FLT_MAX)
                rc = error_set(err, "%s: %s is float64 and element %zu (%g) is beyond float32's range", label,
                               variable, i, wide[i]);
            out[i] = (float)wide[i];
        }
        free(wide);
    } else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        rc = error_set(err, "%s: %s cannot be read (truncated or damaged file)", label, variable);
    }
    H5Dclose(d);
    return rc;
}

int keras_h5_read_scalar(hid_t loc, const char *path, const char *label, const char *variable, double *out,
                         error *err)
{
    keras_h5_info info;
    if (keras_h5_dataset_info(loc, path, label, variable, &info, err)) return -1;
    if (info.count != 1 || (!info.is_float && !info.is_integer))
        return error_set(err, "%s: %s should be a single number", label, variable);
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return error_set(err, "%s: %s cannot be read", label, variable);
    int rc = 0;
    if (info.is_integer) {
        long long v = 0;
        if (H5Dread(d, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
            rc = error_set(err, "%s: %s cannot be read", label, variable);
        *out = (double)v;
    } else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        rc = error_set(err, "%s: %s cannot be read", label, variable);
    }
    H5Dclose(d);
    return rc;
}

/* ---------------------------------------------------------------- writers */

hid_t keras_h5_create(const char *path, error *err)
{
    quiet_hdf5();
    /* The 1.8 format stores an attribute over 64 KiB densely; the original
     * one cannot hold it at all (a ResNet3D-152's model_config is ~250 KB). */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
    /* EXCL is O_CREAT | O_EXCL: a name planted in between (a symlink to a
     * file of the user's) makes the create fail, never followed. */
    hid_t f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) return error_set(err, "%s: cannot create the file", path);
    return f;
}

/* One attribute of numpy bytes: a fixed-length, NUL-padded string type as
 * long as the longest name. */
static int write_string_chunk(hid_t loc, const char *name, char *const *items, int count)
{
    if (count < 0) return -1;
    size_t longest = 1;
    for (int i = 0; i < count; i++)
        if (strlen(items[i]) > longest) longest = strlen(items[i]);
    char *buffer = calloc(count > 0 ? (size_t)count : 1u, longest);
    if (!buffer) return -1;
    for (int i = 0; i < count; i++) memcpy(buffer + (size_t)i * longest, items[i], strlen(items[i]));
    hsize_t n = (hsize_t)count;
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, longest);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = attr >= 0 && H5Awrite(attr, type, buffer) >= 0 ? 0 : -1;
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    free(buffer);
    return rc;
}

/* As Keras' save_attributes_to_hdf5_group: split into NAME0, NAME1, ...
 * (numpy's array_split: the first count % chunks chunks one longer) until
 * every chunk fits the 64512-byte object-header limit Keras assumes. */
#define KERAS_HEADER_LIMIT 64512
int keras_h5_write_strings(hid_t loc, const char *name, char *const *items, int count)
{
    size_t longest = 1;
    for (int i = 0; i < count; i++)
        if (strlen(items[i]) > longest) longest = strlen(items[i]);
    int chunks = 1;
    while ((size_t)((count + chunks - 1) / chunks) * longest > KERAS_HEADER_LIMIT && chunks < count) chunks++;
    if (chunks == 1) return write_string_chunk(loc, name, items, count);
    int at = 0, rc = 0;
    for (int k = 0; k < chunks && rc == 0; k++) {
        int n = count / chunks + (k < count % chunks);
        char part[256];
        snprintf(part, sizeof part, "%s%d", name, k);
        rc = write_string_chunk(loc, part, items + at, n);
        at += n;
    }
    return rc;
}

int keras_h5_write_string(hid_t loc, const char *name, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(text) ? strlen(text) : 1);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    int rc = attr >= 0 && H5Awrite(attr, type, strlen(text) ? text : "") >= 0 ? 0 : -1;
    if (attr >= 0) H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    return rc;
}

static hid_t intermediate_groups(void)
{
    hid_t plist = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(plist, 1);
    return plist;
}

hid_t keras_h5_group(hid_t loc, const char *path)
{
    if (keras_h5_has(loc, path)) return H5Gopen2(loc, path, H5P_DEFAULT);
    hid_t plist = intermediate_groups();
    hid_t g = H5Gcreate2(loc, path, plist, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(plist);
    return g;
}

static int write_dataset(hid_t loc, const char *path, hid_t file_type, hid_t mem_type, hid_t space,
                         const void *data)
{
    hid_t plist = intermediate_groups();
    hid_t d = H5Dcreate2(loc, path, file_type, space, plist, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(plist);
    int rc = d >= 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 ? 0 : -1;
    if (d >= 0) H5Dclose(d);
    return rc;
}

int keras_h5_write_floats(hid_t loc, const char *path, int rank, const int *dims, const float *data)
{
    hsize_t h[KERAS_H5_MAX_RANK];
    for (int a = 0; a < rank; a++) h[a] = (hsize_t)dims[a];
    hid_t space = H5Screate_simple(rank, h, NULL);
    int rc = write_dataset(loc, path, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, space, data);
    H5Sclose(space);
    return rc;
}

int keras_h5_write_scalar(hid_t loc, const char *path, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t file_type = type == H5T_NATIVE_LLONG ? H5T_STD_I64LE : H5T_IEEE_F32LE;
    int rc = write_dataset(loc, path, file_type, type, space, value);
    H5Sclose(space);
    return rc;
}
