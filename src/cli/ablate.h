/* ablate.h: `nanprobe ablate`, every arm of a grid of train options, then
 * the comparison report (see ablate.c). */
#ifndef NANPROBE_ABLATE_H
#define NANPROBE_ABLATE_H

struct dist_comm;

/* argv holds the options after "ablate"; returns the exit status.  Under
 * mpirun (comm of several ranks) rank r trains arms r, r+N, r+2N, ... and
 * rank 0 writes the comparison when every rank is done. */
int ablate_main(int argc, char **argv, struct dist_comm *comm);

#endif
