/* video_index.c: listing a video dataset's files and labels (layouts in
 * video_index.h).  Every file read here (split files, lists) is untrusted:
 * bad lines are errors naming the file and the line. */
#include "video_index.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define INDEX_PATH_MAX 4096
#define INDEX_DEPTH_MAX 8 /* class-folder recursion; deeper trees are almost surely a mistake (a loop) */

typedef struct name_list {
    char **items;
    long count, capacity;
} name_list;

static int list_push(name_list *l, const char *text, error *err)
{
    if (l->count == l->capacity) {
        long cap = l->capacity ? 2 * l->capacity : 64;
        char **grown = realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown) return error_set(err, "out of memory listing videos");
        l->items = grown;
        l->capacity = cap;
    }
    if (!(l->items[l->count] = strdup(text))) return error_set(err, "out of memory listing videos");
    l->count++;
    return 0;
}

static void list_free(name_list *l)
{
    for (long i = 0; i < l->count; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int video_index_is_video_name(const char *name)
{
    static const char *const extensions[] = {".avi", ".mp4", ".mkv", ".webm", ".mov"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
        size_t e = strlen(extensions[i]);
        if (n > e && strcasecmp(name + n - e, extensions[i]) == 0) return 1;
    }
    return 0;
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A list or split file, opened for reading only if it is a regular file:
 * /dev/zero would be read forever and a FIFO would block (O_NONBLOCK lets
 * the open itself return so the type can be checked). */
static FILE *list_open(const char *path, error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return error_set(err, "%s: cannot open: %s", path, strerror(errno)), NULL;
    struct stat st;
    FILE *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        error_set(err, "%s: not a regular file (expected a text list of videos)", path);
    else if (!(f = fdopen(fd, "r")))
        error_set(err, "%s: cannot open: %s", path, strerror(errno));
    if (!f) close(fd);
    return f;
}

/* Whether full, a directory met while walking the dataset, resolves inside
 * root (a symlink may point within the dataset, never out of it). */
static int inside_root(const char *root, const char *full)
{
    char real_root[PATH_MAX], real_full[PATH_MAX];
    if (!realpath(root, real_root) || !realpath(full, real_full)) return 0;
    size_t n = strlen(real_root);
    return strncmp(real_full, real_root, n) == 0 && (real_full[n] == '/' || (n == 1 && real_root[0] == '/'));
}

/* Collects video files under dir/rel (relative names "rel/x.avi"). */
static int videos_walk(const char *root, const char *rel, int depth, name_list *out, error *err)
{
    char path[INDEX_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path)
        return error_set(err, "%s/%s: path too long", root, rel);
    DIR *dir = opendir(path);
    if (!dir) return error_set(err, "%s: cannot open directory: %s", path, strerror(errno));
    int status = 0;
    struct dirent *e;
    while (status == 0 && (e = readdir(dir))) {
        if (e->d_name[0] == '.') continue;
        char child[INDEX_PATH_MAX], full[INDEX_PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", rel, e->d_name) >= (int)sizeof child ||
            snprintf(full, sizeof full, "%s/%s", root, child) >= (int)sizeof full) {
            status = error_set(err, "%s/%s: path too long", path, e->d_name);
            break;
        }
        if (is_directory(full)) {
            if (!inside_root(root, full))
                continue; /* a symlink out of the dataset (into /etc...): not the dataset's */
            if (depth >= INDEX_DEPTH_MAX)
                status = error_set(err, "%s: folders nested deeper than %d levels below the class folder", full,
                                   INDEX_DEPTH_MAX);
            else
                status = videos_walk(root, child, depth + 1, out, err);
        } else if (video_index_is_video_name(e->d_name)) {
            status = list_push(out, child, err);
        }
    }
    closedir(dir);
    return status;
}

/* Sorted names of the non-hidden subdirectories of dir. */
static int subdirectories(const char *dir, name_list *out, error *err)
{
    DIR *d = opendir(dir);
    if (!d) return error_set(err, "%s: cannot open directory: %s", dir, strerror(errno));
    struct dirent *e;
    int status = 0;
    while (status == 0 && (e = readdir(d))) {
        char full[INDEX_PATH_MAX];
        if (e->d_name[0] == '.') continue;
        if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full) continue;
        if (is_directory(full) && inside_root(dir, full)) status = list_push(out, e->d_name, err);
    }
    closedir(d);
    if (out->count) qsort(out->items, (size_t)out->count, sizeof *out->items, compare_names);
    return status;
}

static int entries_add(video_index *ix, int split, const char *path, int label, error *err)
{
    long n = ix->count[split];
    if ((n & (n - 1)) == 0) { /* grow at powers of two */
        video_entry *grown = realloc(ix->entries[split], (size_t)(n ? 2 * n : 1) * sizeof *grown);
        if (!grown) return error_set(err, "out of memory listing videos");
        ix->entries[split] = grown;
    }
    if (!(ix->entries[split][n].path = strdup(path))) return error_set(err, "out of memory listing videos");
    ix->entries[split][n].label = label;
    ix->count[split] = n + 1;
    return 0;
}

static int classes_take(video_index *ix, name_list *names)
{
    ix->class_names = names->items;
    ix->classes = (int)names->count;
    memset(names, 0, sizeof *names);
    return 0;
}

static int class_folders_build(video_index *ix, error *err)
{
    name_list classes = {0};
    int status = subdirectories(ix->root, &classes, err);
    for (long c = 0; status == 0 && c < classes.count; c++) {
        name_list files = {0};
        status = videos_walk(ix->root, classes.items[c], 1, &files, err);
        if (files.count) qsort(files.items, (size_t)files.count, sizeof *files.items, compare_names);
        for (long i = 0; status == 0 && i < files.count; i++)
            status = entries_add(ix, 0, files.items[i], (int)c, err);
        list_free(&files);
    }
    if (status == 0 && classes.count == 0)
        status = error_set(err, "%s: no class folders (expected DIR/<class>/<video>.avi|mp4|mkv|webm|mov, "
                           "--split N with UCF101 split files, or --train-list)", ix->root);
    if (status == 0 && ix->count[0] == 0)
        status = error_set(err, "%s: %ld class folder(s) but no video files in them (expected .avi, .mp4, "
                           ".mkv, .webm or .mov)", ix->root, classes.count);
    if (status == 0) classes_take(ix, &classes);
    list_free(&classes);
    snprintf(ix->layout, sizeof ix->layout, "class folders");
    return status;
}

/* Reads the next line into buf (without the newline; trailing spaces and
 * CR removed).  Returns 1, 0 at the end, -1 on an overlong line. */
static int line_read(FILE *f, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, f)) return 0;
    size_t n = strlen(buf);
    if (n == size - 1 && buf[n - 1] != '\n' && !feof(f)) return -1;
    while (n > 0 && isspace((unsigned char)buf[n - 1])) buf[--n] = '\0';
    return 1;
}

/* Splits "path label" at the last run of blanks; *label NULL if none. */
static void line_split(char *line, char **path, char **label)
{
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    *path = p;
    *label = NULL;
    char *space = NULL;
    for (char *q = p; *q; q++)
        if (isspace((unsigned char)*q)) space = q;
    if (!space) return;
    *label = space + 1;
    while (space > p && isspace((unsigned char)space[-1])) space--;
    *space = '\0';
}

static int parse_int(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end) return -1;
    *out = v;
    return 0;
}

static int path_safe(const char *rel)
{
    /* Relative and without "..": a list must not reach outside DIR. */
    return rel[0] && rel[0] != '/' && !strstr(rel, "..");
}

static int class_lookup(const video_index *ix, const char *name)
{
    for (int c = 0; c < ix->classes; c++)
        if (strcmp(ix->class_names[c], name) == 0) return c;
    return -1;
}

/* classInd.txt: "1 ApplyEyeMakeup", ids 1..K in order. */
static int ucf_classes_read(video_index *ix, const char *path, error *err)
{
    FILE *f = list_open(path, err);
    if (!f) return -1;
    name_list names = {0};
    char line[INDEX_PATH_MAX];
    int status = 0, rc;
    long number = 0;
    while (status == 0 && (rc = line_read(f, line, sizeof line)) != 0) {
        number++;
        char *id_text = line, *name;
        while (isspace((unsigned char)*id_text)) id_text++;
        if (rc < 0) { status = error_set(err, "%s:%ld: line too long", path, number); break; }
        if (!*id_text) continue;
        name = id_text;
        while (*name && !isspace((unsigned char)*name)) name++;
        if (*name) *name++ = '\0';
        while (isspace((unsigned char)*name)) name++;
        long id;
        if (parse_int(id_text, &id) < 0 || id != names.count + 1 || !*name)
            status = error_set(err, "%s:%ld: expected \"%ld ClassName\" (ids 1, 2, ... in order)", path, number,
                               names.count + 1);
        else
            status = list_push(&names, name, err);
    }
    fclose(f);
    if (status == 0 && names.count == 0) status = error_set(err, "%s: no classes listed", path);
    if (status == 0) classes_take(ix, &names);
    list_free(&names);
    return status;
}

/* Adds the entries of one list file.  mode 'u': UCF101 (label optional and
 * 1-based, else from the folder name); 'i': integer 0-based labels; 'n':
 * class names (already in ix->class_names). */
static int list_read(video_index *ix, int split, const char *path, int mode, const char *prefix, error *err)
{
    FILE *f = list_open(path, err);
    if (!f) return -1;
    char line[INDEX_PATH_MAX];
    int status = 0, rc;
    long number = 0;
    while (status == 0 && (rc = line_read(f, line, sizeof line)) != 0) {
        number++;
        if (rc < 0) { status = error_set(err, "%s:%ld: line too long", path, number); break; }
        char *rel, *label_text;
        line_split(line, &rel, &label_text);
        if (!*rel || *rel == '#') continue;
        long label = -1;
        if (!path_safe(rel)) {
            status = error_set(err, "%s:%ld: '%s' is not a path relative to the dataset directory", path, number, rel);
        } else if (mode == 'u') {
            if (label_text) {
                if (parse_int(label_text, &label) < 0 || label < 1 || label > ix->classes)
                    status = error_set(err, "%s:%ld: label '%s' is not a class id 1..%d of classInd.txt", path,
                                       number, label_text, ix->classes);
                label--;
            } else {
                char folder[INDEX_PATH_MAX];
                snprintf(folder, sizeof folder, "%s", rel);
                char *slash = strchr(folder, '/');
                if (slash) *slash = '\0';
                if (!slash || (label = class_lookup(ix, folder)) < 0)
                    status = error_set(err, "%s:%ld: '%s' has no label and its folder is not a class of classInd.txt",
                                       path, number, rel);
            }
        } else if (!label_text) {
            status = error_set(err, "%s:%ld: expected \"relative/path label\"", path, number);
        } else if (mode == 'i') {
            if (parse_int(label_text, &label) < 0 || label < 0 || label > 100000)
                status = error_set(err, "%s:%ld: label '%s' is not a class id >= 0 (the first line's label was an "
                                   "integer, so all must be)", path, number, label_text);
        } else if ((label = class_lookup(ix, label_text)) < 0) {
            status = error_set(err, "%s:%ld: class '%s' is not among the train list's classes", path, number,
                               label_text);
        }
        if (status == 0) {
            char full[INDEX_PATH_MAX];
            snprintf(full, sizeof full, "%s%s", prefix, rel);
            status = entries_add(ix, split, full, (int)label, err);
        }
    }
    fclose(f);
    if (status == 0 && split == 0 && ix->count[0] == 0) status = error_set(err, "%s: lists no videos", path);
    return status;
}

static int ucf_build(video_index *ix, int split, error *err)
{
    char dir[INDEX_PATH_MAX], path[INDEX_PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/ucfTrainTestlist", ix->root);
    snprintf(path, sizeof path, "%s/classInd.txt", dir);
    if (!is_file(path)) snprintf(dir, sizeof dir, "%s", ix->root);
    snprintf(path, sizeof path, "%s/classInd.txt", dir);
    if (!is_file(path))
        return error_set(err, "--split %d: no classInd.txt in %s or %s/ucfTrainTestlist (UCF101 split files)", split,
                         ix->root, ix->root);
    if (ucf_classes_read(ix, path, err) < 0) return -1;
    char train[INDEX_PATH_MAX + 32], test[INDEX_PATH_MAX + 32];
    snprintf(train, sizeof train, "%s/trainlist%02d.txt", dir, split);
    snprintf(test, sizeof test, "%s/testlist%02d.txt", dir, split);
    if (!is_file(train) || !is_file(test))
        return error_set(err, "--split %d: %s or %s does not exist", split, train, test);
    if (list_read(ix, 0, train, 'u', "", err) < 0 || list_read(ix, 1, test, 'u', "", err) < 0) return -1;
    /* Videos next to the lists, or in the UCF-101 folder of the archive. */
    char probe[2 * INDEX_PATH_MAX];
    snprintf(probe, sizeof probe, "%s/%s", ix->root, ix->entries[0][0].path);
    if (!is_file(probe)) {
        snprintf(probe, sizeof probe, "%s/UCF-101/%s", ix->root, ix->entries[0][0].path);
        if (is_file(probe))
            for (int s = 0; s < 2; s++)
                for (long i = 0; i < ix->count[s]; i++) {
                    char moved[INDEX_PATH_MAX + 16];
                    snprintf(moved, sizeof moved, "UCF-101/%s", ix->entries[s][i].path);
                    char *copy = strdup(moved);
                    if (!copy) return error_set(err, "out of memory listing videos");
                    free(ix->entries[s][i].path);
                    ix->entries[s][i].path = copy;
                }
    }
    ix->has_val_list = 1;
    snprintf(ix->layout, sizeof ix->layout, "UCF101 split %d", split);
    return 0;
}

/* The label tokens of a list file, for choosing integer or name mode and
 * for collecting class names. */
static int labels_scan(const char *path, name_list *names, int *integers, error *err)
{
    FILE *f = list_open(path, err);
    if (!f) return -1;
    char line[INDEX_PATH_MAX];
    int rc, status = 0;
    long number = 0;
    while (status == 0 && (rc = line_read(f, line, sizeof line)) != 0) {
        number++;
        if (rc < 0) { status = error_set(err, "%s:%ld: line too long", path, number); break; }
        char *rel, *label;
        line_split(line, &rel, &label);
        if (!*rel || *rel == '#' || !label) continue;
        long v;
        int is_int = parse_int(label, &v) == 0;
        if (*integers < 0) *integers = is_int;
        if (!is_int && *integers == 0) {
            int seen = 0;
            for (long i = 0; i < names->count && !seen; i++) seen = strcmp(names->items[i], label) == 0;
            if (!seen) status = list_push(names, label, err);
        }
    }
    fclose(f);
    return status;
}

/* Integer labels: class c is named after the first folder of its first
 * video ("0" ... when the videos are not in folders). */
static int integer_classes_name(video_index *ix, error *err)
{
    int classes = 0;
    for (int s = 0; s < 2; s++)
        for (long i = 0; i < ix->count[s]; i++)
            if (ix->entries[s][i].label + 1 > classes) classes = ix->entries[s][i].label + 1;
    name_list names = {0};
    for (int c = 0; c < classes; c++) {
        char name[INDEX_PATH_MAX];
        snprintf(name, sizeof name, "%d", c);
        for (long i = 0; i < ix->count[0]; i++)
            if (ix->entries[0][i].label == c) {
                const char *path = ix->entries[0][i].path, *slash = strchr(path, '/');
                if (slash) snprintf(name, sizeof name, "%.*s", (int)(slash - path), path);
                break;
            }
        if (list_push(&names, name, err) < 0) {
            list_free(&names);
            return -1;
        }
    }
    return classes_take(ix, &names);
}

static int lists_build(video_index *ix, const video_index_config *c, error *err)
{
    if (!c->train_list && c->val_list)
        return error_set(err, "--val-list %s needs --train-list as well", c->val_list);
    name_list names = {0};
    int integers = -1;
    int status = labels_scan(c->train_list, &names, &integers, err);
    if (status == 0 && c->val_list) status = labels_scan(c->val_list, &names, &integers, err);
    if (status == 0 && integers == 0) {
        qsort(names.items, (size_t)names.count, sizeof *names.items, compare_names);
        classes_take(ix, &names);
    }
    list_free(&names);
    int mode = integers == 0 ? 'n' : 'i';
    if (status == 0) status = list_read(ix, 0, c->train_list, mode, "", err);
    if (status == 0 && c->val_list) status = list_read(ix, 1, c->val_list, mode, "", err);
    if (status == 0 && mode == 'i') status = integer_classes_name(ix, err);
    ix->has_val_list = c->val_list != NULL;
    snprintf(ix->layout, sizeof ix->layout, "lists");
    return status;
}

int video_index_build(video_index *ix, const video_index_config *config, error *err)
{
    memset(ix, 0, sizeof *ix);
    if (!is_directory(config->root)) return error_set(err, "%s: no such directory", config->root);
    if (config->split < 0 || config->split > 99)
        return error_set(err, "--split %d: expected a UCF101 split number 1..99 (UCF101 has 1, 2, 3)", config->split);
    if (!(ix->root = strdup(config->root))) return error_set(err, "out of memory listing videos");
    size_t n = strlen(ix->root);
    while (n > 1 && ix->root[n - 1] == '/') ix->root[--n] = '\0';
    int status;
    if (config->train_list || config->val_list) status = lists_build(ix, config, err);
    else if (config->split > 0) status = ucf_build(ix, config->split, err);
    else status = class_folders_build(ix, err);
    if (status < 0) video_index_free(ix);
    return status;
}

void video_index_free(video_index *ix)
{
    for (int s = 0; s < 2; s++) {
        for (long i = 0; i < ix->count[s]; i++) free(ix->entries[s][i].path);
        free(ix->entries[s]);
    }
    for (int c = 0; c < ix->classes; c++) free(ix->class_names[c]);
    free(ix->class_names);
    free(ix->root);
    memset(ix, 0, sizeof *ix);
}

int video_index_hold_out(video_index *ix, long hold, error *err)
{
    long n = ix->count[0];
    if (hold <= 0) return 0;
    if (hold >= n)
        return error_set(err, "%s: %ld training videos, too few to hold out %ld for validation and keep some "
                         "for training (expected --val-clips < %ld, or a validation list)", ix->root, n, hold, n);
    /* Position floor((i + 1/2) n / hold) for i < hold: evenly spaced, and
     * strictly increasing because n > hold. */
    video_entry *kept = malloc((size_t)(n - hold) * sizeof *kept);
    video_entry *held = malloc((size_t)hold * sizeof *held);
    if (!kept || !held) {
        free(kept);
        free(held);
        return error_set(err, "out of memory holding out validation videos");
    }
    long k = 0, h = 0;
    for (long i = 0; i < n; i++) {
        long want = h < hold ? (long)(((double)h + 0.5) * (double)n / (double)hold) : n;
        if (i == want) held[h++] = ix->entries[0][i];
        else kept[k++] = ix->entries[0][i];
    }
    for (long i = 0; i < ix->count[1]; i++) free(ix->entries[1][i].path);
    free(ix->entries[1]);
    free(ix->entries[0]);
    ix->entries[0] = kept;
    ix->count[0] = k;
    ix->entries[1] = held;
    ix->count[1] = h;
    return 0;
}

int video_index_looks_like_videos(const char *dir)
{
    char path[INDEX_PATH_MAX];
    snprintf(path, sizeof path, "%s/classInd.txt", dir);
    if (is_file(path)) return 1;
    snprintf(path, sizeof path, "%s/ucfTrainTestlist/classInd.txt", dir);
    if (is_file(path)) return 1;
    name_list classes = {0}, files = {0};
    error ignored;
    int found = 0;
    if (subdirectories(dir, &classes, &ignored) == 0)
        for (long c = 0; c < classes.count && !found; c++) {
            found = videos_walk(dir, classes.items[c], 1, &files, &ignored) == 0 && files.count > 0;
            list_free(&files);
        }
    list_free(&classes);
    return found;
}
