build-dev/src/model/model.o: src/model/model.c src/model/model.h \
 src/layers/batchnorm.h src/layers/conv3d.h src/core/error.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/layers/add.h src/layers/avgpool3d.h src/layers/dense.h \
 src/layers/relu.h src/core/rng.h
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/core/error.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/layers/add.h:
src/layers/avgpool3d.h:
src/layers/dense.h:
src/layers/relu.h:
src/core/rng.h:
