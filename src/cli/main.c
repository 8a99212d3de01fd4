/* main.c: nanprobe's entry point: finds the command in the table
 * (commands.h), chooses the BLAS kernel for those that compute, starts MPI
 * when mpirun started us, and runs the command. */
#include <stdio.h>
#include <string.h>

#include "blas_kernel.h"
#include "comm.h"
#include "commands.h"
#include "db_memory.h"
#include "exit_status.h"
#include "manual.h"
#include "options.h"

/* ------------------------------------------------------------------ main */

/* The commands that compute choose the BLAS kernel first (this may
 * re-execute the program, see blas_kernel.h); --help and the commands that
 * only read or print do not. */
static int command_computes(const command_spec *command, int argc, char **argv)
{
    int verbose_version = strcmp(command->name, "version") == 0 && options_given(argc, argv, "--verbose");
    if (!command->computes && !verbose_version) return 0;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 0;
    return 1;
}

static const command_spec *find_command(const char *name)
{
    if (strcmp(name, "--version") == 0) return command_find("version");
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) return command_find("help");
    return command_find(name);
}

int main(int argc, char **argv)
{
    /* Before SQLite's first use: its heap (see db_memory.h). */
    db_memory_install();
    if (argc < 2) {
        manual_print_usage(stderr);
        return EXIT_USAGE;
    }
    const command_spec *command = find_command(argv[1]);
    if (!command) {
        fprintf(stderr, "nanprobe: unknown command '%s'\n\n", argv[1]);
        manual_print_usage(stderr);
        return EXIT_USAGE;
    }
    /* The BLAS kernel first: choosing one may re-execute the program. */
    blas_selection blas;
    memset(&blas, 0, sizeof blas);
    error err;
    if (command_computes(command, argc, argv)) {
        if (blas_kernel_select(argv, &blas, &err)) {
            fprintf(stderr, "nanprobe: %s\n", err.message);
            return EXIT_USAGE;
        }
        if (blas.warning[0] && strcmp(argv[1], "doctor") && strcmp(argv[1], "version"))
            fprintf(stderr, "nanprobe: warning: %s\n", blas.warning);
    }
    /* MPI only when mpirun started us (comm.h); otherwise one process. */
    dist_comm comm;
    if (dist_comm_init(&comm, &argc, &argv, &err)) {
        fprintf(stderr, "nanprobe: %s\n", err.message);
        return EXIT_FAILURE_;
    }
    command_context context = {.blas = &blas, .comm = &comm};
    /* Under mpirun the commands that do not train are rank 0's alone. */
    int status = comm.rank > 0 && !command->every_rank ? EXIT_OK : command->run(argc - 2, argv + 2, &context);
    /* Every rank ends together: rank 0 may still be writing the report. */
    if (comm.active && dist_barrier_patient(&comm, &err) == 0) dist_comm_finalize(&comm);
    return status;
}
