build-chk/src/run/snapshot.o: src/run/snapshot.c src/run/snapshot.h \
 src/run/checkpoint.h src/run/callbacks.h src/core/error.h \
 src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h src/core/rng.h \
 src/core/parallel.h
src/run/snapshot.h:
src/run/checkpoint.h:
src/run/callbacks.h:
src/core/error.h:
src/model/model.h:
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/core/rng.h:
src/core/parallel.h:
