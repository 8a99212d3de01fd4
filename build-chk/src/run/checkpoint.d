build-chk/src/run/checkpoint.o: src/run/checkpoint.c src/run/checkpoint.h \
 src/run/callbacks.h src/core/error.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/core/rng.h
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
