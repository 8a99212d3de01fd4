build-chk/src/cli/doctor.o: src/cli/doctor.c src/cli/doctor.h \
 src/core/blas_kernel.h src/core/cpu.h src/core/error.h \
 src/cli/exit_status.h src/cli/options.h src/core/error.h \
 src/core/version.h
src/cli/doctor.h:
src/core/blas_kernel.h:
src/core/cpu.h:
src/core/error.h:
src/cli/exit_status.h:
src/cli/options.h:
src/core/error.h:
src/core/version.h:
