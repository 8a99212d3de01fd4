/* fuzz_npy.c: the .npy parser and the .npy dataset source.
 *
 * The first byte picks the file the rest of the input becomes:
 * train_clips.npy (even) or train_labels.npy (odd); the other file is a
 * valid one for 4 clips of 2x4x4x1.  A file that opens must serve every
 * clip of both splits. */
#include "fuzz.h"

#include "dataset.h"
#include "npy.h"

static void write_valid(const char *dir, int clips_file)
{
    char path[256];
    error err;
    if (clips_file) {
        static unsigned char clips[4 * 2 * 4 * 4];
        const int64_t shape[5] = {4, 2, 4, 4, 1};
        snprintf(path, sizeof path, "%s/train_clips.npy", dir);
        npy_write(path, "|u1", 5, shape, clips, 1, &err);
    } else {
        const int64_t labels[4] = {0, 1, 2, 1}, shape[1] = {4};
        snprintf(path, sizeof path, "%s/train_labels.npy", dir);
        npy_write(path, "<i8", 1, shape, labels, 1, &err);
    }
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *dir = fuzz_scratch("npy");
    int fuzz_labels = data[0] & 1;
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, fuzz_labels ? "train_labels.npy" : "train_clips.npy");
    if (test_write_file(path, data + 1, size - 1)) return 0;
    write_valid(dir, fuzz_labels);

    npy_array a;
    error err;
    if (npy_open(&a, path, "rows", &err) == 0) {
        /* The header's promise: count x item_size bytes are there to read. */
        unsigned char probe[64];
        size_t total = a.count * (size_t)a.item_size, n = total < sizeof probe ? total : sizeof probe;
        if (n && npy_read_data(&a, total - n, probe, n, &err)) abort();
        npy_close(&a);
    }
    dataset_config config = {.source = dir, .classes = 3, .train_clips = 0, .val_clips = 1, .seed = 1,
                             .normalize = NORMALIZE_STANDARDIZE};
    dataset *d = NULL;
    if (dataset_open(&d, &config, &err) == 0) {
        int clip[4];
        dataset_clip_shape(d, clip);
        size_t values = (size_t)clip[0] * clip[1] * clip[2] * clip[3];
        if (values <= (1u << 20)) {
            float *out = malloc(values * sizeof *out);
            for (int s = 0; s < 2 && out; s++)
                for (long id = 0; id < dataset_size(d, (dataset_split)s) && id < 8; id++) {
                    int label;
                    if (dataset_read_batch(d, (dataset_split)s, &id, 1, out, &label, &err)) abort();
                }
            free(out);
        }
        dataset_close(d);
    }
    return 0;
}
