/* doctor.h: `nanprobe doctor` (also `nanprobe version --verbose`): what a bug
 * report needs about this machine, see doctor.c. */
#ifndef NANPROBE_DOCTOR_H
#define NANPROBE_DOCTOR_H

#include "blas_kernel.h"

/* argv holds the options after the command; `blas` is what main() chose at
 * start-up.  Returns the exit status (1 when the sgemm check failed). */
int doctor_main(int argc, char **argv, const blas_selection *blas);
/* The report itself: `threads` 0 = all cores, `seconds` of sgemm (0 skips). */
int doctor_report(int threads, double seconds, const blas_selection *blas);

#endif
