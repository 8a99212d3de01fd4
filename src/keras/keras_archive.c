/* keras_archive.c: Keras 3 .keras files, zip archives (saving_lib.py) of
 * metadata.json, config.json and model.weights.h5, read with libzip.
 *
 * libhdf5 reads files, so the weights member is extracted to a private
 * temporary file in $TMPDIR (else /tmp) that has no name while it is
 * written (O_TMPFILE) and one only for the instant HDF5 opens it: a kill
 * leaves nothing behind.  An archive is untrusted (1 MB can inflate to
 * many GB): the member may not exceed what the model config.json describes
 * can hold (weights, moving statistics and Adam's m and v, even in
 * float64, plus room for names), and the extraction stops at that bound. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "keras_h5.h"
#include "keras_source.h"

#define WEIGHTS_MEMBER "model.weights.h5"
#define CONFIG_MEMBER "config.json"
#define MAX_CONFIG_BYTES (64u << 20)
#define METADATA_ALLOWANCE (16.0 * (1 << 20)) /* HDF5 headers, group and attribute names */

static int read_member_text(zip_t *z, const char *label, const char *member, char **out, error *err)
{
    zip_stat_t st;
    *out = NULL;
    if (zip_stat(z, member, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return error_set(err, "%s: the .keras archive has no %s", label, member);
    if (st.size > MAX_CONFIG_BYTES) return error_set(err, "%s: %s is too large (%llu bytes)", label, member,
                                                     (unsigned long long)st.size);
    zip_file_t *f = zip_fopen(z, member, 0);
    char *text = malloc((size_t)st.size + 1);
    zip_int64_t n = f && text ? zip_fread(f, text, st.size) : -1;
    if (f) zip_fclose(f);
    if (n < 0 || (zip_uint64_t)n != st.size) {
        free(text);
        return error_set(err, "%s: %s cannot be read from the archive (damaged zip)", label, member);
    }
    text[n] = '\0';
    *out = text;
    return 0;
}

/* An upper bound on the parameters of the ResNet3D info describes: every
 * block's convolutions counted with their stage's widest input, 7^3 stem,
 * biases and BatchNorm's four vectors per channel. */
static double parameters_bound(const keras_model_info *info)
{
    int reps[4], bottleneck;
    if (!model_repetitions(info->depth, reps, &bottleneck)) return 0;
    double w = info->width, p = 343.0 * info->clip[3] * w + 5.0 * w, out = w;
    for (int s = 0; s < 4; s++) {
        double f = w * (1 << s);
        out = bottleneck ? 4 * f : f;
        double block = bottleneck ? out * f + 27 * f * f + f * out + out * out : 27 * out * f + 27 * f * f + out * out;
        p += reps[s] * (block + 15 * out);
    }
    return p + (out + 1) * info->classes;
}

/* The most bytes model.weights.h5 may hold for the model of config.json.
 * A config that describes no model is refused later (with the weights'
 * own problems first): until then the member gets only the allowance. */
static int weights_bound(const char *config_json, const char *label, double *bound, error *err)
{
    keras_model_info info;
    memset(&info, 0, sizeof info);
    *bound = 4 * METADATA_ALLOWANCE;
    if (keras_config_model(config_json, label, &info, NULL)) return 0;
    if (info.width > KERAS_MAX_WIDTH || info.classes > KERAS_MAX_CLASSES || info.clip[3] > KERAS_MAX_CLIP)
        return error_set(err, "%s: config.json describes a model beyond train's ranges (width %d, %d classes, %d "
                              "channels)", label, info.width, info.classes, info.clip[3]);
    *bound = parameters_bound(&info) * 3 * sizeof(double) * 1.25 + METADATA_ALLOWANCE;
    return 0;
}

static const char *temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

/* A temporary file nobody else can reach, in $TMPDIR: unnamed from the
 * start (O_TMPFILE), so a kill during the extraction leaves nothing.  A
 * file system without O_TMPFILE gets a 0600 mkstemp file whose name goes
 * in *name (removed by keras_archive_h5_open). */
static int private_temporary(const char *label, char *name, size_t name_size, error *err)
{
    const char *base = temp_dir();
    name[0] = '\0';
    int fd = open(base, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    if (snprintf(name, name_size, "%s/nanprobe-keras-XXXXXX", base) >= (int)name_size)
        return error_set(err, "%s: TMPDIR %s is too long for a temporary file", label, base);
    fd = mkstemp(name);
    if (fd < 0) {
        name[0] = '\0';
        return error_set(err, "%s: cannot create a temporary file in %s to extract %s: %s", label, base,
                         WEIGHTS_MEMBER, strerror(errno));
    }
    return fd;
}

hid_t keras_archive_h5_open(int fd, char *name, size_t name_size, const char *label, error *err)
{
    /* libhdf5 opens files by name (and resolves /proc/self/fd/N to the
     * missing name): the unnamed file gets one just for the open. */
    for (int attempt = 0; !name[0] && attempt < 16; attempt++) {
        char source[64];
        snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
        snprintf(name, name_size, "%s/nanprobe-keras-%d-%d-%u", temp_dir(), (int)getpid(), attempt,
                 (unsigned)rand());
        if (linkat(AT_FDCWD, source, AT_FDCWD, name, AT_SYMLINK_FOLLOW) != 0) name[0] = '\0';
    }
    if (!name[0]) return error_set(err, "%s: cannot name the extracted %s in %s: %s", label, WEIGHTS_MEMBER,
                                   temp_dir(), strerror(errno));
    hid_t file = keras_h5_open(name, label, err);
    unlink(name);
    name[0] = '\0';
    return file;
}

static int extract_member(zip_t *z, const char *label, double bound, int fd, error *err)
{
    zip_stat_t st;
    if (zip_stat(z, WEIGHTS_MEMBER, 0, &st) != 0)
        return error_set(err, "%s: the .keras archive has no %s (expected Keras 3's weights file)", label,
                         WEIGHTS_MEMBER);
    if ((st.valid & ZIP_STAT_SIZE) && (double)st.size > bound)
        return error_set(err, "%s: %s says it holds %llu bytes, more than the model of config.json can (%.0f)",
                         label, WEIGHTS_MEMBER, (unsigned long long)st.size, bound);
    zip_file_t *f = zip_fopen(z, WEIGHTS_MEMBER, 0);
    int rc = f ? 0 : error_set(err, "%s: %s cannot be read from the archive (damaged zip)", label, WEIGHTS_MEMBER);
    char buffer[1 << 16];
    zip_int64_t n;
    zip_uint64_t total = 0;
    while (rc == 0 && (n = zip_fread(f, buffer, sizeof buffer)) > 0) {
        total += (zip_uint64_t)n;
        if ((double)total > bound)
            rc = error_set(err, "%s: %s inflates beyond what the model of config.json can hold (%.0f bytes)", label,
                           WEIGHTS_MEMBER, bound);
        else if (write(fd, buffer, (size_t)n) != n)
            rc = error_set(err, "%s: cannot extract %s: %s", label, WEIGHTS_MEMBER, strerror(errno));
    }
    if (rc == 0 && (st.valid & ZIP_STAT_SIZE) && total != st.size)
        rc = error_set(err, "%s: %s is cut short in the archive (damaged zip)", label, WEIGHTS_MEMBER);
    if (f) zip_fclose(f);
    return rc;
}

int keras_archive_open(const char *path, int *temp_fd, char *temp_name, size_t name_size, char **config_json,
                       error *err)
{
    int code = 0;
    double bound = 0;
    *temp_fd = -1;
    *config_json = NULL;
    zip_t *z = zip_open(path, ZIP_RDONLY, &code);
    if (!z) return error_set(err, "%s: not a readable zip archive (a .keras file is one)", path);
    int rc = read_member_text(z, path, CONFIG_MEMBER, config_json, err);
    if (rc == 0) rc = weights_bound(*config_json, path, &bound, err);
    if (rc == 0 && (*temp_fd = private_temporary(path, temp_name, name_size, err)) < 0) rc = -1;
    if (rc == 0) rc = extract_member(z, path, bound, *temp_fd, err);
    zip_discard(z);
    if (rc) {
        free(*config_json);
        *config_json = NULL;
        if (*temp_fd >= 0) close(*temp_fd);
        if (temp_name[0]) unlink(temp_name);
        temp_name[0] = '\0';
        *temp_fd = -1;
    }
    return rc;
}
