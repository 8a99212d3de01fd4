/* rundir.h: a run directory (--out DIR) as one unit: its database, its
 * checkpoint and the identity that binds them, and the lock that keeps a
 * second trainer out.
 *
 * The lock is flock() on the directory itself, held for as long as the
 * rundir is open: the kernel drops it when the process dies however it
 * dies, so a killed trainer never leaves a stale lock behind.  The identity
 * is a random 128-bit id written into runs.identity and into every
 * checkpoint; --resume accepts only a checkpoint whose identity is the
 * database's. */
#ifndef NANPROBE_RUNDIR_H
#define NANPROBE_RUNDIR_H

#include "error.h"

#define RUNDIR_DATABASE "run.db"

typedef enum rundir_state {
    RUNDIR_EMPTY, /* no run.db: a new run may start here (leftovers of a killed start are replaced) */
    RUNDIR_RUN,   /* run.db exists: a run lives here (it can only be resumed) */
} rundir_state;

typedef struct rundir {
    char path[4096];
    char database[4200];
    int fd;      /* the directory, locked; -1 when closed */
    int created; /* 1: this process created the directory itself */
} rundir;

/* Creates DIR (with parents) when missing and takes its lock.  Fails with a
 * message naming `option` (e.g. "--out") when DIR cannot be made, is not a
 * directory, or another nanprobe process holds it. */
int rundir_open(rundir *d, const char *path, const char *option, error *err);
rundir_state rundir_state_get(const rundir *d);
/* Releases the lock.  keep = 0 after a refused start: a directory this
 * process created is removed again when nothing but our own leftovers is
 * in it, so a refused `train` leaves nothing behind. */
void rundir_close(rundir *d, int keep);
/* A fresh identity: 32 lowercase hex digits from the kernel's random source. */
int rundir_identity_new(char out[40], error *err);

#endif
