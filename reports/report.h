/* report.h: the report side of nanprobe, reading run.db files written by the
 * trainer and producing a browsable directory (index.html, figures as PNG and
 * SVG, the gnuplot scripts and .dat files behind them).
 *
 *   report_write   one run: the NaN report (verdict, precursor ranking,
 *                  figures, symptom rules) or, without a NaN, a health report
 *   compare_write  several runs (arms of an ablation) side by side
 *
 * Both read the most recent run_id of each database (a resumed run's rows
 * are kept under their own run_id), never print, and report failure as -1
 * with a message in err naming the file and the problem. */
#ifndef NANPROBE_REPORT_H
#define NANPROBE_REPORT_H

#include "db_cause.h"
#include "error.h"

#define REPORT_PATH_MAX 4096
#define REPORT_VERDICT_MAX 8192

typedef struct report_result {
    int had_nan;                          /* 1: the run has a 'nan' event */
    int nan_step;                         /* its step (0 without a NaN) */
    char verdict[REPORT_VERDICT_MAX];     /* plain text, a few lines */
    char out_dir[REPORT_PATH_MAX];        /* where everything was written */
    char index_path[REPORT_PATH_MAX];     /* out_dir/index.html */
    int figures_rendered;                 /* figures gnuplot turned into PNG + SVG */
    int figures_planned;                  /* figures whose .gp and .dat were written */
    db_cause_chain chain;                 /* the verdict's cause chain as rows, for the train command
                                           * to store (db_cause_store): a report only reads the run */
} report_result;

/* Writes the report of db_path into out_dir (NULL: the database's directory
 * + "/report"), creating it as needed.  result may be NULL.  When gnuplot is
 * missing or fails, the .dat/.gp files and an index.html without the missing
 * figures are still written, result is filled, and -1 is returned with
 * gnuplot's own error text in err. */
int report_write(const char *db_path, const char *out_dir, report_result *result, error *err);

/* Compares count >= 1 run databases (one arm each) into out_dir (required). */
int compare_write(const char *const *db_paths, int count, const char *out_dir, error *err);

#endif
