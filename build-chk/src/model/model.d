build-chk/src/model/model.o: src/model/model.c src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/core/error.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h \
 src/layers/add.h src/core/array.h src/layers/avgpool3d.h \
 src/layers/dense.h src/layers/relu.h src/core/rng.h
src/model/model.h:
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/layers/conv3d.h:
src/core/error.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/layers/add.h:
src/core/array.h:
src/layers/avgpool3d.h:
src/layers/dense.h:
src/layers/relu.h:
src/core/rng.h:
