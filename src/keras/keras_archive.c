/* keras_archive.c: Keras 3 .keras files, zip archives (saving_lib.py) of
 * metadata.json, config.json and model.weights.h5, read with libzip.  The
 * weights member goes to a private temporary file (mkstemp, 0600) because
 * libhdf5 reads files; the caller removes it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "keras_source.h"

#define WEIGHTS_MEMBER "model.weights.h5"
#define CONFIG_MEMBER "config.json"
#define MAX_CONFIG_BYTES (64u << 20)

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

static int extract_member(zip_t *z, const char *label, const char *member, char *temp_path, size_t temp_size,
                          error *err)
{
    zip_stat_t st;
    if (zip_stat(z, member, 0, &st) != 0)
        return error_set(err, "%s: the .keras archive has no %s (expected Keras 3's weights file)", label, member);
    snprintf(temp_path, temp_size, "/tmp/nanprobe-keras-XXXXXX");
    int fd = mkstemp(temp_path);
    if (fd < 0) {
        temp_path[0] = '\0';
        return error_set(err, "%s: cannot create a temporary file to extract %s: %s", label, member, strerror(errno));
    }
    zip_file_t *f = zip_fopen(z, member, 0);
    int rc = f ? 0 : error_set(err, "%s: %s cannot be read from the archive (damaged zip)", label, member);
    char buffer[1 << 16];
    zip_int64_t n;
    zip_uint64_t total = 0;
    while (rc == 0 && (n = zip_fread(f, buffer, sizeof buffer)) > 0) {
        if (write(fd, buffer, (size_t)n) != n) rc = error_set(err, "%s: cannot extract %s: %s", label, member,
                                                               strerror(errno));
        total += (zip_uint64_t)n;
    }
    if (rc == 0 && (st.valid & ZIP_STAT_SIZE) && total != st.size)
        rc = error_set(err, "%s: %s is cut short in the archive (damaged zip)", label, member);
    if (f) zip_fclose(f);
    close(fd);
    return rc;
}

int keras_archive_open(const char *path, char *temp_path, size_t temp_size, char **config_json, error *err)
{
    int code = 0;
    temp_path[0] = '\0';
    *config_json = NULL;
    zip_t *z = zip_open(path, ZIP_RDONLY, &code);
    if (!z) return error_set(err, "%s: not a readable zip archive (a .keras file is one)", path);
    int rc = read_member_text(z, path, CONFIG_MEMBER, config_json, err);
    if (rc == 0) rc = extract_member(z, path, WEIGHTS_MEMBER, temp_path, temp_size, err);
    zip_discard(z);
    if (rc) {
        free(*config_json);
        *config_json = NULL;
        if (temp_path[0]) unlink(temp_path);
        temp_path[0] = '\0';
    }
    return rc;
}
