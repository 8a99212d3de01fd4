build-chk/src/core/blas_kernel.o: src/core/blas_kernel.c \
 src/core/blas_kernel.h src/core/cpu.h src/core/error.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h \
 src/core/gemm.h src/core/real.h src/core/finite.h
src/core/blas_kernel.h:
src/core/cpu.h:
src/core/error.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h:
src/core/gemm.h:
src/core/real.h:
src/core/finite.h:
