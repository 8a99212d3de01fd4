build-chk/f64/src/layers/dense.o: src/layers/dense.c src/layers/dense.h \
 src/core/real.h src/core/real_names.h src/core/gemm.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h \
 src/core/real.h
src/layers/dense.h:
src/core/real.h:
src/core/real_names.h:
src/core/gemm.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h:
src/core/real.h:
