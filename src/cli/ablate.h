/* ablate.h: `nanprobe ablate`, every arm of a grid of train options, then
 * the comparison report (see ablate.c). */
#ifndef NANPROBE_ABLATE_H
#define NANPROBE_ABLATE_H

/* argv holds the options after "ablate"; returns the exit status. */
int ablate_main(int argc, char **argv);

#endif
