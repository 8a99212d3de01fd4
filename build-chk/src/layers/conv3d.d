build-chk/src/layers/conv3d.o: src/layers/conv3d.c src/layers/conv3d.h \
 src/core/real.h src/core/finite.h src/core/error.h src/layers/window.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h \
 src/core/gemm.h src/core/real.h
src/layers/conv3d.h:
src/core/real.h:
src/core/finite.h:
src/core/error.h:
src/layers/window.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h:
src/core/gemm.h:
src/core/real.h:
