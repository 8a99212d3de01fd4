/* exit_status.h: the exit statuses of every nanprobe command (decided in
 * src/cli only; docs/training.md lists them):
 *   0  done (also early stopping, --max-steps)
 *   1  a failure (bad data file, disk full, ...): the message says which
 *   2  a usage error: unknown option or bad value
 *   3  training stopped at the first non-finite value (the run.db says where)
 *   130 interrupted (Ctrl-C / SIGTERM) after a clean checkpoint */
#ifndef NANPROBE_EXIT_STATUS_H
#define NANPROBE_EXIT_STATUS_H

enum { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2, EXIT_NAN = 3, EXIT_INTERRUPTED = 130 };

#endif
