build-chk/src/optim/optimizer.o: src/optim/optimizer.c \
 src/optim/optimizer.h src/optim/adam.h src/core/real.h src/core/finite.h \
 src/model/model.h src/layers/batchnorm.h src/layers/conv3d.h \
 src/core/error.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/core/stats.h src/core/parallel.h
src/optim/optimizer.h:
src/optim/adam.h:
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
src/core/stats.h:
src/core/parallel.h:
