/* test_fuzz_replay.c: replays every input of the fuzz corpora
 * (tests/fuzz/corpus/NAME/: the seeds and each crash `make fuzz` has found,
 * kept as a regression case) through the harnesses, built with gcc here and
 * under ASan + UBSan in `make asan`.  A pass means the harness returned:
 * a crash, a sanitizer report or a broken invariant (abort) fails the
 * program. */
#include <dirent.h>

#define FUZZ_ENTRY fuzz_npy_one
#include "fuzz_npy.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_options_one
#include "fuzz_options.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_inject_one
#include "fuzz_inject.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_rundata_one
#include "fuzz_rundata.c"
#undef FUZZ_ENTRY
#define FUZZ_ENTRY fuzz_keras_one
#include "fuzz_keras.c"
#undef FUZZ_ENTRY

#include "test_util.h"

typedef int (*fuzz_entry)(const uint8_t *, size_t);

static int replay_dir(const char *root, const char *name, fuzz_entry entry)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "%s: no corpus", dir);
    if (!d) return 0;
    int replayed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n = 0;
        uint8_t *input = (uint8_t *)test_read_file(path, &n);
        if (!input) continue;
        CHECK(entry(input, n) == 0, "%s: harness returned non-zero", path);
        free(input);
        replayed++;
    }
    closedir(d);
    CHECK(replayed > 0, "%s: empty corpus", dir);
    printf("  %s: %d inputs replayed\n", name, replayed);
    return replayed;
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    const char *root = getenv("NANPROBE_FUZZ_CORPUS") ? getenv("NANPROBE_FUZZ_CORPUS") : "tests/fuzz/corpus";
    replay_dir(root, "npy", fuzz_npy_one);
    replay_dir(root, "options", fuzz_options_one);
    replay_dir(root, "inject", fuzz_inject_one);
    replay_dir(root, "rundata", fuzz_rundata_one);
    replay_dir(root, "keras", fuzz_keras_one);
    char command[256];
    snprintf(command, sizeof command, "rm -rf /tmp/nanprobe-fuzz-*-%d /dev/shm/nanprobe-fuzz-*-%d", (int)getpid(),
             (int)getpid());
    if (system(command) != 0) fprintf(stderr, "could not clean %s\n", command);
    return test_finish();
}
