/* test_pipeline.c: the whole tool through its commands, as a user runs it:
 * train, let the run stop at a NaN, read the report it wrote; an injected
 * and a natural NaN; a hostile run name; ablate on a 2x2 grid and compare. */
#include <stdarg.h>
#include <sys/stat.h>

#include "test_util.h"

static const char *nanprobe;

#define TINY "--depth=18", "--width=4", "--clip=4x16x16x2", "--classes=3", "--batch=4", "--train-clips=64", \
             "--val-clips=8"

#define nanprobe_run(output, size, ...) test_run_args(nanprobe, output, size, __VA_ARGS__)

/* Every src="..." and href="..." of index.html names a file that exists,
 * and every PNG starts with the PNG signature and an IHDR of sane size. */
static void check_report_files(const char *dir, const char *label, int min_pngs)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/index.html", dir);
    char *html = test_read_file(path, NULL);
    CHECK(html != NULL, "%s: no index.html in %s", label, dir);
    if (!html) return;
    int references = 0, missing = 0, pngs = 0, bad_png = 0;
    for (const char *p = html; (p = strstr(p, "=\"")) != NULL; p += 2) {
        if (!(p >= html + 3 && (strncmp(p - 3, "src", 3) == 0 || strncmp(p - 4, "href", 4) == 0))) continue;
        const char *start = p + 2, *end = strchr(start, '"');
        if (!end || end - start > 200 || strncmp(start, "http", 4) == 0 || *start == '#') continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(end - start), start);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        struct stat st;
        references++;
        if (stat(path, &st) != 0) {
            missing++;
            fprintf(stderr, "  %s: index.html references missing %s\n", label, name);
            continue;
        }
        size_t length = strlen(name);
        if (length > 4 && strcmp(name + length - 4, ".png") == 0) {
            size_t size;
            unsigned char *png = (unsigned char *)test_read_file(path, &size);
            static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
            int ok = png && size > 24 && memcmp(png, signature, 8) == 0 && memcmp(png + 12, "IHDR", 4) == 0;
            if (ok) {
                unsigned width = (unsigned)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
                unsigned height = (unsigned)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
                ok = width >= 400 && width <= 4000 && height >= 300 && height <= 4000;
            }
            pngs++;
            bad_png += !ok;
            free(png);
        }
    }
    CHECK(references > 5 && missing == 0, "%s: %d of %d references missing", label, missing, references);
    CHECK(pngs >= min_pngs && bad_png == 0, "%s: %d of %d PNGs invalid (at least %d expected)", label, bad_png, pngs,
          min_pngs);
    free(html);
}

static void test_injected_nan(const char *base)
{
    char dir[4200], output[16384], report[4300];
    snprintf(dir, sizeof dir, "%s/injected", base);
    int status = nanprobe_run(output, sizeof output, "train", TINY, "--epochs=3",
                              "--inject=inf-backward@layer=conv3d_8,step=30", "--out", dir, NULL);
    CHECK(status == 3, "injected run: exit %d:\n%s", status, output);
    snprintf(report, sizeof report, "%s/report/verdict.txt", dir);
    char *verdict = test_read_file(report, NULL);
    CHECK(verdict && strstr(verdict, "step 30") && strstr(verdict, "output_grad of conv3d_8") &&
              strstr(verdict, "backward pass"),
          "the verdict does not name step 30, conv3d_8's output_grad and the backward pass:\n%s",
          verdict ? verdict : "(none)");
    CHECK(strstr(output, "report:") != NULL, "train did not print where the report is:\n%s", output);
    if (verdict) printf("  injected-NaN verdict: %.*s\n", (int)strcspn(verdict, "\n"), verdict);
    free(verdict);
    snprintf(report, sizeof report, "%s/report", dir);
    check_report_files(report, "injected NaN report", 6);
}

/* A learning rate raised to 3000 on resuming a healthy run: every Adam
 * step moves each weight by about lr, and the deepest BatchNorm's batch
 * variance one step after the raise grows like lr^10 through the residual
 * stream (measured at lr 300, 1000, 3000: 1.4e22, 2.4e27, 1.4e32; 4e37 one
 * step later at 3000), so it crosses FLT_MAX within a few steps, decades at
 * a time, under any summation order.  The earlier lr of 300 stalled near
 * 1e38: about 15 steps after the raise the head's ReLUs died and every
 * kernel gradient became exactly 0, so whether it overflowed depended on the
 * BLAS kernel's rounding (under Prescott and Haswell it never did).  The
 * precursor must name the origin layer and a statistic that grew; the step
 * and the size of the growth are not asserted. */
static void test_natural_nan(const char *base)
{
    char dir[4200], output[16384], path[4300];
    snprintf(dir, sizeof dir, "%s/natural", base);
    int status = nanprobe_run(output, sizeof output, "train", TINY, "--epochs=20", "--max-steps=48", "--no-report",
                              "--quiet", "--out", dir, NULL);
    CHECK(status == 0, "healthy part: exit %d:\n%s", status, output);
    status = nanprobe_run(output, sizeof output, "train", "--resume", dir, "--lr=3000", "--quiet", NULL);
    CHECK(status == 3, "lr 3000: exit %d, expected a NaN stop:\n%s", status, output);
    /* The report command on the finished database (as a user would run it). */
    char out_dir[4300];
    snprintf(out_dir, sizeof out_dir, "%s/again", dir);
    snprintf(path, sizeof path, "%s/run.db", dir);
    status = nanprobe_run(output, sizeof output, "report", path, "-o", out_dir, NULL);
    CHECK(status == 0, "nanprobe report: exit %d:\n%s", status, output);
    const char *first = strstr(output, "First non-finite value at step");
    const char *precursor = strstr(output, "Precursor: ");
    CHECK(first && precursor, "no verdict printed:\n%s", output);
    if (!first || !precursor) return;
    /* The origin layer is named after " of " in the first line. */
    char origin[64] = "";
    const char *of = strstr(first, " of ");
    if (of) sscanf(of + 4, "%63s", origin);
    char expected[96];
    snprintf(expected, sizeof expected, "of %s ", origin);
    int names_origin = strstr(precursor, expected) != NULL && strstr(precursor, "Precursor: ") == precursor;
    int grew = strncmp(strstr(precursor, expected) ? strstr(precursor, expected) + strlen(expected) : "", "(", 1) == 0 &&
               strstr(precursor, " grew ") != NULL;
    CHECK(origin[0] && names_origin && grew,
          "the precursor should name the origin layer %s and a statistic that grew:\n%.*s", origin,
          (int)strcspn(precursor, "\n"), precursor);
    printf("  natural-NaN verdict: %.*s\n", (int)strcspn(first, "\n"), first);
    printf("  %.*s\n", (int)strcspn(precursor, "\n"), precursor);
    check_report_files(out_dir, "natural NaN report", 6);
}

/* A run name full of shell and HTML syntax: nothing runs, the page is whole. */
static void test_hostile_name(const char *base)
{
    char dir[4200], output[16384], marker[4300], path[4300];
    snprintf(dir, sizeof dir, "%s/hostile", base);
    snprintf(marker, sizeof marker, "%s/pwned", base);
    char name[20000];
    snprintf(name, sizeof name, "`touch %s` $(touch %s) ';system(\"touch %s\");' \"<script>alert(1)</script>\n!touch %s",
             marker, marker, marker, marker);
    int status = nanprobe_run(output, sizeof output, "train", TINY, "--epochs=1", "--name", name, "--out", dir,
                              "--inject=nan-input@step=5,sample=0", NULL);
    CHECK(status == 3, "hostile-name run: exit %d:\n%s", status, output);
    struct stat st;
    CHECK(stat(marker, &st) != 0, "a command in the run name was executed");
    snprintf(path, sizeof path, "%s/report/index.html", dir);
    char *html = test_read_file(path, NULL);
    CHECK(html && !strstr(html, "<script>alert") && strstr(html, "&lt;script&gt;") && strstr(html, "</html>"),
          "the page is not escaped or not whole");
    free(html);
    snprintf(path, sizeof path, "%s/report", dir);
    check_report_files(path, "hostile-name report", 6);
}

static void test_ablate_and_compare(const char *base)
{
    char dir[4200], output[16384], path[4300];
    snprintf(dir, sizeof dir, "%s/ablation", base);
    int status = nanprobe_run(output, sizeof output, "ablate", "--grid", "init=he_normal,glorot_uniform", "--grid",
                              "l2=0,1e-4", TINY, "--epochs=2", "--jobs=2", "--out", dir, NULL);
    CHECK(status == 0, "ablate: exit %d:\n%s", status, output);
    int arms = 0;
    for (const char *p = output; (p = strstr(p, "completed")) != NULL; p++) arms++;
    CHECK(arms == 4, "ablate: %d of 4 arms completed:\n%s", arms, output);
    CHECK(strstr(output, "init=glorot_uniform l2=1e-4") != NULL, "arms are not labelled by their settings");
    snprintf(path, sizeof path, "%s/compare", dir);
    check_report_files(path, "ablation comparison", 3);

    /* compare on two of the arms, by hand. */
    char a[4300], b[4300], out[4300];
    snprintf(a, sizeof a, "%s/arm-1-init_he_normal_l2_0/run.db", dir);
    snprintf(b, sizeof b, "%s/arm-4-init_glorot_uniform_l2_1e-4/run.db", dir);
    snprintf(out, sizeof out, "%s/pair", dir);
    status = nanprobe_run(output, sizeof output, "compare", a, b, "-o", out, NULL);
    CHECK(status == 0, "compare: exit %d:\n%s", status, output);
    check_report_files(out, "compare of two arms", 3);

    status = nanprobe_run(output, sizeof output, "ablate", "--grid", "depth=18,20", TINY, "--out", dir, NULL);
    CHECK(status == 2 && strstr(output, "--depth expects one of"), "a bad grid value must be refused before any "
                                                                   "arm runs: exit %d:\n%s",
          status, output);
    status = nanprobe_run(output, sizeof output, "report", "/nonexistent/run.db", NULL);
    CHECK(status == 1 && strstr(output, "/nonexistent/run.db"), "report of a missing file: exit %d:\n%s", status,
          output);
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    char base[256];
    if (test_temp_dir(base, sizeof base, "pipeline")) return 1;
    test_injected_nan(base);
    test_natural_nan(base);
    test_hostile_name(base);
    test_ablate_and_compare(base);
    test_remove_tree(base);
    return test_finish();
}
