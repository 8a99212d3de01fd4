build-chk/tests/test_model: tests/test_model.c src/core/finite.h \
 src/layers/loss.h src/core/real.h src/core/finite.h src/model/model.h \
 src/layers/batchnorm.h src/layers/conv3d.h src/core/error.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h src/core/rng.h src/model/summary.h src/model/model.h \
 tests/test_util.h
src/core/finite.h:
src/layers/loss.h:
src/core/real.h:
src/core/finite.h:
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/core/error.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/core/rng.h:
src/model/summary.h:
src/model/model.h:
tests/test_util.h:
