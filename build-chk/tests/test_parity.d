build-chk/tests/test_parity: tests/test_parity.c src/optim/adam.h \
 src/core/real.h src/core/finite.h src/layers/loss.h src/model/model.h \
 src/layers/batchnorm.h src/layers/conv3d.h src/core/error.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h tests/test_util.h
src/optim/adam.h:
src/core/real.h:
src/core/finite.h:
src/layers/loss.h:
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/core/error.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
tests/test_util.h:
