/* dataset.c: the dataset front end (see dataset.h): choosing the source,
 * the .npy directory layout and its validation, serving batches, and input
 * normalization.  The .npy format itself is npy.c; the built-in clips are
 * synthetic.c.
 *
 * .npy directory layout:
 *   DIR/train_clips.npy   (N, D, H, W, C), uint8 or float32 (uint16 and
 *                         float64 also accepted), C-ordered, little-endian
 *   DIR/train_labels.npy  (N,), any integer dtype (or bool), values in
 *                         [0, classes) ([0, 2) when classes == 1)
 *   DIR/val_clips.npy + DIR/val_labels.npy   optional, same rules
 * Without the val files the validation split is the LAST val_clips clips of
 * the train arrays, and training uses only the clips before them: the split
 * depends on nothing but the file, so every run holds out the same clips.
 * train_clips (and val_clips when val files exist) then cap how many clips
 * are used, counted from the start; 0 means all. */
#include "dataset.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"
#include "synthetic.h"
#include "video_index.h"

#define DATASET_PATH_MAX 4096

struct dataset {
    int synthetic;
    int clip[4];
    size_t clip_values;
    int classes;
    uint64_t seed;
    normalize_kind normalize;
    long size[2];
    /* .npy source.  Without val files both splits read files[SPLIT_TRAIN]. */
    npy_array files[2];
    const npy_array *clips[2];
    long first[2];   /* row of the split's sample 0 within clips[split] */
    int *label_store[2];
    const int *labels[2];
    char description[DATASET_PATH_MAX + 256];
    video_source *video; /* a video directory (video_source.h), else NULL */
};

static const char *split_name(dataset_split split)
{
    return split == SPLIT_TRAIN ? "train" : "validation";
}

const char *normalize_name(normalize_kind kind)
{
    switch (kind) {
    case NORMALIZE_NONE: return "none";
    case NORMALIZE_SCALE: return "scale";
    case NORMALIZE_STANDARDIZE: return "standardize";
    case NORMALIZE_PER_IMAGE: return "per_image";
    }
    return "unknown";
}

int normalize_parse(const char *text, normalize_kind *kind)
{
    static const normalize_kind kinds[] = {NORMALIZE_NONE, NORMALIZE_SCALE, NORMALIZE_STANDARDIZE,
                                           NORMALIZE_PER_IMAGE};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (text && strcmp(text, normalize_name(kinds[i])) == 0) {
            *kind = kinds[i];
            return 0;
        }
    return -1;
}

/* Mean and population standard deviation in double, two passes.  Four
 * partial sums keep the first pass fast, and a constant block still gets
 * its exact value as mean (each partial is k*x, exact below 2^29 values), so
 * x - mean is exactly 0 and standardization of a constant clip is 0/0. */
static void moments(const float *x, size_t n, double *mean, double *std)
{
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) s[k] += x[i + k];
    for (; i < n; i++) s[0] += x[i];
    double m = ((s[0] + s[1]) + (s[2] + s[3])) / (double)n;
    double q[4] = {0.0, 0.0, 0.0, 0.0};
    for (i = 0; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) {
            double d = x[i + k] - m;
            q[k] += d * d;
        }
    for (; i < n; i++) q[0] += (x[i] - m) * (x[i] - m);
    *mean = m;
    *std = sqrt(((q[0] + q[1]) + (q[2] + q[3])) / (double)n);
}

static void standardize(float *x, size_t n, double floor_std)
{
    double mean, std;
    moments(x, n, &mean, &std);
    /* NaN std stays NaN for standardize and becomes the floor for per_image,
     * as tf.maximum does; the mean is NaN then anyway. */
    if (!(std >= floor_std)) std = floor_std > 0.0 ? floor_std : std;
    for (size_t i = 0; i < n; i++) x[i] = (float)((x[i] - mean) / std);
}

void normalize_apply(normalize_kind kind, const int clip[4], float *values)
{
    size_t frame = (size_t)clip[1] * clip[2] * clip[3], n = frame * clip[0];
    switch (kind) {
    case NORMALIZE_NONE:
        break;
    case NORMALIZE_SCALE: {
        const float scale = (float)(1.0 / 255.0); /* Keras multiplies by float32(1/255) */
        for (size_t i = 0; i < n; i++) values[i] *= scale;
        break;
    }
    case NORMALIZE_STANDARDIZE:
        standardize(values, n, 0.0);
        break;
    case NORMALIZE_PER_IMAGE:
        /* per_image_standardization standardizes over the last three axes,
         * so on a (D, H, W, C) clip each frame is one image. */
        for (int t = 0; t < clip[0]; t++)
            standardize(values + (size_t)t * frame, frame, 1.0 / sqrt((double)frame));
        break;
    }
}

static int video_wanted(const dataset_config *config);

/* ---- .npy directory source ---------------------------------------------- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void clip_format(const int clip[4], char *out, size_t size)
{
    int64_t shape[4] = {clip[0], clip[1], clip[2], clip[3]};
    npy_shape_format(4, shape, out, size);
}

/* Checks a clips array and resolves or checks the clip shape against `clip`
 * (all zero = not known yet). */
static int clips_check(const npy_array *a, const char *path, int clip[4], const char *shape_origin,
                       error *err)
{
    int supported = (a->kind == 'u' && (a->item_size == 1 || a->item_size == 2)) ||
                    (a->kind == 'f' && (a->item_size == 4 || a->item_size == 8));
    if (!supported)
        return error_set(err, "%s: dtype '%s' (%s) is not supported for clips (expected uint8 or "
                         "float32; uint16 and float64 are also accepted)", path, a->descr,
                         npy_type_name(a));
    char shape_text[256];
    npy_shape_format(a->rank, a->shape, shape_text, sizeof shape_text);
    if (a->rank != 5)
        return error_set(err, "%s: shape %s has %d axes (expected (N, D, H, W, C): clips, frames, "
                         "height, width, channels)", path, shape_text, a->rank);
    for (int i = 1; i < 5; i++)
        if (a->shape[i] < 1 || a->shape[i] > INT_MAX)
            return error_set(err, "%s: shape %s has an unusable clip size %" PRId64 " on axis %d",
                             path, shape_text, a->shape[i], i);
    int file_clip[4] = {(int)a->shape[1], (int)a->shape[2], (int)a->shape[3], (int)a->shape[4]};
    if (clip[0] == 0) {
        memcpy(clip, file_clip, sizeof file_clip);
        return 0;
    }
    if (memcmp(clip, file_clip, sizeof file_clip) != 0) {
        char want[64], have[64];
        clip_format(clip, want, sizeof want);
        clip_format(file_clip, have, sizeof have);
        return error_set(err, "%s: clips are %s (D, H, W, C) but %s %s", path, have, shape_origin,
                         want);
    }
    return 0;
}

/* Reads every label, checks its range and converts it to int.  The store
 * covers the whole file, so a bad label is found at open even when the
 * configured counts would not use it. */
static int labels_load(const npy_array *a, const char *path, int classes, int **store, error *err)
{
    int integer = a->kind == 'i' || a->kind == 'u' || (a->kind == 'b' && a->item_size == 1);
    if (!integer)
        return error_set(err, "%s: dtype '%s' (%s) is not supported for labels (expected integer "
                         "class ids, e.g. int64 or uint8)", path, a->descr, npy_type_name(a));
    char shape_text[256];
    npy_shape_format(a->rank, a->shape, shape_text, sizeof shape_text);
    if (a->rank != 1)
        return error_set(err, "%s: shape %s has %d axes (expected (N,) class ids; one-hot labels "
                         "can be converted with argmax(axis=-1))", path, shape_text, a->rank);
    int64_t limit = classes > 1 ? classes : 2;
    size_t n = a->count;
    int *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) return error_set(err, "%s: out of memory for %zu labels", path, n);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = a->data + i * (size_t)a->item_size;
        int64_t v = 0;
        uint64_t u = 0;
        int is_unsigned = a->kind != 'i';
        switch (a->item_size) {
        case 1: { uint8_t x; memcpy(&x, p, 1); u = x; v = (int8_t)x; break; }
        case 2: { uint16_t x; memcpy(&x, p, 2); u = x; v = (int16_t)x; break; }
        case 4: { uint32_t x; memcpy(&x, p, 4); u = x; v = (int32_t)x; break; }
        case 8: { uint64_t x; memcpy(&x, p, 8); u = x; v = (int64_t)x; break; }
        default:
            free(out);
            return error_set(err, "%s: dtype '%s' has an unsupported size for labels", path,
                             a->descr);
        }
        int in_range = is_unsigned ? u < (uint64_t)limit : v >= 0 && v < limit;
        if (!in_range) {
            char value[32];
            if (is_unsigned) snprintf(value, sizeof value, "%" PRIu64, u);
            else snprintf(value, sizeof value, "%" PRId64, v);
            free(out);
            return error_set(err, "%s: label %s at index %zu is out of range [0, %" PRId64 ")%s", path,
                             value, i, limit, classes > 1 ? "" : " (classes = 1 means binary labels 0/1)");
        }
        out[i] = is_unsigned ? (int)u : (int)v;
    }
    *store = out;
    return 0;
}

static int path_join(char *out, const char *dir, const char *name, error *err)
{
    size_t len = strlen(dir), name_len = strlen(name);
    while (len > 1 && dir[len - 1] == '/') len--;
    if (len + 1 + name_len + 1 > DATASET_PATH_MAX)
        return error_set(err, "%s: path too long", dir);
    memcpy(out, dir, len);
    out[len] = '/';
    memcpy(out + len + 1, name, name_len + 1);
    return 0;
}

/* Opens one clips/labels pair and checks them against each other. */
static int pair_open(dataset *d, dataset_split split, const char *dir, const char *clips_name,
                     const char *labels_name, const char *shape_origin, error *err)
{
    char clips_path[DATASET_PATH_MAX], labels_path[DATASET_PATH_MAX];
    if (path_join(clips_path, dir, clips_name, err) < 0 ||
        path_join(labels_path, dir, labels_name, err) < 0)
        return -1;
    npy_array *clips = &d->files[split];
    if (npy_open(clips, clips_path, "clips", err) < 0) return -1;
    if (clips_check(clips, clips_path, d->clip, shape_origin, err) < 0) return -1;
    if (split == SPLIT_TRAIN && clips->shape[0] == 0)
        return error_set(err, "%s: holds no clips (shape (0, ...))", clips_path);

    npy_array labels;
    if (npy_open(&labels, labels_path, "labels", err) < 0) return -1;
    int status = labels_load(&labels, labels_path, d->classes, &d->label_store[split], err);
    if (status == 0 && labels.shape[0] != clips->shape[0])
        status = error_set(err, "%s holds %" PRId64 " labels but %s holds %" PRId64 " clips",
                           labels_path, labels.shape[0], clips_path, clips->shape[0]);
    npy_close(&labels);
    return status;
}

/* The directory and its files: train_clips.npy and train_labels.npy, and
 * val_clips.npy with val_labels.npy or neither. */
static int npy_files_check(const char *dir, int *has_val, error *err)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno == ENOENT) return error_set(err, "%s: no such directory", dir);
        return error_set(err, "%s: cannot access: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return error_set(err, "%s: not a directory (expected \"synthetic\" or a directory holding "
                         "train_clips.npy and train_labels.npy)", dir);

    static const char *const required[] = {"train_clips.npy", "train_labels.npy"};
    for (int i = 0; i < 2; i++) {
        char path[DATASET_PATH_MAX];
        if (path_join(path, dir, required[i], err) < 0) return -1;
        if (!file_exists(path))
            return error_set(err, "%s: no such file (a .npy dataset directory needs "
                             "train_clips.npy and train_labels.npy, optionally val_clips.npy and "
                             "val_labels.npy)", path);
    }
    char val_clips[DATASET_PATH_MAX], val_labels[DATASET_PATH_MAX];
    if (path_join(val_clips, dir, "val_clips.npy", err) < 0 ||
        path_join(val_labels, dir, "val_labels.npy", err) < 0)
        return -1;
    int has_val_clips = file_exists(val_clips), has_val_labels = file_exists(val_labels);
    *has_val = has_val_clips;
    if (has_val_clips != has_val_labels)
        return error_set(err, "%s exists but %s does not (validation files come in pairs)",
                         has_val_clips ? val_clips : val_labels,
                         has_val_clips ? val_labels : val_clips);

    return 0;
}

static int npy_source_open(dataset *d, const dataset_config *config, error *err)
{
    const char *dir = config->source;
    int has_val_clips = 0;
    if (npy_files_check(dir, &has_val_clips, err) < 0) return -1;
    int configured = d->clip[0] != 0;
    if (pair_open(d, SPLIT_TRAIN, dir, "train_clips.npy", "train_labels.npy",
                  configured ? "the configured clip shape is" : "", err) < 0)
        return -1;
    long train_rows = (long)d->files[SPLIT_TRAIN].shape[0];
    d->clips[SPLIT_TRAIN] = &d->files[SPLIT_TRAIN];
    d->labels[SPLIT_TRAIN] = d->label_store[SPLIT_TRAIN];
    d->first[SPLIT_TRAIN] = 0;
    long train_available = train_rows;

    char train_desc[64], val_desc[DATASET_PATH_MAX + 64];
    if (has_val_clips) {
        char origin[DATASET_PATH_MAX + 64];
        snprintf(origin, sizeof origin, "%s/train_clips.npy holds", dir);
        if (pair_open(d, SPLIT_VALIDATION, dir, "val_clips.npy", "val_labels.npy",
                      configured ? "the configured clip shape is" : origin, err) < 0)
            return -1;
        long rows = (long)d->files[SPLIT_VALIDATION].shape[0];
        d->size[SPLIT_VALIDATION] = config->val_clips > 0 && config->val_clips < rows
                                        ? config->val_clips : rows;
        d->clips[SPLIT_VALIDATION] = &d->files[SPLIT_VALIDATION];
        d->labels[SPLIT_VALIDATION] = d->label_store[SPLIT_VALIDATION];
        snprintf(val_desc, sizeof val_desc, "%ld %s from val_clips.npy", d->size[SPLIT_VALIDATION],
                 npy_type_name(&d->files[SPLIT_VALIDATION]));
    } else {
        long hold = config->val_clips;
        if (hold >= train_rows)
            return error_set(err, "%s/train_clips.npy: holds %ld clips, too few to hold out the last "
                             "%ld for validation and keep some for training (there is no "
                             "val_clips.npy; expected val_clips < %ld)", dir, train_rows, hold,
                             train_rows);
        train_available = train_rows - hold;
        d->size[SPLIT_VALIDATION] = hold;
        d->clips[SPLIT_VALIDATION] = &d->files[SPLIT_TRAIN];
        d->first[SPLIT_VALIDATION] = train_available;
        d->labels[SPLIT_VALIDATION] = d->label_store[SPLIT_TRAIN] + train_available;
        if (hold > 0)
            snprintf(val_desc, sizeof val_desc, "the last %ld of train_clips.npy (no val_clips.npy)",
                     hold);
        else
            snprintf(val_desc, sizeof val_desc, "none (no val_clips.npy and val_clips = 0)");
    }
    d->size[SPLIT_TRAIN] = config->train_clips > 0 && config->train_clips < train_available
                               ? config->train_clips : train_available;
    snprintf(train_desc, sizeof train_desc, "%ld %s", d->size[SPLIT_TRAIN],
             npy_type_name(&d->files[SPLIT_TRAIN]));
    char clip_text[64];
    clip_format(d->clip, clip_text, sizeof clip_text);
    snprintf(d->description, sizeof d->description,
             "%s: clips %s, train %s clips from train_clips.npy, validation %s", dir, clip_text,
             train_desc, val_desc);
    return 0;
}

/* Reads one stored clip and converts it to float, in chunks through a
 * buffer on the stack: pread, never the mapping, so a file truncated under
 * the trainer is an error (npy_read_data) rather than a SIGBUS. */
static int npy_clip_read(const npy_array *a, long row, size_t values, float *out, error *err)
{
    enum { CHUNK = 16384 };
    unsigned char buffer[CHUNK];
    const size_t item = (size_t)a->item_size, per_chunk = CHUNK / item;
    size_t base = (size_t)row * values * item;
    for (size_t first = 0; first < values; first += per_chunk) {
        size_t n = values - first < per_chunk ? values - first : per_chunk;
        if (npy_read_data(a, base + first * item, buffer, n * item, err)) return -1;
        float *o = out + first;
        if (a->kind == 'u' && item == 1) {
            for (size_t i = 0; i < n; i++) o[i] = (float)buffer[i];
        } else if (a->kind == 'u') {
            for (size_t i = 0; i < n; i++) {
                uint16_t x;
                memcpy(&x, buffer + 2 * i, 2);
                o[i] = (float)x;
            }
        } else if (item == 4) {
            memcpy(o, buffer, n * sizeof *o);
        } else {
            for (size_t i = 0; i < n; i++) {
                double x;
                memcpy(&x, buffer + 8 * i, 8);
                o[i] = (float)x;
            }
        }
    }
    return 0;
}

/* ---- video directory source (video_source.c does the work) -------------- */

static void video_clip_finish(const void *context, float *clip)
{
    const dataset *d = context;
    normalize_apply(d->normalize, d->clip, clip);
}

static int video_wanted(const dataset_config *config)
{
    const video_options *v = config->video;
    if (v && (v->split > 0 || v->train_list || v->val_list)) return 1;
    char path[DATASET_PATH_MAX];
    error ignored;
    if (path_join(path, config->source, "train_clips.npy", &ignored) < 0 || file_exists(path)) return 0;
    return video_index_looks_like_videos(config->source);
}

static int video_dataset_open(dataset *d, const dataset_config *config, error *err)
{
    video_source_config vc = {.dir = config->source, .classes = config->classes,
                              .train_clips = config->train_clips, .val_clips = config->val_clips,
                              .seed = config->seed, .clip_finish = video_clip_finish, .finish_context = d};
    if (config->video) vc.options = *config->video;
    /* No clip shape given: the seed's 16x112x112x3, C3D's clip. */
    static const int c3d_clip[4] = {16, 112, 112, 3};
    if (config->clip[0] == 0) memcpy(d->clip, c3d_clip, sizeof d->clip);
    memcpy(vc.clip, d->clip, sizeof vc.clip);
    if (video_source_open(&d->video, &vc, err) < 0) return -1;
    d->size[SPLIT_TRAIN] = video_source_size(d->video, SPLIT_TRAIN);
    d->size[SPLIT_VALIDATION] = video_source_size(d->video, SPLIT_VALIDATION);
    if (config->classes != 1) d->classes = video_source_classes(d->video);
    int resize[2];
    video_source_resize(d->video, resize);
    char clip_text[64];
    clip_format(d->clip, clip_text, sizeof clip_text);
    snprintf(d->description, sizeof d->description,
             "%s: videos (%s), %d classes, train %ld videos, validation %ld, resize %dx%d, frame step %d, "
             "clips %s%s", config->source, video_source_layout(d->video), video_source_classes(d->video),
             d->size[SPLIT_TRAIN], d->size[SPLIT_VALIDATION], resize[0], resize[1],
             config->video && config->video->frame_step ? config->video->frame_step : 1, clip_text,
             video_source_bad_count(d->video) ? ", bad videos skipped" : "");
    return 0;
}

int dataset_config_is_video(const dataset_config *config)
{
    return config->source && strcmp(config->source, "synthetic") != 0 && video_wanted(config);
}

video_source *dataset_video(const dataset *d)
{
    return d->video;
}

int dataset_classes(const dataset *d)
{
    return d->classes;
}

/* ---- common -------------------------------------------------------------- */

int dataset_open(dataset **out, const dataset_config *config, error *err)
{
    *out = NULL;
    if (!config->source || !*config->source)
        return error_set(err, "dataset source is empty (expected \"synthetic\" or a directory)");
    /* 0 = as found: only a video directory knows its classes. */
    if (config->classes < 1 && !(config->classes == 0 && strcmp(config->source, "synthetic") != 0 &&
                                 video_wanted(config)))
        return error_set(err, "classes = %d (expected >= 1; 1 means binary labels 0/1)",
                         config->classes);
    if (config->train_clips < 0 || config->val_clips < 0)
        return error_set(err, "train_clips = %ld, val_clips = %ld (expected counts >= 0)",
                         config->train_clips, config->val_clips);
    if ((unsigned)config->normalize > NORMALIZE_PER_IMAGE)
        return error_set(err, "normalize = %d is not a normalize_kind", (int)config->normalize);
    int zeros = 0;
    for (int i = 0; i < 4; i++) {
        if (config->clip[i] < 0)
            return error_set(err, "clip size %d on axis %d is negative", config->clip[i], i);
        zeros += config->clip[i] == 0;
    }
    if (zeros != 0 && zeros != 4) {
        char text[64];
        clip_format(config->clip, text, sizeof text);
        return error_set(err, "clip shape %s: give all four sizes (D, H, W, C) or none", text);
    }

    dataset *d = calloc(1, sizeof *d);
    if (!d) return error_set(err, "out of memory opening the dataset");
    memcpy(d->clip, config->clip, sizeof d->clip);
    d->classes = config->classes;
    d->seed = config->seed;
    d->normalize = config->normalize;
    d->synthetic = strcmp(config->source, "synthetic") == 0;

    int status = 0;
    if (d->synthetic) {
        if (zeros)
            status = error_set(err, "the synthetic dataset needs a clip shape (D, H, W, C all >= 1)");
        else if (config->train_clips < 1)
            status = error_set(err, "the synthetic dataset needs train_clips >= 1 (got %ld)",
                               config->train_clips);
        d->size[SPLIT_TRAIN] = config->train_clips;
        d->size[SPLIT_VALIDATION] = config->val_clips;
        char clip_text[64];
        clip_format(d->clip, clip_text, sizeof clip_text);
        synthetic_class c;
        synthetic_class_get(d->classes, 0, &c);
        snprintf(d->description, sizeof d->description,
                 "synthetic moving shapes: clips %s, %d classes (%d directions%s), train %ld, "
                 "validation %ld, seed %" PRIu64, clip_text, d->classes, c.directions,
                 c.shapes > 1 ? " x shapes" : "", d->size[SPLIT_TRAIN], d->size[SPLIT_VALIDATION],
                 d->seed);
    } else if (video_wanted(config)) {
        status = video_dataset_open(d, config, err);
    } else {
        status = npy_source_open(d, config, err);
    }
    if (status == 0) {
        size_t values = 1;
        for (int i = 0; i < 4; i++)
            if (__builtin_mul_overflow(values, (size_t)d->clip[i], &values))
                status = error_set(err, "clip shape is too large");
        d->clip_values = values;
    }
    if (status < 0) {
        dataset_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

void dataset_close(dataset *d)
{
    if (!d) return;
    video_source_close(d->video);
    for (int s = 0; s < 2; s++) {
        npy_close(&d->files[s]);
        free(d->label_store[s]);
    }
    free(d);
}

long dataset_size(const dataset *d, dataset_split split)
{
    return split == SPLIT_TRAIN || split == SPLIT_VALIDATION ? d->size[split] : 0;
}

void dataset_clip_shape(const dataset *d, int clip[4])
{
    memcpy(clip, d->clip, sizeof d->clip);
}

const char *dataset_describe(const dataset *d)
{
    return d->description;
}

int dataset_label(const dataset *d, dataset_split split, long id, int *label, error *err)
{
    if (split != SPLIT_TRAIN && split != SPLIT_VALIDATION)
        return error_set(err, "split %d is neither train nor validation", (int)split);
    if (id < 0 || id >= d->size[split])
        return error_set(err, "sample id %ld is out of range for the %s split (%ld clips)", id,
                         split_name(split), d->size[split]);
    if (d->video) video_source_video(d->video, split, id, NULL, NULL, label);
    else *label = d->synthetic ? synthetic_label(d->classes, id) : d->labels[split][id];
    return 0;
}

int dataset_read_batch(dataset *d, dataset_split split, const long *ids, int count,
                       float *clips, int *labels, error *err)
{
    return dataset_read_epoch(d, split, 0, ids, count, clips, labels, NULL, err);
}

int dataset_prefetch(dataset *d, dataset_split split, int epoch, const long *ids, int count, error *err)
{
    return d->video ? video_source_prefetch(d->video, split, epoch, ids, count, err) : 0;
}

int dataset_read_raw(dataset *d, dataset_split split, long id, float *clip, error *err)
{
    if (d->video) return error_set(err, "a video clip's values before normalization are not kept");
    if ((unsigned)split > SPLIT_VALIDATION || id < 0 || id >= dataset_size(d, split))
        return error_set(err, "clip %ld is not in the split", id);
    if (d->synthetic) {
        synthetic_clip_generate(d->clip, d->classes, d->seed, split, id, clip);
        return 0;
    }
    return npy_clip_read(d->clips[split], d->first[split] + id, d->clip_values, clip, err);
}

normalize_kind dataset_normalize(const dataset *d)
{
    return d->normalize;
}

int dataset_read_epoch(dataset *d, dataset_split split, int epoch, const long *ids, int count, float *clips,
                       int *labels, video_clip_origin *origins, error *err)
{
    if (count < 0) return error_set(err, "batch of %d clips", count);
    for (int i = 0; i < count; i++) {
        int label = 0;
        if (dataset_label(d, split, ids[i], &label, err) < 0) return -1;
        if (labels) labels[i] = label;
    }
    if (d->video) return video_source_read(d->video, split, epoch, ids, count, clips, origins, err);
    if (!clips) return 0;
    const dataset *c = d;
    int failed = 0;
    #pragma omp parallel for schedule(static) if (count > 1)
    for (int i = 0; i < count; i++) {
        float *out = clips + (size_t)i * c->clip_values;
        if (c->synthetic) {
            synthetic_clip_generate(c->clip, c->classes, c->seed, split, ids[i], out);
        } else {
            error failure;
            if (npy_clip_read(c->clips[split], c->first[split] + ids[i], c->clip_values, out, &failure)) {
                /* The first failure's message is kept. */
                #pragma omp critical(dataset_read_failure)
                if (!failed++ && err) *err = failure;
                continue;
            }
        }
        normalize_apply(c->normalize, c->clip, out);
    }
    return failed ? -1 : 0;
}
