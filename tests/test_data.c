/* test_data.c: the data layer: synthetic clips (determinism, balance, that
 * the classes are learnable from motion and only from motion), every input
 * normalization, .npy round trips, and every malformed-input case, which
 * must fail with a message naming the file.  Fixtures are written by this
 * program into a fresh temporary directory and removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "npy.h"
#include "rng.h"
#include "synthetic.h"
#include "test_util.h"

static char test_root[256];

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t clip_count(const int clip[4])
{
    return (size_t)clip[0] * clip[1] * clip[2] * clip[3];
}

/* ---- fixtures ------------------------------------------------------------ */

/* A fresh directory under the test root; returns a static path. */
static const char *case_dir(const char *name)
{
    static char paths[64][512];
    static int next;
    char *path = paths[next++ % 64];
    snprintf(path, 512, "%s/%s", test_root, name);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) fprintf(stderr, "mkdir %s failed\n", path);
    return path;
}

static const char *file_in(const char *dir, const char *name)
{
    static char paths[16][640];
    static int next;
    char *path = paths[next++ % 16];
    snprintf(path, 640, "%s/%s", dir, name);
    return path;
}

static int write_npy(const char *dir, const char *name, const char *descr, int rank,
                     const int64_t *shape, const void *data, int version)
{
    error err;
    if (npy_write(file_in(dir, name), descr, rank, shape, data, version, &err) < 0) {
        fprintf(stderr, "fixture: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* A .npy file with a hand-written header dict (for malformed headers). */
static int write_npy_raw(const char *path, int major, const char *dict, size_t data_bytes)
{
    size_t prelude = major == 1 ? 10 : 12, len = strlen(dict) + 1;
    len += (64 - (prelude + len) % 64) % 64;
    size_t total = prelude + len + data_bytes;
    unsigned char *buf = calloc(1, total);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < prelude - 8; i++) buf[8 + i] = (unsigned char)(len >> (8 * i));
    memset(buf + prelude, ' ', len);
    memcpy(buf + prelude, dict, strlen(dict));
    buf[prelude + len - 1] = '\n';
    int status = test_write_file(path, buf, total);
    free(buf);
    return status;
}

enum { VALID_N = 10 };
static const int valid_clip[4] = {2, 4, 4, 3};

/* train_clips.npy (10, 2, 4, 4, 3) uint8 and train_labels.npy (10,) int64
 * with labels i % 3: the valid base every bad case breaks one thing of. */
static const char *valid_dir(const char *name)
{
    const char *dir = case_dir(name);
    int64_t shape[5] = {VALID_N, 2, 4, 4, 3};
    size_t n = VALID_N * clip_count(valid_clip);
    unsigned char *bytes = malloc(n);
    for (size_t i = 0; i < n; i++) bytes[i] = (unsigned char)(i * 7 % 251);
    int64_t labels[VALID_N];
    for (int i = 0; i < VALID_N; i++) labels[i] = i % 3;
    int64_t label_shape[1] = {VALID_N};
    write_npy(dir, "train_clips.npy", "|u1", 5, shape, bytes, 1);
    write_npy(dir, "train_labels.npy", "<i8", 1, label_shape, labels, 1);
    free(bytes);
    return dir;
}

static dataset_config npy_config(const char *dir, int classes)
{
    dataset_config c = {.source = dir, .clip = {0, 0, 0, 0}, .classes = classes,
                        .train_clips = 0, .val_clips = 0, .seed = 1,
                        .normalize = NORMALIZE_NONE};
    return c;
}

/* dataset_open must fail cleanly, with a message holding both fragments
 * (the file name and what was wrong). */
static void expect_open_failure(const char *what, const dataset_config *config,
                                const char *fragment1, const char *fragment2)
{
    error err;
    memset(&err, 0, sizeof err);
    dataset *d = (dataset *)&err; /* must be reset to NULL */
    int status = dataset_open(&d, config, &err);
    CHECK(status == -1, "%s: dataset_open returned %d (expected -1)", what, status);
    CHECK(d == NULL, "%s: *out not NULL after a failure", what);
    CHECK(strstr(err.message, fragment1) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
          err.message, fragment1);
    if (fragment2)
        CHECK(strstr(err.message, fragment2) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              err.message, fragment2);
    if (status == 0) dataset_close(d);
    if (getenv("TEST_DATA_VERBOSE")) printf("  %-34s -> %s\n", what, err.message);
}

/* ---- synthetic: statistics used to check the classes --------------------- */

/* Per frame, the circular centroid (the motion wraps around the edges) of
 * the pixels brighter than halfway between the frame mean and its maximum. */
static void frame_centroid(const float *frame, int h, int w, int c, double *x, double *y,
                           double *threshold)
{
    double mean = 0.0, peak = -1.0;
    for (int p = 0; p < h * w; p++) {
        double v = 0.0;
        for (int k = 0; k < c; k++) v += frame[p * c + k];
        mean += v;
        if (v > peak) peak = v;
    }
    mean /= h * w;
    double thr = 0.5 * (mean + peak);
    double xc = 0, xs = 0, yc = 0, ys = 0;
    for (int iy = 0; iy < h; iy++)
        for (int ix = 0; ix < w; ix++) {
            double v = 0.0;
            for (int k = 0; k < c; k++) v += frame[(iy * w + ix) * c + k];
            double wgt = v > thr ? v - thr : 0.0;
            double ax = 2 * M_PI * (ix + 0.5) / w, ay = 2 * M_PI * (iy + 0.5) / h;
            xc += wgt * cos(ax);
            xs += wgt * sin(ax);
            yc += wgt * cos(ay);
            ys += wgt * sin(ay);
        }
    *x = atan2(xs, xc) / (2 * M_PI) * w;
    *y = atan2(ys, yc) / (2 * M_PI) * h;
    if (threshold) *threshold = thr;
}

static double wrap_delta(double d, double n)
{
    d = fmod(d, n);
    if (d > n / 2) d -= n;
    if (d <= -n / 2) d += n;
    return d;
}

/* The direction class a centroid tracker reads off the clip. */
static int motion_direction(const float *clip, const int s[4], int directions)
{
    double px = 0, py = 0, vx = 0, vy = 0;
    size_t frame = (size_t)s[1] * s[2] * s[3];
    for (int t = 0; t < s[0]; t++) {
        double x, y;
        frame_centroid(clip + t * frame, s[1], s[2], s[3], &x, &y, NULL);
        if (t > 0) {
            vx += wrap_delta(x - px, s[2]);
            vy += wrap_delta(y - py, s[1]);
        }
        px = x;
        py = y;
    }
    double angle = atan2(-vy, vx); /* screen rows grow downwards */
    int j = (int)lround(angle / (2 * M_PI / directions));
    return ((j % directions) + directions) % directions;
}

/* 1 when the shape is filled at its centroid (disc), 0 when hollow (ring):
 * majority over frames. */
static int centre_filled(const float *clip, const int s[4])
{
    size_t frame = (size_t)s[1] * s[2] * s[3];
    int votes = 0;
    for (int t = 0; t < s[0]; t++) {
        double x, y, thr;
        const float *f = clip + t * frame;
        frame_centroid(f, s[1], s[2], s[3], &x, &y, &thr);
        int ix = ((int)floor(x) % s[2] + s[2]) % s[2], iy = ((int)floor(y) % s[1] + s[1]) % s[1];
        double v = 0.0;
        for (int k = 0; k < s[3]; k++) v += f[(iy * s[2] + ix) * s[3] + k];
        votes += v > thr ? 1 : -1;
    }
    return votes > 0;
}

/* ---- synthetic tests ----------------------------------------------------- */

static void test_synthetic_determinism(void)
{
    int clip[4] = {8, 32, 32, 3};
    size_t n = clip_count(clip);
    dataset_config config = {.source = "synthetic", .clip = {8, 32, 32, 3}, .classes = 4,
                             .train_clips = 100, .val_clips = 20, .seed = 7,
                             .normalize = NORMALIZE_NONE};
    dataset *d;
    error err;
    CHECK(dataset_open(&d, &config, &err) == 0, "open synthetic: %s", err.message);
    float *a = malloc(3 * n * sizeof *a), *b = malloc(3 * n * sizeof *b);
    long ids[3] = {5, 3, 5};
    int labels[3];
    CHECK(dataset_read_batch(d, SPLIT_TRAIN, ids, 3, a, labels, &err) == 0, "%s", err.message);
    CHECK(memcmp(a, a + 2 * n, n * sizeof *a) == 0, "same id twice in a batch gives different clips");
    CHECK(labels[0] == labels[2] && labels[0] == 1 && labels[1] == 3, "labels %d %d %d",
          labels[0], labels[1], labels[2]);
    CHECK(memcmp(a, a + n, n * sizeof *a) != 0, "different ids give identical clips");

    /* Alone, one thread, in another order: the same bits. */
    omp_set_num_threads(1);
    long reversed[3] = {5, 5, 3};
    CHECK(dataset_read_batch(d, SPLIT_TRAIN, reversed, 3, b, NULL, &err) == 0, "%s", err.message);
    omp_set_num_threads(omp_get_num_procs());
    CHECK(memcmp(a, b, n * sizeof *a) == 0 && memcmp(a + n, b + 2 * n, n * sizeof *a) == 0,
          "a clip depends on its batch, order or thread count");
    int label = synthetic_clip_generate(clip, 4, 7, SPLIT_TRAIN, 5, b);
    CHECK(label == 1 && memcmp(a, b, n * sizeof *a) == 0, "dataset and generator disagree");

    synthetic_clip_generate(clip, 4, 8, SPLIT_TRAIN, 5, b);
    CHECK(memcmp(a, b, n * sizeof *a) != 0, "seeds 7 and 8 give the same clip");
    synthetic_clip_generate(clip, 4, 7, SPLIT_VALIDATION, 5, b);
    CHECK(memcmp(a, b, n * sizeof *a) != 0, "train and validation id 5 are the same clip");

    CHECK(dataset_size(d, SPLIT_TRAIN) == 100 && dataset_size(d, SPLIT_VALIDATION) == 20,
          "synthetic sizes %ld %ld", dataset_size(d, SPLIT_TRAIN), dataset_size(d, SPLIT_VALIDATION));
    int shape[4];
    dataset_clip_shape(d, shape);
    CHECK(memcmp(shape, clip, sizeof shape) == 0, "clip shape not served as configured");
    CHECK(strstr(dataset_describe(d), "synthetic") != NULL, "describe: %s", dataset_describe(d));

    long bad[1] = {100};
    CHECK(dataset_read_batch(d, SPLIT_TRAIN, bad, 1, a, labels, &err) == -1 &&
          strstr(err.message, "100") != NULL, "id 100 of 100 accepted");
    long negative[1] = {-1};
    CHECK(dataset_read_batch(d, SPLIT_VALIDATION, negative, 1, a, labels, &err) == -1,
          "id -1 accepted");
    long last[1] = {19};
    CHECK(dataset_read_batch(d, SPLIT_VALIDATION, last, 1, NULL, labels, &err) == 0 &&
          labels[0] == 3, "validation id 19 label");
    free(a);
    free(b);
    dataset_close(d);
}

static void test_synthetic_shapes(void)
{
    static const int shapes[][4] = {{8, 32, 32, 3}, {4, 16, 16, 1}, {1, 1, 1, 1}, {3, 7, 5, 2},
                                    {2, 1, 9, 1},   {5, 13, 3, 4},  {16, 112, 112, 3}, {2, 3, 40, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *clip = shapes[s];
        size_t n = clip_count(clip);
        /* Guard values either side catch a write outside the clip even
         * without a sanitizer. */
        float *buf = malloc((n + 2) * sizeof *buf);
        buf[0] = buf[n + 1] = -7.0f;
        int bad = 0, distinct = 0;
        for (int classes = 1; classes <= 40; classes += 13) {
            for (long id = 0; id < 3; id++) {
                synthetic_clip_generate(clip, classes, 3, SPLIT_TRAIN, id, buf + 1);
                for (size_t i = 1; i <= n; i++) {
                    float v = buf[i];
                    if (!(v >= 0.0f && v <= 255.0f) || v != floorf(v)) bad++;
                    if (v != buf[1]) distinct = 1;
                }
            }
        }
        CHECK(buf[0] == -7.0f && buf[n + 1] == -7.0f, "clip (%d,%d,%d,%d) wrote outside itself",
              clip[0], clip[1], clip[2], clip[3]);
        CHECK(bad == 0, "clip (%d,%d,%d,%d): %d values not whole levels in 0..255", clip[0],
              clip[1], clip[2], clip[3], bad);
        if (n > 1) CHECK(distinct, "clip (%d,%d,%d,%d) is constant", clip[0], clip[1], clip[2], clip[3]);
        free(buf);
    }
}

static void test_synthetic_balance(void)
{
    static const int classes_list[] = {1, 2, 3, 4, 7, 10, 16, 50};
    for (size_t k = 0; k < sizeof classes_list / sizeof classes_list[0]; k++) {
        int classes = classes_list[k], effective = classes == 1 ? 2 : classes;
        long counts[64] = {0};
        int out_of_range = 0;
        for (long id = 0; id < 1003; id++) {
            int label = synthetic_label(classes, id);
            if (label < 0 || label >= effective) out_of_range++;
            else counts[label]++;
        }
        long lo = counts[0], hi = counts[0];
        for (int c = 1; c < effective; c++) {
            if (counts[c] < lo) lo = counts[c];
            if (counts[c] > hi) hi = counts[c];
        }
        CHECK(out_of_range == 0 && hi - lo <= 1, "classes %d: counts %ld..%ld, %d out of range",
              classes, lo, hi, out_of_range);
    }
    /* Every label is a distinct (direction, shape). */
    for (int classes = 1; classes <= 40; classes++) {
        int effective = classes == 1 ? 2 : classes, clash = 0;
        for (int a = 0; a < effective; a++)
            for (int b = a + 1; b < effective; b++) {
                synthetic_class ca, cb;
                synthetic_class_get(classes, a, &ca);
                synthetic_class_get(classes, b, &cb);
                if (ca.direction == cb.direction && ca.shape == cb.shape) clash++;
            }
        CHECK(clash == 0, "classes %d: %d label pairs look the same", classes, clash);
    }
    char text[96];
    synthetic_class_describe(4, 1, text, sizeof text);
    CHECK(strstr(text, "up") != NULL, "class 1 of 4 is \"%s\" (expected moving up)", text);
    synthetic_class_describe(16, 11, text, sizeof text);
    CHECK(strstr(text, "left") != NULL && strstr(text, "ring") != NULL,
          "class 11 of 16 is \"%s\" (expected up-left ring)", text);
}

/* A centroid tracker must read the class (direction) off most clips. */
static void check_direction_accuracy(const int clip[4], int classes, int count, double minimum)
{
    synthetic_class info;
    synthetic_class_get(classes, 0, &info);
    float *buf = malloc(clip_count(clip) * sizeof *buf);
    int right = 0;
    for (long id = 0; id < count; id++) {
        int label = synthetic_clip_generate(clip, classes, 11, SPLIT_TRAIN, id, buf);
        synthetic_class c;
        synthetic_class_get(classes, label, &c);
        right += motion_direction(buf, clip, info.directions) == c.direction;
    }
    double accuracy = (double)right / count;
    printf("  direction from centroid motion, %d classes on (%d, %d, %d, %d): %.3f (chance %.3f)\n",
           classes, clip[0], clip[1], clip[2], clip[3], accuracy, 1.0 / info.directions);
    CHECK(accuracy >= minimum, "%d classes: centroid motion finds the direction in %.3f of clips "
          "(expected >= %.2f)", classes, accuracy, minimum);
    free(buf);
}

static void test_synthetic_learnable(void)
{
    int small[4] = {8, 32, 32, 3}, gray[4] = {8, 48, 48, 1}, tiny[4] = {4, 16, 16, 1};
    check_direction_accuracy(small, 4, 400, 0.9);
    check_direction_accuracy(small, 1, 200, 0.9);
    check_direction_accuracy(gray, 8, 400, 0.85);
    check_direction_accuracy(tiny, 4, 400, 0.8);

    /* 16 classes = 8 directions x {disc, ring}: the shape is readable too. */
    int wide[4] = {6, 64, 64, 1};
    float *buf = malloc(clip_count(wide) * sizeof *buf);
    int right = 0, count = 160;
    for (long id = 0; id < count; id++) {
        int label = synthetic_clip_generate(wide, 16, 5, SPLIT_TRAIN, id, buf);
        synthetic_class c;
        synthetic_class_get(16, label, &c);
        right += centre_filled(buf, wide) == (c.shape == SYNTHETIC_DISC);
    }
    printf("  shape (disc vs ring) from the centre pixel, 16 classes: %.3f (chance 0.5)\n",
           (double)right / count);
    CHECK(right >= 0.85 * count, "disc vs ring told apart in %d of %d clips", right, count);
    free(buf);

    /* One frame alone must not give the class away.  A nearest-class-mean
     * classifier on frame 0 stays near chance, and where the shape sits in
     * frame 0 is uniform for every class (the circular mean of its position
     * has a resultant near 1/sqrt(n), not the ~0.6 a start on the side
     * opposite the motion would give). */
    int clip[4] = {4, 24, 24, 1};
    size_t frame = 24 * 24, n = clip_count(clip);
    enum { CLASSES = 4 };
    int train = 800, test = 400;
    double *mean0 = calloc(CLASSES * frame, sizeof *mean0);
    double pos[CLASSES][4] = {{0}};
    float *c = malloc(n * sizeof *c);
    for (long id = 0; id < train; id++) {
        int label = synthetic_clip_generate(clip, CLASSES, 21, SPLIT_TRAIN, id, c);
        for (size_t p = 0; p < frame; p++) mean0[label * frame + p] += c[p];
        double x, y;
        frame_centroid(c, clip[1], clip[2], clip[3], &x, &y, NULL);
        pos[label][0] += cos(2 * M_PI * x / clip[2]);
        pos[label][1] += sin(2 * M_PI * x / clip[2]);
        pos[label][2] += cos(2 * M_PI * y / clip[1]);
        pos[label][3] += sin(2 * M_PI * y / clip[1]);
    }
    double worst_resultant = 0.0;
    for (int k = 0; k < CLASSES; k++) {
        double per = train / CLASSES;
        worst_resultant = fmax(worst_resultant, hypot(pos[k][0], pos[k][1]) / per);
        worst_resultant = fmax(worst_resultant, hypot(pos[k][2], pos[k][3]) / per);
    }
    int right0 = 0;
    for (long id = 0; id < test; id++) {
        int label = synthetic_clip_generate(clip, CLASSES, 21, SPLIT_VALIDATION, id, c);
        double best = INFINITY;
        int guess = -1;
        for (int k = 0; k < CLASSES; k++) {
            double e = 0.0;
            for (size_t p = 0; p < frame; p++) {
                double a = c[p] - mean0[k * frame + p] / (train / CLASSES);
                e += a * a;
            }
            if (e < best) best = e, guess = k;
        }
        right0 += guess == label;
    }
    printf("  frame 0 alone: nearest class mean %.3f (chance 0.25); position resultant <= %.3f\n",
           (double)right0 / test, worst_resultant);
    CHECK(right0 < 0.35 * test, "frame 0 alone predicts the class in %d of %d clips", right0, test);
    CHECK(worst_resultant < 0.2, "frame-0 position depends on the class (resultant %.3f)",
          worst_resultant);
    free(mean0);
    free(c);
}

static void test_synthetic_speed(void)
{
    int clip[4] = {16, 112, 112, 3};
    size_t n = clip_count(clip);
    float *buf = malloc(n * sizeof *buf);
    int reps = test_sanitized() ? 5 : 40;
    synthetic_clip_generate(clip, 10, 1, SPLIT_TRAIN, 0, buf); /* fault the pages in */
    double start = now_seconds();
    for (int i = 0; i < reps; i++) synthetic_clip_generate(clip, 10, 1, SPLIT_TRAIN, i, buf);
    double generate = (now_seconds() - start) / reps;
    start = now_seconds();
    for (int i = 0; i < reps; i++) normalize_apply(NORMALIZE_STANDARDIZE, clip, buf);
    double normalize = (now_seconds() - start) / reps;
    printf("  timing: one 16x112x112x3 synthetic clip in %.2f ms on one core; standardize %.2f ms%s\n",
           generate * 1e3, normalize * 1e3, test_sanitized() ? " (sanitized build)" : "");
    free(buf);
}

/* ---- normalization ------------------------------------------------------- */

static void test_normalization(void)
{
    CHECK(strcmp(normalize_name(NORMALIZE_PER_IMAGE), "per_image") == 0, "per_image name");
    static const char *names[] = {"none", "scale", "standardize", "per_image"};
    for (int i = 0; i < 4; i++) {
        normalize_kind kind = NORMALIZE_NONE;
        CHECK(normalize_parse(names[i], &kind) == 0 && kind == (normalize_kind)i &&
              strcmp(normalize_name(kind), names[i]) == 0, "normalize round trip of %s", names[i]);
    }
    normalize_kind kind;
    CHECK(normalize_parse("Standardize", &kind) == -1 && normalize_parse("", &kind) == -1,
          "unknown normalize names accepted");

    /* A clip with varying frames, the last of them nearly constant. */
    int clip[4] = {3, 5, 4, 2};
    size_t n = clip_count(clip), frame = n / 3;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    rng r;
    rng_seed(&r, 99, 0);
    for (size_t i = 0; i < n; i++)
        x[i] = i < 2 * frame ? (float)rng_below(&r, 256) : 100.0f + (i % 2) * 0.001f;

    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_NONE, clip, y);
    CHECK(memcmp(x, y, n * sizeof *x) == 0, "none changed values");

    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_SCALE, clip, y);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += y[i] != x[i] * (float)(1.0 / 255.0);
    CHECK(bad == 0, "scale differs from x * float32(1/255) in %d values", bad);

    /* standardize against a long double reference over the whole clip */
    long double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += x[i];
    long double mean = sum / n;
    for (size_t i = 0; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
    long double sd = sqrtl(sq / n);
    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_STANDARDIZE, clip, y);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)(y[i] - (x[i] - mean) / sd)));
    CHECK(worst < 1e-6, "standardize off the reference by %g", worst);

    /* per_image: frame by frame; the nearly constant frame has std 0.0005,
     * below 1/sqrt(40), so it is divided by the floor instead. */
    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_PER_IMAGE, clip, y);
    worst = 0;
    for (int t = 0; t < 3; t++) {
        const float *xf = x + t * frame;
        long double s = 0, q = 0;
        for (size_t i = 0; i < frame; i++) s += xf[i];
        long double m = s / frame;
        for (size_t i = 0; i < frame; i++) q += (xf[i] - m) * (xf[i] - m);
        long double dev = sqrtl(q / frame), floor_std = 1.0L / sqrtl(frame);
        if (t == 2) CHECK(dev < floor_std, "fixture: frame 2 is not below the floor");
        long double div = dev > floor_std ? dev : floor_std;
        for (size_t i = 0; i < frame; i++)
            worst = fmax(worst, fabs((double)(y[t * frame + i] - (xf[i] - m) / div)));
    }
    CHECK(worst < 1e-5, "per_image off the per-frame reference by %g", worst);

    /* A constant clip: the point of offering "standardize" at all. */
    for (size_t i = 0; i < n; i++) x[i] = 0.1f; /* not a whole number on purpose */
    int expect_nan = 0, expect_zero = 0, expect_scaled = 0, expect_same = 0;
    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_STANDARDIZE, clip, y);
    for (size_t i = 0; i < n; i++) expect_nan += isnan(y[i]) != 0;
    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_PER_IMAGE, clip, y);
    for (size_t i = 0; i < n; i++) expect_zero += y[i] == 0.0f;
    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_SCALE, clip, y);
    for (size_t i = 0; i < n; i++) expect_scaled += y[i] == 0.1f * (float)(1.0 / 255.0);
    memcpy(y, x, n * sizeof *x);
    normalize_apply(NORMALIZE_NONE, clip, y);
    for (size_t i = 0; i < n; i++) expect_same += y[i] == 0.1f;
    CHECK(expect_nan == (int)n, "constant clip, standardize: %d of %zu NaN (expected all: 0/0)",
          expect_nan, n);
    CHECK(expect_zero == (int)n, "constant clip, per_image: %d of %zu zero (expected all)",
          expect_zero, n);
    CHECK(expect_scaled == (int)n, "constant clip, scale: %d of %zu scaled", expect_scaled, n);
    CHECK(expect_same == (int)n, "constant clip, none: %d of %zu unchanged", expect_same, n);
    free(x);
    free(y);
}

/* ---- .npy ----------------------------------------------------------------- */

static void test_npy_format(void)
{
    const char *dir = case_dir("format");
    int64_t shape[3] = {3, 1, 2};
    float data[6] = {1.5f, -2.0f, NAN, INFINITY, 0.0f, 7.25f};
    for (int version = 1; version <= 3; version++) {
        const char *path = file_in(dir, "a.npy");
        error err;
        CHECK(npy_write(path, "<f4", 3, shape, data, version, &err) == 0, "write v%d", version);
        npy_array a;
        CHECK(npy_open(&a, path, NULL, &err) == 0, "open v%d: %s", version, err.message);
        if (a.map) {
            CHECK(a.version == version && a.rank == 3 && a.shape[0] == 3 && a.shape[2] == 2 &&
                  a.count == 6 && a.kind == 'f' && a.item_size == 4 && strcmp(a.descr, "<f4") == 0,
                  "v%d header read back wrong", version);
            CHECK((a.data - (const unsigned char *)a.map) % 64 == 0, "v%d data not 64-aligned",
                  version);
            CHECK(memcmp(a.data, data, sizeof data) == 0, "v%d data differs", version);
            CHECK(npy_row_bytes(&a) == 8 && strcmp(npy_type_name(&a), "float32") == 0,
                  "row bytes / type name");
            npy_close(&a);
        }
    }
    char text[64];
    int64_t one[1] = {10}, none[1] = {0};
    npy_shape_format(1, one, text, sizeof text);
    CHECK(strcmp(text, "(10,)") == 0, "1-axis shape printed as %s", text);
    npy_shape_format(0, none, text, sizeof text);
    CHECK(strcmp(text, "()") == 0, "0-axis shape printed as %s", text);

    /* Header variations NumPy (or Python 2 NumPy) writes. */
    const char *path = file_in(dir, "b.npy");
    npy_array a;
    error err;
    write_npy_raw(path, 1, "{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"|u1\"}", 6);
    CHECK(npy_open(&a, path, NULL, &err) == 0 && a.rank == 2 && a.shape[1] == 3,
          "keys in another order, double quotes, 2L: %s", err.message);
    npy_close(&a);
    write_npy_raw(path, 2, "{'descr': '<i8', 'fortran_order': True, 'shape': (4,), }", 32);
    CHECK(npy_open(&a, path, NULL, &err) == 0 && a.count == 4,
          "1-axis fortran_order True is the same layout: %s", err.message);
    npy_close(&a);
    write_npy_raw(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8);
    CHECK(npy_open(&a, path, NULL, &err) == 0 && a.rank == 0 && a.count == 1, "scalar: %s",
          err.message);
    npy_close(&a);
}

/* uint8 clips, v1, no val files: the hold-out rule. */
static void test_npy_roundtrip_uint8(void)
{
    const char *dir = case_dir("roundtrip_u8");
    int clip[4] = {2, 3, 5, 2};
    int64_t shape[5] = {7, 2, 3, 5, 2};
    size_t per = clip_count(clip), n = 7 * per;
    unsigned char *bytes = malloc(n);
    rng r;
    rng_seed(&r, 5, 0);
    for (size_t i = 0; i < n; i++) bytes[i] = (unsigned char)rng_below(&r, 256);
    uint8_t labels[7] = {0, 1, 2, 3, 4, 0, 4};
    int64_t label_shape[1] = {7};
    write_npy(dir, "train_clips.npy", "|u1", 5, shape, bytes, 1);
    write_npy(dir, "train_labels.npy", "|u1", 1, label_shape, labels, 1);

    dataset_config config = npy_config(dir, 5);
    config.val_clips = 2;
    dataset *d;
    error err;
    int ok = dataset_open(&d, &config, &err) == 0;
    CHECK(ok, "open uint8 v1: %s", err.message);
    if (ok) {
        int served[4];
        dataset_clip_shape(d, served);
        CHECK(memcmp(served, clip, sizeof clip) == 0, "clip shape not taken from the file");
        CHECK(dataset_size(d, SPLIT_TRAIN) == 5 && dataset_size(d, SPLIT_VALIDATION) == 2,
              "hold-out sizes %ld / %ld (expected 5 / 2)", dataset_size(d, SPLIT_TRAIN),
              dataset_size(d, SPLIT_VALIDATION));
        float *out = malloc(5 * per * sizeof *out);
        int got[5];
        long ids[5] = {4, 0, 2, 1, 3};
        CHECK(dataset_read_batch(d, SPLIT_TRAIN, ids, 5, out, got, &err) == 0, "%s", err.message);
        int bad = 0;
        for (int k = 0; k < 5; k++) {
            for (size_t i = 0; i < per; i++) bad += out[k * per + i] != (float)bytes[ids[k] * per + i];
            bad += got[k] != labels[ids[k]];
        }
        CHECK(bad == 0, "uint8 train clips/labels read back wrong in %d places", bad);
        long val_ids[2] = {1, 0};
        CHECK(dataset_read_batch(d, SPLIT_VALIDATION, val_ids, 2, out, got, &err) == 0, "%s",
              err.message);
        bad = 0;
        for (int k = 0; k < 2; k++) {
            long row = 5 + val_ids[k];
            for (size_t i = 0; i < per; i++) bad += out[k * per + i] != (float)bytes[row * per + i];
            bad += got[k] != labels[row];
        }
        CHECK(bad == 0, "validation is not the last 2 rows of train_clips.npy (%d wrong)", bad);
        long beyond[1] = {2};
        CHECK(dataset_read_batch(d, SPLIT_VALIDATION, beyond, 1, out, got, &err) == -1,
              "validation id 2 of 2 accepted");
        CHECK(strstr(dataset_describe(d), "last 2") != NULL, "describe: %s", dataset_describe(d));
        free(out);
        dataset_close(d);
    }

    /* train_clips caps the training split from the start; shape given. */
    config.train_clips = 3;
    config.val_clips = 0;
    memcpy(config.clip, clip, sizeof clip);
    ok = dataset_open(&d, &config, &err) == 0;
    CHECK(ok, "open with train_clips = 3: %s", err.message);
    if (ok) {
        CHECK(dataset_size(d, SPLIT_TRAIN) == 3 && dataset_size(d, SPLIT_VALIDATION) == 0,
              "capped sizes %ld / %ld", dataset_size(d, SPLIT_TRAIN), dataset_size(d, SPLIT_VALIDATION));
        dataset_close(d);
    }

    /* A constant clip through the whole path, every normalization. */
    memset(bytes, 7, per);
    write_npy(dir, "train_clips.npy", "|u1", 5, shape, bytes, 1);
    static const normalize_kind kinds[4] = {NORMALIZE_NONE, NORMALIZE_SCALE, NORMALIZE_STANDARDIZE,
                                            NORMALIZE_PER_IMAGE};
    float *out = malloc(per * sizeof *out);
    for (int k = 0; k < 4; k++) {
        dataset_config c = npy_config(dir, 5);
        c.normalize = kinds[k];
        if (dataset_open(&d, &c, &err) < 0) {
            CHECK(0, "open for %s: %s", normalize_name(kinds[k]), err.message);
            continue;
        }
        long id[1] = {0};
        dataset_read_batch(d, SPLIT_TRAIN, id, 1, out, NULL, &err);
        int match = 0;
        for (size_t i = 0; i < per; i++) {
            float v = out[i];
            match += kinds[k] == NORMALIZE_NONE        ? v == 7.0f
                     : kinds[k] == NORMALIZE_SCALE     ? v == 7.0f * (float)(1.0 / 255.0)
                     : kinds[k] == NORMALIZE_STANDARDIZE ? isnan(v) != 0
                                                         : v == 0.0f;
        }
        CHECK(match == (int)per, "constant uint8 clip through %s: %d of %zu as expected",
              normalize_name(kinds[k]), match, per);
        dataset_close(d);
    }
    free(out);
    free(bytes);
}

/* float32 clips (v2) with NaN/Inf inside, explicit val files (v3, uint8),
 * every integer label dtype. */
static void test_npy_roundtrip_float(void)
{
    const char *dir = case_dir("roundtrip_f32");
    int clip[4] = {1, 2, 2, 3};
    size_t per = clip_count(clip);
    int64_t shape[5] = {4, 1, 2, 2, 3};
    float values[48];
    for (int i = 0; i < 48; i++) values[i] = (float)i * 0.37f - 5.0f;
    values[3] = NAN;
    values[20] = INFINITY;
    values[21] = -INFINITY;
    int32_t labels[4] = {1, 0, 1, 1};
    int64_t four[1] = {4}, two[1] = {2};
    write_npy(dir, "train_clips.npy", "<f4", 5, shape, values, 2);
    write_npy(dir, "train_labels.npy", "<i4", 1, four, labels, 2);
    int64_t val_shape[5] = {2, 1, 2, 2, 3};
    unsigned char val_bytes[24];
    for (int i = 0; i < 24; i++) val_bytes[i] = (unsigned char)(200 + i);
    uint16_t val_labels[2] = {1, 0};
    write_npy(dir, "val_clips.npy", "|u1", 5, val_shape, val_bytes, 3);
    write_npy(dir, "val_labels.npy", "<u2", 1, two, val_labels, 3);

    dataset_config config = npy_config(dir, 1); /* binary */
    config.val_clips = 5;                        /* more than there are: all */
    memcpy(config.clip, clip, sizeof clip);
    dataset *d;
    error err;
    int ok = dataset_open(&d, &config, &err) == 0;
    CHECK(ok, "open float32 v2 + val v3: %s", err.message);
    if (!ok) return;
    CHECK(dataset_size(d, SPLIT_TRAIN) == 4 && dataset_size(d, SPLIT_VALIDATION) == 2,
          "sizes %ld / %ld", dataset_size(d, SPLIT_TRAIN), dataset_size(d, SPLIT_VALIDATION));
    float out[48];
    int got[4];
    long ids[4] = {0, 1, 2, 3};
    CHECK(dataset_read_batch(d, SPLIT_TRAIN, ids, 4, out, got, &err) == 0, "%s", err.message);
    CHECK(memcmp(out, values, sizeof values) == 0, "float32 clips (with NaN/Inf) not passed through bit for bit");
    CHECK(got[0] == 1 && got[1] == 0 && got[3] == 1, "int32 labels");
    CHECK(dataset_read_batch(d, SPLIT_VALIDATION, ids, 2, out, got, &err) == 0, "%s", err.message);
    int bad = 0;
    for (size_t i = 0; i < 2 * per; i++) bad += out[i] != (float)val_bytes[i];
    CHECK(bad == 0 && got[0] == 1 && got[1] == 0, "val_clips.npy read back wrong");
    dataset_close(d);

    /* Standardizing a clip holding NaN gives NaN, never a crash or an error. */
    config.normalize = NORMALIZE_STANDARDIZE;
    if (dataset_open(&d, &config, &err) == 0) {
        long id[1] = {0};
        CHECK(dataset_read_batch(d, SPLIT_TRAIN, id, 1, out, NULL, &err) == 0, "NaN clip read");
        int nans = 0;
        for (size_t i = 0; i < per; i++) nans += isnan(out[i]) != 0;
        CHECK(nans == (int)per, "standardize of a clip with NaN: %d of %zu NaN", nans, per);
        dataset_close(d);
    }

    /* float64 and uint16 clips are accepted and converted. */
    const char *wide = case_dir("roundtrip_wide");
    double doubles[48];
    uint16_t shorts[48];
    for (int i = 0; i < 48; i++) {
        doubles[i] = i * 0.25 - 3.0;
        shorts[i] = (uint16_t)(i * 1000);
    }
    int64_t label_store[4] = {0, 1, 0, 1};
    write_npy(wide, "train_labels.npy", "<i8", 1, four, label_store, 1);
    static const char *descrs[2] = {"<f8", "<u2"};
    for (int k = 0; k < 2; k++) {
        write_npy(wide, "train_clips.npy", descrs[k], 5, shape, k == 0 ? (void *)doubles : (void *)shorts, 1);
        dataset_config c = npy_config(wide, 2);
        if (dataset_open(&d, &c, &err) < 0) {
            CHECK(0, "open %s clips: %s", descrs[k], err.message);
            continue;
        }
        dataset_read_batch(d, SPLIT_TRAIN, ids, 4, out, NULL, &err);
        bad = 0;
        for (int i = 0; i < 48; i++) bad += out[i] != (k == 0 ? (float)doubles[i] : (float)shorts[i]);
        CHECK(bad == 0, "%s clips converted wrong in %d values", descrs[k], bad);
        dataset_close(d);
    }

    /* Every integer label dtype (and bool). */
    write_npy(wide, "train_clips.npy", "<f4", 5, shape, values, 1);
    static const char *label_descrs[] = {"|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "|b1"};
    for (size_t k = 0; k < sizeof label_descrs / sizeof label_descrs[0]; k++) {
        unsigned char raw[32] = {0};
        int size = label_descrs[k][2] - '0';
        int want[4] = {1, 0, 1, 1};
        for (int i = 0; i < 4; i++) raw[i * size] = (unsigned char)want[i];
        write_npy(wide, "train_labels.npy", label_descrs[k], 1, four, raw, 1);
        dataset_config c = npy_config(wide, 2);
        if (dataset_open(&d, &c, &err) < 0) {
            CHECK(0, "labels %s: %s", label_descrs[k], err.message);
            continue;
        }
        dataset_read_batch(d, SPLIT_TRAIN, ids, 4, NULL, got, &err);
        CHECK(got[0] == 1 && got[1] == 0 && got[2] == 1 && got[3] == 1, "labels %s read wrong",
              label_descrs[k]);
        dataset_close(d);
    }
}

static void test_npy_bad_inputs(void)
{
    char path[700];
    size_t size = 0;
    unsigned char *good;
    dataset_config c;
    int64_t shape4[4] = {VALID_N, 2, 4, 4}, label_shape[1] = {VALID_N};

    const char *dir = valid_dir("valid");
    c = npy_config(dir, 3);
    dataset *d;
    error err;
    CHECK(dataset_open(&d, &c, &err) == 0, "the valid base fails: %s", err.message);
    if (d) dataset_close(d);

    dir = valid_dir("truncated_data");
    snprintf(path, sizeof path, "%s/train_clips.npy", dir);
    good = (unsigned char *)test_read_file(path, &size);
    CHECK(good != NULL && size > 200, "fixture %s unreadable", path);
    if (!good) return;
    test_write_file(path, good, size - 100);
    c = npy_config(dir, 3);
    expect_open_failure("truncated data", &c, "train_clips.npy: truncated", "10 clips of 96 bytes");

    dir = valid_dir("trailing_data");
    test_write_file(file_in(dir, "train_clips.npy"), good, size);
    FILE *f = fopen(file_in(dir, "train_clips.npy"), "ab");
    fputs("junk", f);
    fclose(f);
    c = npy_config(dir, 3);
    expect_open_failure("trailing bytes", &c, "train_clips.npy", "4 more than expected");

    dir = valid_dir("truncated_header");
    test_write_file(file_in(dir, "train_clips.npy"), good, 40);
    c = npy_config(dir, 3);
    expect_open_failure("truncated header", &c, "train_clips.npy: truncated header", NULL);

    dir = valid_dir("truncated_magic");
    test_write_file(file_in(dir, "train_clips.npy"), good, 4);
    c = npy_config(dir, 3);
    expect_open_failure("file of 4 bytes", &c, "train_clips.npy: truncated header", NULL);

    dir = valid_dir("truncated_length");
    test_write_file(file_in(dir, "train_clips.npy"), good, 9);
    c = npy_config(dir, 3);
    expect_open_failure("file ends in the length", &c, "train_clips.npy: truncated header", NULL);

    dir = valid_dir("bad_magic");
    memcpy(good, "PK\003\004ZZ", 6);
    test_write_file(file_in(dir, "train_clips.npy"), good, size);
    c = npy_config(dir, 3);
    expect_open_failure("bad magic", &c, "train_clips.npy: not a .npy file", "\\x93NUMPY");
    memcpy(good, "\x93NUMPY", 6);

    dir = valid_dir("bad_version");
    good[6] = 4;
    test_write_file(file_in(dir, "train_clips.npy"), good, size);
    good[6] = 1;
    c = npy_config(dir, 3);
    expect_open_failure("version 4.0", &c, "train_clips.npy", "version 4.0 is not supported");

    dir = valid_dir("empty_file");
    test_write_file(file_in(dir, "train_clips.npy"), good, 0);
    c = npy_config(dir, 3);
    expect_open_failure("empty file", &c, "train_clips.npy", "empty");

    dir = valid_dir("dtype_int16");
    write_npy_raw(file_in(dir, "train_clips.npy"), 1,
                  "{'descr': '<i2', 'fortran_order': False, 'shape': (10, 2, 4, 4, 3), }", 10 * 96 * 2);
    c = npy_config(dir, 3);
    expect_open_failure("unsupported dtype", &c, "train_clips.npy: dtype '<i2' (int16) is not supported",
                        "expected uint8 or float32");

    dir = valid_dir("big_endian");
    write_npy_raw(file_in(dir, "train_clips.npy"), 1,
                  "{'descr': '>f4', 'fortran_order': False, 'shape': (10, 2, 4, 4, 3), }", 10 * 96 * 4);
    c = npy_config(dir, 3);
    expect_open_failure("big-endian", &c, "train_clips.npy: dtype '>f4' is big-endian", "'<f4'");

    dir = valid_dir("fortran");
    write_npy_raw(file_in(dir, "train_clips.npy"), 1,
                  "{'descr': '|u1', 'fortran_order': True, 'shape': (10, 2, 4, 4, 3), }", 10 * 96);
    c = npy_config(dir, 3);
    expect_open_failure("fortran_order True", &c, "train_clips.npy: fortran_order is True", NULL);

    dir = valid_dir("structured");
    write_npy_raw(file_in(dir, "train_clips.npy"), 1,
                  "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (10,), }", 40);
    c = npy_config(dir, 3);
    expect_open_failure("structured dtype", &c, "train_clips.npy: structured", NULL);

    dir = valid_dir("missing_key");
    write_npy_raw(file_in(dir, "train_clips.npy"), 2, "{'descr': '|u1', 'fortran_order': False}", 0);
    c = npy_config(dir, 3);
    expect_open_failure("header without shape", &c, "train_clips.npy", "missing key 'shape'");

    dir = valid_dir("garbage_header");
    write_npy_raw(file_in(dir, "train_clips.npy"), 1, "{'descr': '|u1', 'shape': (10, 2; 4)}", 0);
    c = npy_config(dir, 3);
    expect_open_failure("garbage in the shape", &c, "train_clips.npy: malformed .npy header", NULL);

    dir = valid_dir("extra_key");
    write_npy_raw(file_in(dir, "train_clips.npy"), 1,
                  "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 1, 1, 1, 1), 'x': 1}", 0);
    c = npy_config(dir, 3);
    expect_open_failure("unknown key", &c, "train_clips.npy", "'x'");

    dir = valid_dir("header_overrun");
    {
        unsigned char bytes[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0x7f, '{', '}', ' ', '\n'};
        test_write_file(file_in(dir, "train_clips.npy"), bytes, sizeof bytes);
    }
    c = npy_config(dir, 3);
    expect_open_failure("header length past the end", &c, "train_clips.npy: truncated header", NULL);

    dir = valid_dir("four_axes");
    {
        unsigned char *bytes = calloc(VALID_N * 32, 1);
        write_npy(dir, "train_clips.npy", "|u1", 4, shape4, bytes, 1);
        free(bytes);
    }
    c = npy_config(dir, 3);
    expect_open_failure("four axes", &c, "train_clips.npy: shape (10, 2, 4, 4) has 4 axes",
                        "(N, D, H, W, C)");

    dir = valid_dir("shape_mismatch");
    c = npy_config(dir, 3);
    c.clip[0] = 2, c.clip[1] = 4, c.clip[2] = 5, c.clip[3] = 3;
    expect_open_failure("clip shape mismatch", &c, "train_clips.npy: clips are (2, 4, 4, 3)",
                        "configured clip shape is (2, 4, 5, 3)");

    dir = valid_dir("no_clips");
    {
        int64_t empty[5] = {0, 2, 4, 4, 3}, zero[1] = {0};
        write_npy(dir, "train_clips.npy", "|u1", 5, empty, NULL, 1);
        write_npy(dir, "train_labels.npy", "<i8", 1, zero, NULL, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("zero clips", &c, "train_clips.npy: holds no clips", NULL);

    dir = valid_dir("val_shape");
    {
        int64_t val_shape[5] = {2, 2, 4, 4, 1}, two[1] = {2};
        unsigned char bytes[64] = {0};
        int64_t labels[2] = {0, 1};
        write_npy(dir, "val_clips.npy", "|u1", 5, val_shape, bytes, 1);
        write_npy(dir, "val_labels.npy", "<i8", 1, two, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("val clip shape mismatch", &c, "val_clips.npy: clips are (2, 4, 4, 1)",
                        "train_clips.npy holds (2, 4, 4, 3)");

    dir = valid_dir("val_alone");
    {
        unsigned char bytes[96] = {0};
        int64_t one_clip[5] = {1, 2, 4, 4, 3};
        write_npy(dir, "val_clips.npy", "|u1", 5, one_clip, bytes, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("val_clips without val_labels", &c, "val_clips.npy exists",
                        "val_labels.npy does not");

    dir = valid_dir("holdout_too_big");
    c = npy_config(dir, 3);
    c.val_clips = VALID_N;
    expect_open_failure("hold-out of every clip", &c, "train_clips.npy: holds 10 clips",
                        "val_clips < 10");

    /* Labels */
    dir = valid_dir("label_range");
    {
        int64_t labels[VALID_N] = {0, 1, 2, 3, 4, 12, 0, 1, 2, 3};
        write_npy(dir, "train_labels.npy", "<i8", 1, label_shape, labels, 1);
    }
    c = npy_config(dir, 10);
    expect_open_failure("label 12 of 10 classes", &c,
                        "train_labels.npy: label 12 at index 5 is out of range [0, 10)", NULL);

    dir = valid_dir("label_negative");
    {
        int8_t labels[VALID_N] = {0, 1, 2, -1, 0, 1, 2, 0, 1, 2};
        write_npy(dir, "train_labels.npy", "|i1", 1, label_shape, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("negative label", &c, "train_labels.npy: label -1 at index 3", "[0, 3)");

    dir = valid_dir("label_binary");
    {
        uint8_t labels[VALID_N] = {0, 1, 1, 0, 2, 1, 0, 0, 1, 1};
        write_npy(dir, "train_labels.npy", "|u1", 1, label_shape, labels, 1);
    }
    c = npy_config(dir, 1);
    expect_open_failure("label 2 with binary labels", &c, "train_labels.npy: label 2 at index 4",
                        "binary labels 0/1");

    dir = valid_dir("label_huge");
    {
        uint64_t labels[VALID_N] = {0, 1, 2, 0, 1, 2, 0, 1, UINT64_MAX, 0};
        write_npy(dir, "train_labels.npy", "<u8", 1, label_shape, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("uint64 label 2^64-1", &c, "train_labels.npy: label 18446744073709551615",
                        "index 8");

    dir = valid_dir("label_count");
    {
        int64_t nine[1] = {9}, labels[9] = {0};
        write_npy(dir, "train_labels.npy", "<i8", 1, nine, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("9 labels for 10 clips", &c, "train_labels.npy holds 9 labels",
                        "train_clips.npy holds 10 clips");

    dir = valid_dir("label_float");
    {
        float labels[VALID_N] = {0};
        write_npy(dir, "train_labels.npy", "<f4", 1, label_shape, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("float labels", &c, "train_labels.npy: dtype '<f4' (float32) is not supported",
                        "integer");

    dir = valid_dir("label_onehot");
    {
        int64_t onehot_shape[2] = {VALID_N, 3};
        unsigned char labels[VALID_N * 3] = {0};
        write_npy(dir, "train_labels.npy", "|u1", 2, onehot_shape, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("one-hot labels", &c, "train_labels.npy: shape (10, 3) has 2 axes", "argmax");

    dir = valid_dir("val_label_range");
    {
        int64_t val_shape[5] = {2, 2, 4, 4, 3}, two[1] = {2};
        unsigned char bytes[192] = {0};
        int64_t labels[2] = {0, 3};
        write_npy(dir, "val_clips.npy", "|u1", 5, val_shape, bytes, 1);
        write_npy(dir, "val_labels.npy", "<i8", 1, two, labels, 1);
    }
    c = npy_config(dir, 3);
    expect_open_failure("validation label 3 of 3 classes", &c,
                        "val_labels.npy: label 3 at index 1 is out of range [0, 3)", NULL);

    /* Directory and files */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/does-not-exist", test_root);
    c = npy_config(missing, 3);
    expect_open_failure("missing directory", &c, "does-not-exist: no such directory", NULL);

    dir = valid_dir("plain_file");
    c = npy_config(file_in(dir, "train_labels.npy"), 3);
    expect_open_failure("source is a file", &c, "train_labels.npy: not a directory", NULL);

    dir = valid_dir("no_train_clips");
    unlink(file_in(dir, "train_clips.npy"));
    c = npy_config(dir, 3);
    expect_open_failure("missing train_clips.npy", &c, "train_clips.npy: no such file", NULL);

    dir = valid_dir("no_train_labels");
    unlink(file_in(dir, "train_labels.npy"));
    c = npy_config(dir, 3);
    expect_open_failure("missing train_labels.npy", &c, "train_labels.npy: no such file", NULL);

    dir = valid_dir("clips_is_dir");
    unlink(file_in(dir, "train_clips.npy"));
    mkdir(file_in(dir, "train_clips.npy"), 0700);
    c = npy_config(dir, 3);
    expect_open_failure("train_clips.npy is a directory", &c, "train_clips.npy: not a regular file", NULL);

    /* Configuration */
    dir = valid_dir("config");
    c = npy_config(dir, 0);
    expect_open_failure("classes 0", &c, "classes = 0", NULL);
    c = npy_config(dir, 3);
    c.clip[1] = 4;
    expect_open_failure("partial clip shape", &c, "(0, 4, 0, 0)", "all four");
    c = npy_config(dir, 3);
    c.train_clips = -1;
    expect_open_failure("negative train_clips", &c, "train_clips = -1", NULL);
    c = npy_config("synthetic", 3);
    c.train_clips = 10;
    expect_open_failure("synthetic without a clip shape", &c, "synthetic", "clip shape");
    c = npy_config("synthetic", 3);
    c.clip[0] = 1, c.clip[1] = 2, c.clip[2] = 2, c.clip[3] = 1;
    expect_open_failure("synthetic without clips", &c, "synthetic", "train_clips >= 1");
    free(good);
}

int main(void)
{
    if (test_temp_dir(test_root, sizeof test_root, "test-data")) {
        perror("mkdtemp");
        return 1;
    }
    test_synthetic_determinism();
    test_synthetic_shapes();
    test_synthetic_balance();
    test_synthetic_learnable();
    test_synthetic_speed();
    test_normalization();
    test_npy_format();
    test_npy_roundtrip_uint8();
    test_npy_roundtrip_float();
    test_npy_bad_inputs();
    test_remove_tree(test_root);
    return test_finish();
}
