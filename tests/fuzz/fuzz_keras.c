/* fuzz_keras.c: the Keras loader (keras_inspect, then keras_load) on
 * hostile files made from a small valid one.
 *
 * Forged HDF5 bytes mostly fail the superblock checks, so the input is a
 * program of edits applied through the HDF5 API to a copy of a valid
 * tf.keras 2.x file (a ResNet3D-18 of width 1 exported with its Adam
 * state, written once per process): each edit is 4 bytes, op, which link
 * (by index in the file's walk), and two arguments, then up to 8 bytes of
 * value.  The edits rewrite scalars (NaN, huge, negative), replace or
 * delete datasets and groups, plant soft and external links, mutate the
 * JSON configs and the layer lists.  A file that loads must have said
 * nothing outside train's ranges (a broken invariant aborts). */
#include "fuzz.h"

#include <hdf5.h>
#include <math.h>

#include "keras.h"
#include "keras_h5.h"

#define FUZZ_KERAS_LINKS 1024

typedef struct link_list {
    char names[FUZZ_KERAS_LINKS][160];
    int count;
} link_list;

static herr_t collect(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g, (void)info;
    link_list *l = data;
    if (l->count < FUZZ_KERAS_LINKS && strlen(name) < sizeof l->names[0]) strcpy(l->names[l->count++], name);
    return 0;
}

static const model_config tiny = {.depth = 18, .width = 1, .classes = 2, .clip = {2, 4, 4, 1}, .batch = 1,
                                  .threads = 1};

/* The valid file, exported once; its bytes are kept to copy per input. */
static const uint8_t *valid_file(size_t *size)
{
    static uint8_t *bytes;
    static size_t length;
    if (bytes) {
        *size = length;
        return bytes;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/valid.h5", fuzz_scratch("keras"));
    model m;
    error err;
    if (model_build(&m, &tiny, &err)) abort();
    model_init_weights(&m, INIT_HE_NORMAL, 1);
    keras_export_options o = {.with_optimizer = 1, .iterations = 7, .learning_rate = 1e-3f, .l2 = 1e-4};
    if (keras_export(path, &m, &o, &err)) abort();
    model_free(&m);
    bytes = (uint8_t *)test_read_file(path, &length);
    if (!bytes) abort();
    *size = length;
    return bytes;
}

static void replace_scalar(hid_t file, const char *at, const uint8_t *value, int as_integer)
{
    hid_t d = H5Dopen2(file, at, H5P_DEFAULT);
    if (d < 0) return;
    H5Dclose(d);
    H5Ldelete(file, at, H5P_DEFAULT);
    hid_t space = H5Screate(H5S_SCALAR);
    d = H5Dcreate2(file, at, as_integer ? H5T_STD_I64LE : H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                   H5P_DEFAULT);
    if (d >= 0) H5Dwrite(d, as_integer ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, value);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
}

/* An empty dataset of dims a x b (float32 or float64) in place of a link. */
static void replace_dataset(hid_t file, const char *at, int a, int b)
{
    H5Ldelete(file, at, H5P_DEFAULT);
    hsize_t dims[2] = {(hsize_t)a, (hsize_t)b};
    hid_t space = H5Screate_simple(b ? 2 : 1, dims, NULL);
    hid_t d = H5Dcreate2(file, at, a & 1 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT);
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
}

/* One byte of a JSON attribute changed (or the attribute cut at it). */
static void mutate_attribute(hid_t file, const char *name, int at, uint8_t to)
{
    char *text = NULL;
    error err;
    if (keras_h5_read_string(file, name, "fuzz", &text, &err)) return;
    size_t n = strlen(text);
    if (n) {
        size_t i = (size_t)at * 97 % n;
        if (to) text[i] = (char)to;
        else text[i] = '\0';
        H5Adelete(file, name);
        keras_h5_write_string(file, name, text);
    }
    free(text);
}

static void apply_edit(hid_t file, const link_list *links, const uint8_t *e, const uint8_t *value)
{
    const char *at = links->count ? links->names[e[1] % links->count] : "model_weights";
    switch (e[0] % 8) {
    case 0: replace_scalar(file, at, value, e[2] & 1); break;
    case 1: H5Ldelete(file, at, H5P_DEFAULT); break;
    case 2: replace_dataset(file, at, e[2], e[3] % 5); break;
    case 3: mutate_attribute(file, e[2] & 1 ? "training_config" : "model_config", e[3] | e[2] << 8, value[0]); break;
    case 4:
        H5Ldelete(file, at, H5P_DEFAULT);
        H5Lcreate_soft(e[2] & 1 ? "/model_weights" : links->names[e[3] % (links->count ? links->count : 1)], file,
                       at, H5P_DEFAULT, H5P_DEFAULT);
        break;
    case 5:
        H5Ldelete(file, at, H5P_DEFAULT);
        H5Lcreate_external("/etc/hostname", "/", file, at, H5P_DEFAULT, H5P_DEFAULT);
        break;
    case 6: replace_scalar(file, "optimizer_weights/Adam/iter:0", value, e[2] & 1); break;
    default: replace_scalar(file, "optimizer_weights/Adam/learning_rate:0", value, e[2] & 1); break;
    }
}

/* The rules a loaded file must have kept (keras.h). */
static void check_invariants(const keras_model_info *info)
{
    if (info->width < 1 || info->width > KERAS_MAX_WIDTH || info->classes < 1 || info->classes > KERAS_MAX_CLASSES ||
        info->iterations < 0 || info->iterations > KERAS_MAX_ITERATIONS)
        abort();
    if (info->learning_rate_source &&
        !(info->learning_rate >= KERAS_MIN_LEARNING_RATE && info->learning_rate <= KERAS_MAX_LEARNING_RATE))
        abort();
    if (info->has_l2 && !(info->l2 >= 0 && info->l2 <= KERAS_MAX_L2)) abort();
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    size_t valid_size;
    const uint8_t *valid = valid_file(&valid_size);
    char path[256];
    snprintf(path, sizeof path, "%s/input.h5", fuzz_scratch("keras"));
    if (test_write_file(path, valid, valid_size)) return 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) abort(); /* the valid file must open */
    static link_list links;
    links.count = 0;
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, collect, &links);
    for (size_t at = 0; at + 12 <= size && at < 12 * 16; at += 12) apply_edit(file, &links, data + at, data + at + 4);
    H5Fclose(file);

    keras_model_info info;
    error err;
    if (keras_inspect(path, &info, &err) != 0) return 0;
    check_invariants(&info);
    if (info.depth != tiny.depth || info.width != tiny.width || info.classes != tiny.classes) return 0;
    model m;
    if (model_build(&m, &tiny, &err)) abort();
    keras_load_result result;
    if (keras_load(path, &m, &result, &err) == 0) check_invariants(&result.info);
    model_free(&m);
    return 0;
}
