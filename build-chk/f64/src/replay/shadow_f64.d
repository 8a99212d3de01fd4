build-chk/f64/src/replay/shadow_f64.o: src/replay/shadow_f64.c \
 src/replay/shadow.h src/optim/adam.h src/core/real.h \
 src/core/real_names.h src/core/error.h src/model/model.h \
 src/layers/batchnorm.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h \
 src/layers/loss.h
src/replay/shadow.h:
src/optim/adam.h:
src/core/real.h:
src/core/real_names.h:
src/core/error.h:
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/layers/loss.h:
