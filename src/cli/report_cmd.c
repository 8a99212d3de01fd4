/* report_cmd.c: `nanprobe report` (one run's report) and `nanprobe
 * compare` (several runs side by side). */
#include <stddef.h>
#include <stdio.h>

#include "commands.h"
#include "exit_status.h"
#include "options.h"
#include "report.h"

/* ---------------------------------------------------------------- report */

typedef struct report_cli {
    const char *out;
} report_cli;

const option_spec report_option_specs[] = {
    {"--out", "-o", OPTION_STRING, offsetof(report_cli, out), "DIR", NULL, "output directory (default: the database's directory + /report)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {0},
};

int command_report(int argc, char **argv, const command_context *context)
{
    (void)context;
    report_cli c = {0};
    const char *positional[2];
    int count = 0;
    int rc = command_options("report", &c, argc, argv, positional, 2, &count);
    if (rc >= 0) return rc;
    if (count != 1) {
        fprintf(stderr, "nanprobe report: expected one run database (RUN/run.db), got %d arguments\n", count);
        return EXIT_USAGE;
    }
    report_result result;
    error err;
    rc = report_write(positional[0], c.out, &result, &err);
    if (result.verdict[0] && (rc == 0 || result.index_path[0])) printf("%s\n", result.verdict);
    if (rc) {
        fprintf(stderr, "nanprobe report: %s\n", err.message);
        if (result.index_path[0]) fprintf(stderr, "(partial report: %s)\n", result.index_path);
        return EXIT_FAILURE_;
    }
    printf("report: %s\n", result.index_path);
    return EXIT_OK;
}

typedef struct compare_cli {
    const char *out;
} compare_cli;

const option_spec compare_option_specs[] = {
    {"--out", "-o", OPTION_STRING, offsetof(compare_cli, out), "DIR", NULL, "output directory (required)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {0},
};

int command_compare(int argc, char **argv, const command_context *context)
{
    (void)context;
    compare_cli c = {0};
    const char *positional[64];
    int count = 0;
    int rc = command_options("compare", &c, argc, argv, positional, 64, &count);
    if (rc >= 0) return rc;
    if (count < 1 || !c.out) {
        fprintf(stderr, "nanprobe compare: expected one or more run databases and -o DIR\n");
        return EXIT_USAGE;
    }
    error err;
    if (compare_write(positional, count, c.out, &err)) {
        fprintf(stderr, "nanprobe compare: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    printf("comparison: %s/index.html\n", c.out);
    return EXIT_OK;
}

