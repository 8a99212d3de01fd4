/* npy.c: the .npy format (see npy.h).  Format reference: numpy/lib/format.py
 * ("NEP 1"): magic "\x93NUMPY", major and minor version bytes, a little-endian
 * header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), then a Python dict
 * literal with exactly the keys 'descr', 'fortran_order' and 'shape', padded
 * with spaces and ended by '\n'; the raw data follows. */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Data is used in place from the mapping, so '<' (and NumPy's '=') must be
 * the host order. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy.c assumes a little-endian host");

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* A cursor over the header text, carrying what error messages need. */
typedef struct header_parser {
    const char *text, *p, *end;
    const char *path;
    error *err;
} header_parser;

/* The header as a short printable excerpt, for "malformed header" messages. */
static void header_excerpt(const header_parser *h, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = h->text; c < h->end && n + 4 < size; c++) {
        unsigned char ch = (unsigned char)*c;
        out[n++] = (ch >= 32 && ch < 127) ? (char)ch : ' ';
    }
    while (n > 0 && out[n - 1] == ' ') n--;
    if ((size_t)(h->end - h->text) > n && n + 4 >= size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static int header_fail(header_parser *h, const char *expected)
{
    char excerpt[160];
    header_excerpt(h, excerpt, sizeof excerpt);
    return error_set(h->err, "%s: malformed .npy header: expected %s at character %ld of \"%s\"",
                     h->path, expected, (long)(h->p - h->text), excerpt);
}

static void header_skip_space(header_parser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int header_accept(header_parser *h, char c)
{
    header_skip_space(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal in single or double quotes (NumPy never escapes
 * anything inside the ones it writes). */
static int header_string(header_parser *h, char *out, size_t size)
{
    header_skip_space(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return header_fail(h, "a quoted string");
    char quote = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != quote) {
        if (*h->p == '\\' || n + 1 >= size) return header_fail(h, "a short string without escapes");
        out[n++] = *h->p++;
    }
    if (h->p >= h->end) return header_fail(h, "a closing quote");
    h->p++;
    out[n] = '\0';
    return 0;
}

static int header_bool(header_parser *h, int *value)
{
    header_skip_space(h);
    size_t left = (size_t)(h->end - h->p);
    if (left >= 4 && memcmp(h->p, "True", 4) == 0) {
        h->p += 4;
        *value = 1;
        return 0;
    }
    if (left >= 5 && memcmp(h->p, "False", 5) == 0) {
        h->p += 5;
        *value = 0;
        return 0;
    }
    return header_fail(h, "True or False");
}

/* "(10, 16, 112, 112, 3)", "(10,)" or "()"; Python 2 NumPy wrote "10L". */
static int header_shape(header_parser *h, npy_array *a)
{
    if (!header_accept(h, '(')) return header_fail(h, "a shape tuple");
    int rank = 0;
    while (!header_accept(h, ')')) {
        if (rank > 0 && !header_accept(h, ',')) return header_fail(h, "',' or ')' in the shape");
        if (rank > 0 && header_accept(h, ')')) break; /* "(10,)" */
        header_skip_space(h);
        if (h->p >= h->end || !isdigit((unsigned char)*h->p))
            return header_fail(h, "a non-negative integer in the shape");
        int64_t v = 0;
        while (h->p < h->end && isdigit((unsigned char)*h->p)) {
            int digit = *h->p++ - '0';
            if (v > (INT64_MAX - digit) / 10) return header_fail(h, "a dimension below 2^63");
            v = v * 10 + digit;
        }
        if (h->p < h->end && *h->p == 'L') h->p++;
        if (rank < NPY_MAX_RANK) a->shape[rank] = v;
        rank++;
    }
    if (rank > NPY_MAX_RANK)
        return error_set(h->err, "%s: the array has %d axes (at most %d are supported)", h->path,
                         rank, NPY_MAX_RANK);
    a->rank = rank;
    return 0;
}

/* "<f4" -> order '<', kind 'f', 4 bytes.  Unusual kinds still get a size so
 * the caller can name them in its "not supported" message. */
static int descr_parse(const char *descr, char *order, char *kind, int *item_size)
{
    if (strlen(descr) < 3 || !strchr("<>|=", descr[0]) || !isalpha((unsigned char)descr[1]))
        return -1;
    *order = descr[0];
    *kind = descr[1];
    const char *p = descr + 2;
    long size = 0;
    if (!isdigit((unsigned char)*p)) return -1;
    while (isdigit((unsigned char)*p)) {
        size = size * 10 + (*p++ - '0');
        if (size > 1 << 20) return -1;
    }
    if (*p == '[' && (*kind == 'M' || *kind == 'm')) p += strlen(p); /* datetime unit */
    if (*p != '\0' || size < 1) return -1;
    if (*kind == 'U') size *= 4; /* UCS-4 characters */
    *item_size = (int)size;
    return 0;
}

static int header_parse(header_parser *h, npy_array *a)
{
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    if (!header_accept(h, '{')) return header_fail(h, "'{'");
    while (!header_accept(h, '}')) {
        char key[32];
        if (header_string(h, key, sizeof key) < 0) return -1;
        if (!header_accept(h, ':')) return header_fail(h, "':' after a key");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (header_accept(h, '['))
                return error_set(h->err, "%s: structured dtypes (a list of fields as 'descr') are not "
                                 "supported (expected a plain dtype such as '|u1' or '<f4')", h->path);
            if (header_string(h, a->descr, sizeof a->descr) < 0) return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (header_bool(h, &fortran) < 0) return -1;
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (header_shape(h, a) < 0) return -1;
            have_shape = 1;
        } else {
            return error_set(h->err, "%s: malformed .npy header: unexpected or repeated key '%s' "
                             "(expected 'descr', 'fortran_order' and 'shape' once each)", h->path, key);
        }
        if (!header_accept(h, ',')) {
            if (!header_accept(h, '}')) return header_fail(h, "',' or '}' after a value");
            break;
        }
    }
    header_skip_space(h);
    if (h->p != h->end) return header_fail(h, "nothing after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
        return error_set(h->err, "%s: malformed .npy header: missing key '%s'", h->path,
                         !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");

    char order;
    if (descr_parse(a->descr, &order, &a->kind, &a->item_size) < 0)
        return error_set(h->err, "%s: dtype '%s' is not understood (expected a descr such as '|u1' "
                         "or '<f4')", h->path, a->descr);
    if (order == '>' && a->item_size > 1)
        return error_set(h->err, "%s: dtype '%s' is big-endian, which is not supported (expected "
                         "little-endian '<%s'; save the array with .astype('<%s'))", h->path,
                         a->descr, a->descr + 1, a->descr + 1);
    if (order == '|' && a->item_size > 1 && a->kind != 'S' && a->kind != 'V')
        return error_set(h->err, "%s: dtype '%s' has no byte order for a %d-byte type (expected '<%s')",
                         h->path, a->descr, a->item_size, a->descr + 1);
    /* With at most one axis the two orders lay out the same bytes. */
    if (fortran && a->rank > 1)
        return error_set(h->err, "%s: fortran_order is True, which is not supported (expected a "
                         "C-ordered array; save np.ascontiguousarray(array) instead)", h->path);
    return 0;
}

void npy_shape_format(int rank, const int64_t *shape, char *out, size_t size)
{
    size_t n = 0;
    n += (size_t)snprintf(out + n, n < size ? size - n : 0, "(");
    for (int i = 0; i < rank; i++)
        n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%" PRId64, i ? ", " : "", shape[i]);
    snprintf(out + n, n < size ? size - n : 0, rank == 1 ? ",)" : ")");
}

size_t npy_row_bytes(const npy_array *a)
{
    size_t bytes = (size_t)a->item_size;
    for (int i = 1; i < a->rank; i++) bytes *= (size_t)a->shape[i];
    return bytes;
}

/* The product of `rank` dimensions times `item`, or -1 on overflow. */
static int bytes_of(int rank, const int64_t *shape, size_t item, size_t *bytes, size_t *count)
{
    size_t c = 1;
    for (int i = 0; i < rank; i++)
        if (__builtin_mul_overflow(c, (size_t)shape[i], &c)) return -1;
    if (__builtin_mul_overflow(c, item, bytes)) return -1;
    if (count) *count = c;
    return 0;
}

static void magic_format(const unsigned char *bytes, size_t n, char *out, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < n && i < 6; i++) {
        int w = (bytes[i] >= 32 && bytes[i] < 127 && bytes[i] != '\\')
                    ? snprintf(out + used, size - used, "%c", bytes[i])
                    : snprintf(out + used, size - used, "\\x%02x", bytes[i]);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
    }
}

static int npy_validate(npy_array *a, const char *path, const char *row_noun, error *err)
{
    const unsigned char *bytes = a->map;
    size_t size = a->map_size;
    if (size < sizeof npy_magic || memcmp(bytes, npy_magic, sizeof npy_magic) != 0) {
        if (size < sizeof npy_magic && memcmp(bytes, npy_magic, size) == 0)
            return error_set(err, "%s: truncated header: the file holds only %zu bytes", path, size);
        char seen[32] = "";
        magic_format(bytes, size, seen, sizeof seen);
        return error_set(err, "%s: not a .npy file: it starts with \"%s\" (expected the magic "
                         "\"\\x93NUMPY\")", path, seen);
    }
    if (size < 8)
        return error_set(err, "%s: truncated header: the file ends before the version bytes", path);
    int major = bytes[6], minor = bytes[7];
    if (major < 1 || major > 3 || minor != 0)
        return error_set(err, "%s: .npy format version %d.%d is not supported (expected 1.0, 2.0 "
                         "or 3.0)", path, major, minor);
    a->version = major;
    size_t prelude = major == 1 ? 10 : 12;
    if (size < prelude)
        return error_set(err, "%s: truncated header: the file ends inside the header length field",
                         path);
    size_t header_len = major == 1 ? (size_t)bytes[8] | (size_t)bytes[9] << 8
                                   : (size_t)bytes[8] | (size_t)bytes[9] << 8 |
                                         (size_t)bytes[10] << 16 | (size_t)bytes[11] << 24;
    if (header_len > size - prelude)
        return error_set(err, "%s: truncated header: the header length field says %zu bytes but "
                         "only %zu follow", path, header_len, size - prelude);

    header_parser h = {(const char *)bytes + prelude, (const char *)bytes + prelude,
                       (const char *)bytes + prelude + header_len, path, err};
    if (header_parse(&h, a) < 0) return -1;

    char shape_text[256];
    npy_shape_format(a->rank, a->shape, shape_text, sizeof shape_text);
    size_t data_bytes = 0, row_bytes = 0;
    if (bytes_of(a->rank, a->shape, (size_t)a->item_size, &data_bytes, &a->count) < 0 ||
        (a->rank > 0 && bytes_of(a->rank - 1, a->shape + 1, (size_t)a->item_size, &row_bytes, NULL) < 0))
        return error_set(err, "%s: shape %s of '%s' is too large to address", path, shape_text,
                         a->descr);
    if (a->rank == 0) row_bytes = data_bytes;
    size_t offset = prelude + header_len;
    size_t held = size - offset;
    if (held != data_bytes) {
        const char *noun = row_noun ? row_noun : "rows";
        int64_t rows = a->rank > 0 ? a->shape[0] : 1;
        if (held < data_bytes)
            return error_set(err, "%s: truncated: header says %" PRId64 " %s of %zu bytes (shape %s, "
                             "dtype '%s') but the file holds %zu bytes of data (expected %zu)",
                             path, rows, noun, row_bytes, shape_text, a->descr, held, data_bytes);
        return error_set(err, "%s: header says %" PRId64 " %s of %zu bytes (shape %s, dtype '%s') "
                         "but the file holds %zu bytes of data, %zu more than expected", path, rows,
                         noun, row_bytes, shape_text, a->descr, held, held - data_bytes);
    }
    a->data = bytes + offset;
    a->data_offset = offset;
    return 0;
}

int npy_open(npy_array *a, const char *path, const char *row_noun, error *err)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    /* O_NONBLOCK: a FIFO given by mistake must not hang the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return error_set(err, "%s: no such file", path);
        return error_set(err, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return error_set(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(err, "%s: not a regular file (expected a .npy file)", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return error_set(err, "%s: the file is empty (expected a .npy file)", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    if (map == MAP_FAILED) {
        close(fd);
        return error_set(err, "%s: cannot map: %s", path, strerror(map_errno));
    }
    a->map = map;
    a->map_size = (size_t)st.st_size;
    a->fd = fd;
    a->path = strdup(path);
    if (!a->path) {
        npy_close(a);
        return error_set(err, "%s: out of memory", path);
    }
    if (npy_validate(a, path, row_noun, err) < 0) {
        npy_close(a);
        return -1;
    }
    return 0;
}

void npy_close(npy_array *a)
{
    /* Only an opened array has a mapping (a zeroed one has fd 0, which is
     * not ours to close). */
    if (a->map) {
        munmap(a->map, a->map_size);
        if (a->fd >= 0) close(a->fd);
    }
    free(a->path);
    memset(a, 0, sizeof *a);
    a->fd = -1;
}

int npy_read_data(const npy_array *a, size_t offset, void *out, size_t n, error *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(a->fd, (char *)out + done, n - done, (off_t)(a->data_offset + offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            return error_set(err, "%s: read failed at data byte %zu: %s", a->path, offset + done, strerror(errno));
        if (got == 0)
            return error_set(err, "%s: the file shrank while in use: %zu of %zu bytes at data byte %zu could be "
                             "read (was it overwritten or truncated during training?)", a->path, done, n, offset);
        done += (size_t)got;
    }
    return 0;
}

const char *npy_type_name(const npy_array *a)
{
    switch (a->kind) {
    case 'b': return a->item_size == 1 ? "bool" : a->descr;
    case 'u':
        switch (a->item_size) {
        case 1: return "uint8";
        case 2: return "uint16";
        case 4: return "uint32";
        case 8: return "uint64";
        }
        break;
    case 'i':
        switch (a->item_size) {
        case 1: return "int8";
        case 2: return "int16";
        case 4: return "int32";
        case 8: return "int64";
        }
        break;
    case 'f':
        switch (a->item_size) {
        case 2: return "float16";
        case 4: return "float32";
        case 8: return "float64";
        case 16: return "float128";
        }
        break;
    case 'c': return "complex";
    case 'U': case 'S': return "string";
    case 'O': return "object";
    }
    return a->descr;
}

int npy_write(const char *path, const char *descr, int rank, const int64_t *shape,
              const void *data, int version, error *err)
{
    char order, kind;
    int item_size;
    if (descr_parse(descr, &order, &kind, &item_size) < 0)
        return error_set(err, "%s: cannot write dtype '%s'", path, descr);
    if (version < 1 || version > 3)
        return error_set(err, "%s: cannot write .npy version %d (expected 1, 2 or 3)", path, version);
    if (rank < 0 || rank > NPY_MAX_RANK)
        return error_set(err, "%s: cannot write %d axes (at most %d)", path, rank, NPY_MAX_RANK);
    size_t data_bytes;
    if (bytes_of(rank, shape, (size_t)item_size, &data_bytes, NULL) < 0)
        return error_set(err, "%s: the array is too large to write", path);

    char shape_text[256], dict[512];
    npy_shape_format(rank, shape, shape_text, sizeof shape_text);
    int dict_len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                            descr, shape_text);
    size_t prelude = version == 1 ? 10 : 12;
    /* Pad with spaces and a final '\n' so the data starts on a 64-byte line. */
    size_t header_len = (size_t)dict_len + 1;
    header_len += (64 - (prelude + header_len) % 64) % 64;
    if (version == 1 && header_len > 65535)
        return error_set(err, "%s: the header is too long for .npy version 1.0", path);

    unsigned char prefix[12];
    memcpy(prefix, npy_magic, sizeof npy_magic);
    prefix[6] = (unsigned char)version;
    prefix[7] = 0;
    for (size_t i = 0; i < prelude - 8; i++) prefix[8 + i] = (unsigned char)(header_len >> (8 * i));

    /* unlink first: a planted symlink loses its name, never its target;
     * O_EXCL | O_NOFOLLOW then refuses anything planted in between. */
    if (unlink(path) != 0 && errno != ENOENT) return error_set(err, "%s: cannot replace: %s", path, strerror(errno));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        return error_set(err, "%s: cannot create: %s", path, strerror(e));
    }
    int ok = fwrite(prefix, 1, prelude, f) == prelude &&
             fwrite(dict, 1, (size_t)dict_len, f) == (size_t)dict_len;
    for (size_t i = (size_t)dict_len; ok && i + 1 < header_len; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && (data_bytes == 0 || fwrite(data, 1, data_bytes, f) == data_bytes);
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) return error_set(err, "%s: cannot write: %s", path, strerror(e));
    return 0;
}
