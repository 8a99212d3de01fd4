/* blas_kernel.h: which OpenBLAS kernel nanprobe computes with, and why.
 *
 * A DYNAMIC_ARCH OpenBLAS picks its kernel in a constructor, before main(),
 * from its own table of CPU models.  Debian 12's 0.3.21 does not know recent
 * Intel models (e.g. family 6 model 207) and falls back to Prescott (SSE3):
 * sgemm then runs at a fifth of the AVX-512 rate.  The only control is the
 * environment variable OPENBLAS_CORETYPE, read in that constructor, and
 * 0.3.21 has no setter.  So when the user has not set the variable and the
 * library's kernel is weaker than what the CPU supports, blas_kernel_select()
 * sets it and re-executes the program once (/proc/self/exe, same argv, same
 * open files, so stdin/stdout and the exit status are the child's own).
 * A marker variable records the step, so this never loops:
 *   unset               -> may re-execute with a stronger kernel
 *   "upgrade:DETECTED"  -> we chose; verify one sgemm, else re-execute
 *                          once more without OPENBLAS_CORETYPE
 *   "fallback:KERNEL:DETECTED" -> the chosen kernel failed; stay.
 * A user's own OPENBLAS_CORETYPE is always respected, and
 * NANPROBE_BLAS_KERNEL=library keeps the library's own choice.
 *
 * The decision itself (blas_kernel_plan) is a pure function of the CPU's
 * features, the library's core name and the environment, so it is tested
 * for CPUs this machine is not. */
#ifndef NANPROBE_BLAS_KERNEL_H
#define NANPROBE_BLAS_KERNEL_H

#include "cpu.h"
#include "error.h"

#define BLAS_KERNEL_MARKER "NANPROBE_BLAS_REEXEC"
/* Test hooks: pretend the library detected this core (the decision, and the
 * re-execution it causes, then run for real); make the sgemm check fail. */
#define BLAS_KERNEL_TEST_DETECTED "NANPROBE_BLAS_TEST_DETECTED"
#define BLAS_KERNEL_TEST_BAD_SGEMM "NANPROBE_BLAS_TEST_BAD_SGEMM"

typedef enum blas_choice {
    BLAS_CHOICE_LIBRARY,  /* the library's own detection, kept */
    BLAS_CHOICE_NANPROBE, /* nanprobe set OPENBLAS_CORETYPE and re-executed */
    BLAS_CHOICE_USER,     /* the user's OPENBLAS_CORETYPE */
    BLAS_CHOICE_FALLBACK, /* nanprobe's kernel failed the check; back to the library's */
    BLAS_CHOICE_COUNT
} blas_choice;

extern const char *const blas_choice_names[BLAS_CHOICE_COUNT];

/* What the environment says, as blas_kernel_plan reads it. */
typedef struct blas_environment {
    const char *user_coretype;  /* OPENBLAS_CORETYPE as the user set it, or NULL */
    const char *marker;         /* BLAS_KERNEL_MARKER, or NULL */
    int keep_library;           /* NANPROBE_BLAS_KERNEL=library */
} blas_environment;

typedef struct blas_plan {
    blas_choice choice;
    int reexec;            /* 1: set OPENBLAS_CORETYPE=kernel and re-execute */
    char kernel[32];       /* the kernel to run with (or that runs) */
    char detected[32];     /* what the library detected on its own */
    char reason[160];      /* e.g. "the library detected Prescott on this CPU" */
} blas_plan;

/* The kernel OpenBLAS would best use on this CPU: "SkylakeX" (AVX-512
 * F/BW/DQ/VL), "Zen" (AMD with AVX2+FMA), "Haswell" (AVX2+FMA), or NULL. */
const char *blas_kernel_best(const cpu_info *cpu);

/* The vector width class of an OpenBLAS core name: 0 SSE (Prescott, Core2,
 * Nehalem, ..., Unknown), 1 AVX, 2 AVX2+FMA, 3 AVX-512; -1 for a name this
 * table does not know (a newer library: trusted, never overridden). */
int blas_kernel_tier(const char *core);

/* Decides, without side effects, from the CPU, the core the library runs
 * (openblas_get_corename()) and the environment. */
void blas_kernel_plan(const cpu_info *cpu, const char *library_core, const blas_environment *env, blas_plan *plan);

typedef struct blas_selection {
    blas_plan plan;        /* plan.kernel: the kernel that runs now */
    cpu_info cpu;
    char library[48];      /* "OpenBLAS 0.3.21" */
    int sgemm_ok;          /* the check against a plain loop passed */
    double sgemm_error;    /* its largest error, in units of its bound */
    char warning[256];     /* set when something did not go as planned */
} blas_selection;

/* Chooses the kernel; may not return (re-executes argv, which must be
 * main()'s argv with its NULL end).  Returns -1 with err set only for a bad
 * NANPROBE_BLAS_KERNEL value. */
int blas_kernel_select(char **argv, blas_selection *selection, error *err);

/* "OpenBLAS 0.3.21, SkylakeX kernel (the library detected Prescott on this
 * CPU)" */
void blas_selection_describe(const blas_selection *selection, char *out, unsigned long size);

/* The selection as a JSON object for runs.config_json: {"library",
 * "kernel", "choice", "detected", "reason", "threads", "sgemm_check"}. */
void blas_selection_json(const blas_selection *selection, int threads, char *out, unsigned long size);

/* One small sgemm (odd sizes, beta != 0, both transposes) against a double
 * loop.  Returns 1 when every element is within 2 K eps sum|a||b| (the
 * worst-case bound of any summation order), and its largest error in units
 * of that bound. */
int blas_kernel_check_sgemm(double *worst);

/* sgemm GFLOP/s at n x n x n on `threads` threads, measured for about
 * `seconds` (the best of the repetitions). */
double blas_kernel_sgemm_rate(int n, int threads, double seconds);

#endif
