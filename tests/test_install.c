/* test_install.c: `make install` / `make uninstall` (tools/install.sh) into
 * a temporary prefix: the installed binary runs, every man page renders
 * through man(1) without a groff warning, `man nanprobe` finds the page
 * through MANPATH, the bash completion loads and completes, and uninstall
 * removes every file it installed. */
#include <sys/stat.h>

#include "test_util.h"

static char output[1 << 18];

static int shell(const char *format, ...) __attribute__((format(printf, 1, 2)));
static int shell(const char *format, ...)
{
    char command[4096];
    va_list args;
    va_start(args, format);
    vsnprintf(command, sizeof command, format, args);
    va_end(args);
    char *argv[] = {"/bin/sh", "-c", command, NULL};
    return test_run(argv, output, sizeof output);
}

int main(int argc, char **argv)
{
    const char *nanprobe = test_binary(argc, argv);
    char prefix[256];
    test_temp_dir(prefix, sizeof prefix, "install");
    int status = shell("tools/install.sh '%s' '%s'", nanprobe, prefix);
    CHECK(status == 0, "install: %d\n%s", status, output);
    CHECK(test_exists_in(prefix, "bin/nanprobe") && test_exists_in(prefix, "share/man/man1/nanprobe.1") &&
              test_exists_in(prefix, "share/man/man1/nanprobe-train.1") &&
              test_exists_in(prefix, "share/man/man1/nanprobe-demo.1") &&
              test_exists_in(prefix, "share/bash-completion/completions/nanprobe"),
          "installed files\n%s", output);

    status = shell("'%s/bin/nanprobe' version && '%s/bin/nanprobe' help", prefix, prefix);
    CHECK(status == 0 && strstr(output, "nanprobe 0.") && strstr(output, "  train "), "installed binary: %d\n%s",
          status, output);

    /* Every page through man -l; groff's warnings go to stderr, which must stay empty. */
    status = shell("cd '%s/share/man/man1' && for page in nanprobe*.1; do "
                   "MANWIDTH=100 man --warnings -E UTF-8 -P cat -l \"$page\" 2>&1 >/dev/null | sed \"s|^|$page: |\"; "
                   "done", prefix);
    CHECK(status == 0 && output[0] == '\0', "man --warnings: %d\n%s", status, output);
    status = shell("MANWIDTH=100 man -P cat -l '%s/share/man/man1/nanprobe-train.1'", prefix);
    CHECK(status == 0 && strstr(output, "--snapshot-every") && strstr(output, "fixed on --resume"),
          "man -l nanprobe-train.1: %d\n%.2000s", status, output);
    status = shell("MANPATH='%s/share/man' MANWIDTH=100 man -P cat nanprobe", prefix);
    CHECK(status == 0 && strstr(output, "EXIT STATUS") && strstr(output, "nanprobe-demo(1)"),
          "man nanprobe with MANPATH: %d\n%.2000s", status, output);

    /* The completion: commands after "nanprobe ", options after "nanprobe train --sna". */
    status = shell("bash -c '. \"%s/share/bash-completion/completions/nanprobe\"; "
                   "COMP_WORDS=(nanprobe de); COMP_CWORD=1; _nanprobe; echo \"${COMPREPLY[*]}\"; "
                   "COMP_WORDS=(nanprobe train --sna); COMP_CWORD=2; _nanprobe; echo \"${COMPREPLY[*]}\"'", prefix);
    CHECK(status == 0 && strstr(output, "demo") && strstr(output, "--snapshot-every"), "completion: %d\n%s", status,
          output);

    status = shell("tools/install.sh --uninstall '%s' && echo files: $(find '%s' -type f | wc -l)", prefix, prefix);
    CHECK(status == 0 && strstr(output, "removed nanprobe") && strstr(output, "files: 0"),
          "uninstall leaves no file: %d\n%s", status, output);
    test_remove_tree(prefix);
    return test_finish();
}
