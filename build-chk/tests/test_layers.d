build-chk/tests/test_layers: tests/test_layers.c src/optim/adam.h \
 src/core/real.h src/core/finite.h src/layers/add.h \
 src/layers/avgpool3d.h src/layers/batchnorm.h src/layers/conv3d.h \
 src/core/error.h src/layers/window.h src/layers/dense.h \
 src/layers/loss.h src/layers/maxpool3d.h src/model/model.h \
 src/core/tensor.h src/core/real.h src/optim/optimizer.h src/optim/adam.h \
 src/core/stats.h src/layers/relu.h src/core/rng.h tests/test_util.h
src/optim/adam.h:
src/core/real.h:
src/core/finite.h:
src/layers/add.h:
src/layers/avgpool3d.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/core/error.h:
src/layers/window.h:
src/layers/dense.h:
src/layers/loss.h:
src/layers/maxpool3d.h:
src/model/model.h:
src/core/tensor.h:
src/core/real.h:
src/optim/optimizer.h:
src/optim/adam.h:
src/core/stats.h:
src/layers/relu.h:
src/core/rng.h:
tests/test_util.h:
