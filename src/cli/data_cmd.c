/* data_cmd.c: `nanprobe data DIR [data options]`: what a video dataset
 * holds before anyone trains on it: classes and their counts, durations,
 * resolutions, frame rates and codecs, the files that cannot be decoded and
 * why, and a contact sheet PNG of a few training clips exactly as the
 * network would see them (resize, crop and --normalize applied).
 *
 * Bad files never stop the listing (the dataset is opened as with
 * --skip-bad-videos); without that option the command still exits 1 when
 * there are any, because `train` would stop on them. */
#include "data_cmd.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "contact_sheet.h"
#include "dataset.h"
#include "commands.h"
#include "options.h"
#include "printable.h"
#include "video_index.h"
#include "video_source.h"

static const char *const normalize_choices[] = {"none", "scale", "standardize", "per_image", NULL};

typedef struct data_cli {
    int clip[4], classes, normalize, files, sheet_clips, skip_bad;
    long train_clips, val_clips, seed;
    const char *resize, *sheet, *train_list, *val_list;
    int split, frame_step;
} data_cli;

#define D(member) offsetof(data_cli, member)
#define NA ON_RESUME_NA
const option_spec data_option_specs[] = {
    {"--clip", NULL, OPTION_CLIP, D(clip), "DxHxWxC", "16x112x112x3", "clip shape", 0, 0, NULL, NA, NULL},
    {"--classes", NULL, OPTION_INT, D(classes), "N", NULL, "expected classes (default: as found)", 0, 100000, NULL, NA, NULL},
    {"--normalize", NULL, OPTION_CHOICE, D(normalize), "KIND", "scale", "input scaling: none, scale (x/255), standardize, per_image", 0, 0, normalize_choices, NA, NULL},
    {"--seed", NULL, OPTION_LONG, D(seed), "N", "1", "seed of the training crops", 0, 9.2e18, NULL, NA, NULL},
    {"--train-clips", NULL, OPTION_LONG, D(train_clips), "N", NULL, "at most N training videos (default all)", 0, 1e18, NULL, NA, NULL},
    {"--val-clips", NULL, OPTION_LONG, D(val_clips), "N", "64", "videos held out without a validation list", 0, 1e18, NULL, NA, NULL},
    {"--split", NULL, OPTION_INT, D(split), "N", NULL, "UCF101 split files classInd.txt, trainlist0N.txt, testlist0N.txt", 1, 99, NULL, NA, NULL},
    {"--train-list", NULL, OPTION_STRING, D(train_list), "FILE", NULL, "lines of 'relative/path label'", 0, 0, NULL, NA, NULL},
    {"--val-list", NULL, OPTION_STRING, D(val_list), "FILE", NULL, "validation videos, same format", 0, 0, NULL, NA, NULL},
    {"--resize", NULL, OPTION_STRING, D(resize), "HxW", NULL, "frame size before the crop (default 128x171, C3D's)", 0, 0, NULL, NA, NULL},
    {"--frame-step", NULL, OPTION_INT, D(frame_step), "K", "1", "take every K-th frame", 1, 1000, NULL, NA, NULL},
    {"--skip-bad-videos", NULL, OPTION_FLAG, D(skip_bad), NULL, NULL, "bad files are listed but not an error", 0, 0, NULL, NA, NULL},
    {"--files", NULL, OPTION_FLAG, D(files), NULL, NULL, "list every video with its frames, size, rate and codec", 0, 0, NULL, NA, NULL},
    {"--out", "-o", OPTION_STRING, D(sheet), "FILE.png", "contact_sheet.png", "the contact sheet to write", 0, 0, NULL, NA, "--sheet"},
    {"--sheet-clips", NULL, OPTION_INT, D(sheet_clips), "N", "4", "clips on the sheet; 0 = no sheet", 0, 64, NULL, NA, NULL},
    {0},
};

/* "HxW" with both sides >= 1; -1 if malformed. */
int data_parse_resize(const char *text, int resize[2])
{
    char *end;
    long h = strtol(text, &end, 10);
    if (end == text || (*end != 'x' && *end != 'X')) return -1;
    const char *w_text = end + 1;
    long w = strtol(w_text, &end, 10);
    if (end == w_text || *end || h < 1 || w < 1 || h > 8192 || w > 8192) return -1;
    resize[0] = (int)h;
    resize[1] = (int)w;
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Distinct "key" strings with counts, in first-seen order. */
typedef struct tally {
    char keys[16][48];
    long counts[16];
    int n;
    long other;
} tally;

static void tally_add(tally *t, const char *key)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->keys[i], key) == 0) {
            t->counts[i]++;
            return;
        }
    if (t->n == 16) {
        t->other++;
        return;
    }
    snprintf(t->keys[t->n], sizeof t->keys[t->n], "%s", key);
    t->counts[t->n++] = 1;
}

static void tally_print(const char *what, const tally *t)
{
    printf("  %-11s", what);
    for (int i = 0; i < t->n; i++) printf("%s %s (%ld)", i ? "," : "", t->keys[i], t->counts[i]);
    if (t->other) printf(", %ld other", t->other);
    printf("\n");
}

static void classes_print(const dataset *d, const video_source *vs)
{
    int classes = video_source_classes(vs);
    printf("classes (%d, indices as Keras: sorted names%s):\n", classes,
           strncmp(video_source_layout(vs), "UCF101", 6) == 0 ? "; here classInd.txt's order" : "");
    for (int c = 0; c < classes; c++) {
        long count[2] = {0, 0};
        for (int s = 0; s < 2; s++)
            for (long i = 0; i < dataset_size(d, (dataset_split)s); i++) {
                int label;
                video_source_video(vs, s, i, NULL, NULL, &label);
                count[s] += label == c;
            }
        char name[512];
        printf("  %4d  %-32s train %6ld  validation %6ld\n", c,
               printable_copy(video_source_class_name(vs, c), name, sizeof name), count[0], count[1]);
    }
}

static void videos_print(const dataset *d, const video_source *vs, int files)
{
    long n = dataset_size(d, SPLIT_TRAIN) + dataset_size(d, SPLIT_VALIDATION);
    double *seconds = malloc((size_t)(n ? n : 1) * sizeof *seconds), total = 0;
    tally sizes = {0}, rates = {0}, codecs = {0};
    long k = 0;
    if (files) printf("videos:\n");
    for (int s = 0; s < 2; s++)
        for (long i = 0; i < dataset_size(d, (dataset_split)s); i++) {
            const char *path;
            const video_info *info;
            int label;
            video_source_video(vs, s, i, &path, &info, &label);
            char key[48];
            snprintf(key, sizeof key, "%dx%d", info->width, info->height);
            tally_add(&sizes, key);
            snprintf(key, sizeof key, "%.4g fps", info->fps);
            tally_add(&rates, key);
            tally_add(&codecs, info->codec);
            if (seconds) seconds[k] = info->seconds;
            k++;
            total += info->seconds;
            char shown[4200], class_shown[512];
            if (files)
                printf("  %-10s %-48s %-20s %5ld frames %4dx%-4d %6.3g fps %7.2f s %s\n", s ? "validation" : "train",
                       printable_copy(path, shown, sizeof shown),
                       printable_copy(video_source_class_name(vs, label), class_shown, sizeof class_shown),
                       info->frames, info->width, info->height, info->fps, info->seconds, info->codec);
        }
    printf("videos: %ld usable, %ld bad\n", n, video_source_bad_count(vs));
    if (seconds && n) {
        qsort(seconds, (size_t)n, sizeof *seconds, compare_doubles);
        printf("  duration    min %.2f s, median %.2f s, max %.2f s, total %.1f s\n", seconds[0], seconds[n / 2],
               seconds[n - 1], total);
    }
    free(seconds);
    tally_print("resolution", &sizes);
    tally_print("frame rate", &rates);
    tally_print("codec", &codecs);
}

static void bad_print(const video_source *vs, int skip)
{
    long n = video_source_bad_count(vs);
    if (!n) return;
    printf("cannot be used (%ld; %s):\n", n, skip ? "skipped with --skip-bad-videos" : "train stops on these unless --skip-bad-videos");
    for (long i = 0; i < n; i++) {
        const char *path, *reason;
        video_problem p;
        video_source_bad(vs, i, &path, &p, &reason);
        char shown[4200], why[1024];
        printf("  %s: %s\n", printable_copy(path, shown, sizeof shown), printable_copy(reason, why, sizeof why));
    }
}

/* The black..white range that shows each normalization whole. */
static void sheet_range(int normalize, double *lo, double *hi)
{
    switch (normalize) {
    case NORMALIZE_NONE: *lo = 0, *hi = 255; break;
    case NORMALIZE_SCALE: *lo = 0, *hi = 1; break;
    default: *lo = -3, *hi = 3; break;
    }
}

/* Training clips of epoch 1 at evenly spaced ids (so the classes vary). */
static int sheet_write(dataset *d, const data_cli *c, error *err)
{
    long n = dataset_size(d, SPLIT_TRAIN);
    int count = c->sheet_clips < n ? c->sheet_clips : (int)n;
    int clip[4];
    dataset_clip_shape(d, clip);
    size_t values = (size_t)clip[0] * clip[1] * clip[2] * clip[3];
    long ids[64];
    for (int i = 0; i < count; i++) ids[i] = (long)(((double)i + 0.5) * (double)n / count);
    float *clips = malloc((size_t)count * values * sizeof *clips);
    video_clip_origin origins[64];
    char captions[64][400];
    const char *caption_ptrs[64];
    if (!clips) return error_set(err, "out of memory for %d contact-sheet clips", count);
    int status = dataset_read_epoch(d, SPLIT_TRAIN, 1, ids, count, clips, NULL, origins, err);
    video_source *vs = dataset_video(d);
    for (int i = 0; status == 0 && i < count; i++) {
        const video_clip_origin *o = &origins[i];
        int label;
        video_source_video(vs, SPLIT_TRAIN, ids[i], NULL, NULL, &label);
        snprintf(captions[i], sizeof captions[i], "%.200s  [%.60s]  frames %d-%d step %d%s  crop %dx%d at %d,%d",
                 o->path, video_source_class_name(vs, label), o->start, o->start + o->span - 1, o->step,
                 o->looped ? " looped" : "", o->crop_h, o->crop_w, o->crop_y, o->crop_x);
        caption_ptrs[i] = captions[i];
    }
    char title[200], dir[4096];
    double lo, hi;
    sheet_range(c->normalize, &lo, &hi);
    int resize[2];
    video_source_resize(vs, resize);
    snprintf(title, sizeof title, "training clips, epoch 1, seed %ld: resize %dx%d, crop, normalize %s shown as %g .. %g",
             c->seed, resize[0], resize[1], normalize_choices[c->normalize], lo, hi);
    const char *slash = strrchr(c->sheet, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - c->sheet) : 1, slash ? c->sheet : ".");
    if (slash && slash == c->sheet) snprintf(dir, sizeof dir, "/");
    contact_sheet sheet = {.clips = clips, .count = count, .clip = {clip[0], clip[1], clip[2], clip[3]},
                           .captions = caption_ptrs, .lo = lo, .hi = hi, .title = title};
    if (status == 0) status = contact_sheet_write(dir, slash ? slash + 1 : c->sheet, &sheet, err);
    if (status == 0) printf("contact sheet: %s (%d clips: %s)\n", c->sheet, count, title);
    free(clips);
    return status;
}

int data_command(int argc, char **argv)
{
    data_cli c = {0};
    const char *positional[2];
    int positional_count = 0;
    int rc = command_options("data", &c, argc, argv, positional, 2, &positional_count);
    if (rc >= 0) return rc;
    error err;
    if (positional_count != 1) {
        fprintf(stderr, "nanprobe data: expected one dataset directory (nanprobe data DIR [options])\n");
        return 2;
    }
    video_options vo = {.split = c.split, .train_list = c.train_list, .val_list = c.val_list,
                        .frame_step = c.frame_step, .skip_bad = 1};
    if (c.resize && data_parse_resize(c.resize, vo.resize) < 0) {
        fprintf(stderr, "nanprobe data: --resize expects HxW with both sides 1..8192, e.g. 128x171; got '%s'\n", c.resize);
        return 2;
    }
    if (c.sheet_clips > 0 && (!*c.sheet || c.sheet[strlen(c.sheet) - 1] == '/')) {
        fprintf(stderr, "nanprobe data: -o expects a PNG file path, got '%s'\n", c.sheet);
        return 2;
    }
    dataset_config dc = {.source = positional[0], .clip = {c.clip[0], c.clip[1], c.clip[2], c.clip[3]},
                         .classes = c.classes, .train_clips = c.train_clips, .val_clips = c.val_clips,
                         .seed = (uint64_t)c.seed, .normalize = (normalize_kind)c.normalize, .video = &vo};
    dataset *d = NULL;
    if (dataset_open(&d, &dc, &err) < 0) {
        fprintf(stderr, "nanprobe data: %s\n", err.message);
        return 1;
    }
    video_source *vs = dataset_video(d);
    if (!vs) {
        fprintf(stderr, "nanprobe data: %s is not a video dataset (it is: %s)\n", positional[0], dataset_describe(d));
        dataset_close(d);
        return 1;
    }
    printf("%s\n", dataset_describe(d));
    classes_print(d, vs);
    videos_print(d, vs, c.files);
    bad_print(vs, c.skip_bad);
    int status = 0;
    if (c.sheet_clips > 0 && sheet_write(d, &c, &err) < 0) {
        fprintf(stderr, "nanprobe data: contact sheet: %s\n", err.message);
        status = 1;
    }
    if (video_source_bad_count(vs) && !c.skip_bad) {
        fprintf(stderr, "nanprobe data: %ld video(s) cannot be used (listed above); train stops on them unless "
                "--skip-bad-videos\n", video_source_bad_count(vs));
        status = 1;
    }
    dataset_close(d);
    return status;
}

int data_summary_line(const char *dir, int split, char *line, size_t size, int *classes, error *err)
{
    video_index ix;
    video_index_config ic = {.root = dir, .split = split};
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return error_set(err, "--data %s: no such directory", dir);
    if (!video_index_looks_like_videos(dir) && split == 0)
        return error_set(err, "--data %s: not a video dataset (no class folders with videos, no classInd.txt)", dir);
    if (video_index_build(&ix, &ic, err) < 0) return -1;
    snprintf(line, size, "%s: %ld videos in %d classes (%s; %ld train, %ld validation%s)", dir,
             ix.count[0] + ix.count[1], ix.classes, ix.layout, ix.count[0], ix.count[1],
             ix.has_val_list ? "" : " before the --val-clips hold-out");
    *classes = ix.classes;
    video_index_free(&ix);
    return 0;
}

int data_classes_count(const char *dir, int split, const char *train_list, const char *val_list, int *classes,
                       error *err)
{
    video_index ix;
    video_index_config ic = {.root = dir, .split = split, .train_list = train_list, .val_list = val_list};
    if (video_index_build(&ix, &ic, err) < 0) return -1;
    *classes = ix.classes;
    video_index_free(&ix);
    return 0;
}
