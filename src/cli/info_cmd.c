/* info_cmd.c: the commands that print what nanprobe is and builds:
 * `summary` (the network as Keras prints it), `schema` (run.db's SQL) and
 * `version`. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "data_cmd.h"
#include "db.h"
#include "doctor.h"
#include "exit_status.h"
#include "keras_order.h"
#include "model.h"
#include "options.h"
#include "summary.h"
#include "version.h"

/* --------------------------------------------------------------- summary */

typedef struct summary_cli {
    int depth_index, width, classes, clip[4], split;
    const char *data;
} summary_cli;

#define S(member) offsetof(summary_cli, member)
const option_spec summary_option_specs[] = {
    {"--depth", NULL, OPTION_CHOICE, S(depth_index), "N", "34", "ResNet3D depth: 18, 34, 50, 101 or 152", 0, 0, model_depth_names, ON_RESUME_NA, NULL},
    {"--width", NULL, OPTION_INT, S(width), "N", "64", "filters of the first stage", 1, 4096, NULL, ON_RESUME_NA, NULL},
    {"--clip", NULL, OPTION_CLIP, S(clip), "DxHxWxC", "16x112x112x3", "clip shape", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--classes", NULL, OPTION_INT, S(classes), "N", "10", "output classes (with a video --data: as it holds)", 1, 100000, NULL, ON_RESUME_NA, NULL},
    {"--data", NULL, OPTION_STRING, S(data), "DIR", NULL, "a video directory: count its videos and classes (files are not probed)", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--split", NULL, OPTION_INT, S(split), "N", NULL, "with --data: UCF101 split files", 1, 99, NULL, ON_RESUME_NA, NULL},
    {0},
};

int command_summary(int argc, char **argv, const command_context *context)
{
    (void)context;
    summary_cli c = {0};
    int rc = command_options("summary", &c, argc, argv, NULL, 0, NULL);
    if (rc >= 0) return rc;
    error err;
    if (c.data) {
        char line[4500];
        int found;
        if (data_summary_line(c.data, c.split, line, sizeof line, &found, &err)) {
            fprintf(stderr, "nanprobe summary: %s\n", err.message);
            return EXIT_FAILURE_;
        }
        printf("data: %s\n", line);
        if (!options_given(argc, argv, "--classes")) c.classes = found;
    }
    model m;
    model_config config = {.depth = model_depths[c.depth_index], .width = c.width, .classes = c.classes,
                           .batch = 1, .threads = 1};
    memcpy(config.clip, c.clip, sizeof c.clip);
    if (model_build(&m, &config, &err)) {
        fprintf(stderr, "nanprobe summary: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    /* model.layers order, as Keras' model.summary() prints it. */
    int *order = malloc(sizeof(int) * (size_t)m.layer_count);
    int ordered = order && keras_layer_order(&m, order) == 0;
    summary_print(&m, ordered ? order : NULL, stdout);
    free(order);
    model_free(&m);
    return EXIT_OK;
}

/* ---------------------------------------------------------------- schema */

int command_schema(int argc, char **argv, const command_context *context)
{
    (void)context;
    int rc = command_options("schema", NULL, argc, argv, NULL, 0, NULL);
    if (rc >= 0) return rc;
    fputs(db_schema_sql(), stdout);
    return EXIT_OK;
}

/* --------------------------------------------------------------- version */

typedef struct version_cli {
    int verbose, threads;
    double seconds;
} version_cli;

const option_spec version_option_specs[] = {
    {"--verbose", NULL, OPTION_FLAG, offsetof(version_cli, verbose), NULL, NULL, "print what doctor prints", 0, 0, NULL, ON_RESUME_NA, NULL},
    {"--threads", NULL, OPTION_INT, offsetof(version_cli, threads), "N", NULL, "with --verbose: threads for the sgemm measurement (default: all cores)", 1, 1024, NULL, ON_RESUME_NA, NULL},
    {"--seconds", NULL, OPTION_DOUBLE, offsetof(version_cli, seconds), "S", "0.5", "with --verbose: how long to measure sgemm; 0 skips it", 0, 60, NULL, ON_RESUME_NA, NULL},
    {0},
};

int command_version(int argc, char **argv, const command_context *context)
{
    version_cli c = {0};
    int rc = command_options("version", &c, argc, argv, NULL, 0, NULL);
    if (rc >= 0) return rc;
    if (c.verbose) return doctor_report(c.threads, c.seconds, context->blas);
    printf("nanprobe %s\n", NANPROBE_VERSION);
    return EXIT_OK;
}

