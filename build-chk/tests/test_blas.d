build-chk/tests/test_blas: tests/test_blas.c src/core/blas_kernel.h \
 src/core/cpu.h src/core/error.h tests/test_util.h
src/core/blas_kernel.h:
src/core/cpu.h:
src/core/error.h:
tests/test_util.h:
