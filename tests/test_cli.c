/* test_cli.c: the command and option tables (src/cli/commands.h,
 * options.h) and what is made from them.
 *
 * In process: every row of every table is well formed (a unique spelling,
 * a help text, a metavar exactly when it takes a value, a default that
 * parses), the train table's defaults are train_options_defaults()'s, and
 * every command that writes something names it with -o.  Through the
 * binary: docs/options.md is what `nanprobe help --markdown` prints, the
 * man pages and the bash completion are well formed, and -o / --out work
 * for train, report, compare and export-keras on a tiny run.  The exit
 * statuses of bad values are tests/test_hostile.c's table. */
#include <math.h>
#include <sys/stat.h>

#include "commands.h"
#include "options.h"
#include "test_util.h"
#include "train_cli.h"

static const char *nanprobe;

/* Every spelling of every row differs from every other in the table. */
static void check_spellings(const command_spec *c)
{
    const char *seen[256];
    int count = 0;
    for (const option_spec *s = c->options; s->name; s++) {
        const char *spellings[3] = {s->name, s->alias, s->deprecated};
        for (int k = 0; k < 3; k++) {
            if (!spellings[k]) continue;
            for (int j = 0; j < count; j++)
                CHECK(strcmp(seen[j], spellings[k]) != 0, "%s: %s spelled twice", c->name, spellings[k]);
            if (count < 256) seen[count++] = spellings[k];
            CHECK(spellings[k][0] == '-', "%s: %s does not start with '-'", c->name, spellings[k]);
        }
    }
}

/* Help, metavar, choices, and a default that the parser itself accepts. */
static void check_rows(const command_spec *c)
{
    char base[16384];
    for (const option_spec *s = c->options; s->name; s++) {
        CHECK(s->help && *s->help, "%s %s: no help", c->name, s->name);
        CHECK((s->metavar != NULL) == (s->type != OPTION_FLAG), "%s %s: metavar exactly when it takes a value",
              c->name, s->name);
        CHECK(s->type != OPTION_CHOICE || s->choices, "%s %s: a choice without choices", c->name, s->name);
        CHECK(s->offset < sizeof base, "%s %s: offset %zu", c->name, s->name, s->offset);
        CHECK(strstr(s->help, "(default ") == NULL || s->value == NULL,
              "%s %s: the default is stated twice (help and value)", c->name, s->name);
        if (!s->value) continue;
        char arg[256];
        snprintf(arg, sizeof arg, "%s=%s", s->name, s->value);
        char *argv[] = {arg};
        int help = 0;
        error err;
        memset(base, 0, sizeof base);
        int rc = options_parse(c->name, c->options, base, 1, argv, NULL, 0, NULL, NULL, &help, &err);
        CHECK(rc == 0, "%s %s: its default '%s' does not parse: %s", c->name, s->name, s->value, err.message);
    }
}

static void check_tables(void)
{
    int count = 0;
    for (const command_spec *c = commands; c->name; c++, count++) {
        CHECK(c->synopsis && c->summary && *c->summary && c->description && *c->description && c->run,
              "%s: an incomplete row", c->name);
        CHECK(command_find(c->name) == c, "%s: found", c->name);
        check_spellings(c);
        check_rows(c);
    }
    CHECK(count >= 14, "%d commands", count);
    /* The commands that write an output name it with -o (long form --out). */
    static const char *const writers[] = {"demo", "train", "init", "ablate", "report", "compare", "export-keras",
                                          "data"};
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        const command_spec *c = command_find(writers[i]);
        const option_spec *out = options_find(c->options, "-o");
        if (!out && c->inherits) out = options_find(command_find(c->inherits)->options, "-o");
        CHECK(out && strcmp(out->name, "--out") == 0, "%s: -o is not its --out", writers[i]);
    }
    CHECK(strcmp(options_find(data_option_specs, "--sheet")->name, "--out") == 0, "data: --sheet is -o's old spelling");
}

/* The CLI's defaults are the library's (train_options_defaults). */
static void check_train_defaults(void)
{
    train_cli c;
    train_cli_init(&c);
    train_options d;
    train_options_defaults(&d);
    CHECK(model_depths[c.depth_index] == d.model.depth, "depth %d", model_depths[c.depth_index]);
    CHECK(c.o.model.width == d.model.width && c.o.model.classes == d.model.classes && c.o.data.batch == d.data.batch,
          "width, classes, batch");
    CHECK(memcmp(c.o.data.clip, d.data.clip, sizeof d.data.clip) == 0, "clip");
    CHECK(c.o.model.init == d.model.init && c.o.data.normalize == d.data.normalize && c.o.seed == d.seed,
          "init, normalize, seed");
    CHECK(c.o.model.l2 == d.model.l2 && c.o.fit.lr == d.fit.lr && c.o.fit.epochs == d.fit.epochs,
          "l2 %g, lr %g, epochs %d", c.o.model.l2, c.o.fit.lr, c.o.fit.epochs);
    CHECK(c.o.data.train_clips == d.data.train_clips && c.o.data.val_clips == d.data.val_clips, "train and val clips");
    CHECK(c.o.fit.plateau_factor == d.fit.plateau_factor && c.o.fit.plateau_patience == d.fit.plateau_patience &&
              c.o.fit.plateau_min_lr == d.fit.plateau_min_lr, "ReduceLROnPlateau");
    CHECK(c.o.probes.probe_every == d.probes.probe_every && c.o.probes.ring_steps == d.probes.ring_steps &&
              c.probes_choice == d.probes.statistics,
          "probes");
    CHECK(c.o.replay.snapshot_every == d.replay.snapshot_every && c.o.fit.steps_per_epoch == d.fit.steps_per_epoch,
          "snapshots, steps");
    CHECK(strcmp(c.o.data.source, d.data.source) == 0, "data %s", c.o.data.source);
    CHECK(c.report && !c.quiet && !c.timing, "the command's own: the report on, --quiet and --timing off");
    /* Fixed on --resume: what defines the model, the data or their order. */
    static const char *const fixed[] = {"--depth", "--width", "--clip", "--batch", "--seed", "--data", "--init"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        CHECK(options_find(train_option_specs, fixed[i])->on_resume == ON_RESUME_FIXED, "%s fixed", fixed[i]);
    CHECK(options_find(train_option_specs, "--lr")->on_resume == ON_RESUME_MAY_CHANGE, "--lr may change");
}

static char output[1 << 20];

/* docs/options.md is generated: it must be what the binary prints now. */
static void check_generated(void)
{
    int status = test_run_args(nanprobe, output, sizeof output, "help", "--markdown", NULL);
    char *committed = test_read_file("docs/options.md", NULL);
    CHECK(status == 0 && committed && strcmp(committed, output) == 0,
          "docs/options.md differs from `nanprobe help --markdown` (run make docs)");
    free(committed);
    /* The README's table of commands lists every command. */
    char *readme = test_read_file("README.md", NULL);
    for (const command_spec *c = commands; c->name; c++) {
        char row[64];
        snprintf(row, sizeof row, "| `nanprobe %s", c->name);
        CHECK(readme && strstr(readme, row), "README.md's table of commands lacks %s", c->name);
    }
    free(readme);
    for (const command_spec *c = commands; c->name; c++) {
        status = test_run_args(nanprobe, output, sizeof output, "help", c->name, "--man", NULL);
        CHECK(status == 0 && strncmp(output, ".TH NANPROBE-", 13) == 0 && strstr(output, ".SH SYNOPSIS"),
              "man page of %s", c->name);
        status = test_run_args(nanprobe, output, sizeof output, c->name, "--help", NULL);
        for (const option_spec *s = c->options; s->name; s++)
            CHECK(status == 0 && strstr(output, s->name), "%s --help lists %s", c->name, s->name);
    }
    char dir[256], path[300], command[1400];
    test_temp_dir(dir, sizeof dir, "cli");
    snprintf(path, sizeof path, "%s/nanprobe.bash", dir);
    snprintf(command, sizeof command, "'%s' help --completion > '%s' && bash -n '%s' && grep -q -- '--snapshot-every' '%s'",
             nanprobe, path, path, path);
    CHECK(system(command) == 0, "the bash completion parses and lists train's options");
    test_remove_tree(dir);
}

/* -o and --out are the same option for every command that writes. */
static void check_outputs(void)
{
    char dir[256], run[300], db[320], report[300], compared[300], h5[300];
    test_temp_dir(dir, sizeof dir, "cli-out");
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(db, sizeof db, "%s/run/run.db", dir);
    snprintf(report, sizeof report, "%s/report", dir);
    snprintf(compared, sizeof compared, "%s/compare", dir);
    snprintf(h5, sizeof h5, "%s/model.h5", dir);
    int status = test_run_args(nanprobe, output, sizeof output, "train", "--depth=18", "--width=2", "--clip=4x8x8x1",
                               "--classes=3", "--batch=2", "--train-clips=4", "--val-clips=2", "--epochs=1",
                               "--threads=1", "--quiet", "--no-report", "-o", run, NULL);
    CHECK(status == 0 && test_exists_in(run, "run.db"), "train -o DIR: status %d\n%s", status, output);
    status = test_run_args(nanprobe, output, sizeof output, "report", db, "--out", report, NULL);
    CHECK(status == 0 && test_exists_in(report, "index.html"), "report --out: status %d\n%s", status, output);
    status = test_run_args(nanprobe, output, sizeof output, "compare", db, "--out", compared, NULL);
    CHECK(status == 0 && test_exists_in(compared, "index.html"), "compare --out: status %d\n%s", status, output);
    status = test_run_args(nanprobe, output, sizeof output, "export-keras", run, "--out", h5, NULL);
    CHECK(status == 0 && test_exists_in(dir, "model.h5"), "export-keras --out: status %d\n%s", status, output);
    /* A resumed run keeps its directory, whichever spelling tries to move it. */
    status = test_run_args(nanprobe, output, sizeof output, "train", "--resume", run, "-o", report, NULL);
    CHECK(status == 2 && strstr(output, "--out cannot be given with --resume"), "resume -o: %d\n%s", status, output);
    /* One message, one prefix (replay used to print "nanprobe replay: " twice). */
    status = test_run_args(nanprobe, output, sizeof output, "replay", run, "--precision=half", NULL);
    CHECK(status == 2 && strstr(output, "--precision expects one of float, double, both") &&
              !strstr(output, "replay: nanprobe replay"), "replay --precision=half: %d\n%s", status, output);
    test_remove_tree(dir);
}

/* nanprobe demo: a natural NaN, explained, with the report's path and
 * the verdict's three lines (lr-700 of tests/test_diagnose.c checks the
 * verdict itself). */
static void check_demo(void)
{
    char dir[256], run[300];
    test_temp_dir(dir, sizeof dir, "cli-demo");
    snprintf(run, sizeof run, "%s/demo", dir);
    int status = test_run_args(nanprobe, output, sizeof output, "demo", "-o", run, "--threads=2", NULL);
    CHECK(status == 0 && strstr(output, "NaN explained in") && strstr(output, "/report/index.html") &&
              strstr(output, "\n  Cause: ") && strstr(output, "\n  Path: ") && strstr(output, "\n  Fix: ") &&
              test_exists_in(run, "report/index.html"),
          "demo: status %d\n%s", status, output);
    test_remove_tree(dir);
}

int main(int argc, char **argv)
{
    nanprobe = test_binary(argc, argv);
    check_tables();
    check_train_defaults();
    check_generated();
    check_outputs();
    check_demo();
    return test_finish();
}
