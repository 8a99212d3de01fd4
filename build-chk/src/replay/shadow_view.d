build-chk/src/replay/shadow_view.o: src/replay/shadow_view.c \
 src/replay/shadow_view.h src/model/model.h src/layers/batchnorm.h \
 src/core/real.h src/core/finite.h src/layers/conv3d.h src/core/error.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h src/replay/shadow.h src/optim/adam.h
src/replay/shadow_view.h:
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
src/replay/shadow.h:
src/optim/adam.h:
