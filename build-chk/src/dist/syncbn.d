build-chk/src/dist/syncbn.o: src/dist/syncbn.c src/dist/syncbn.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h src/dist/comm.h \
 src/core/error.h src/model/model.h src/layers/conv3d.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h src/dist/merge.h src/core/stats.h
src/dist/syncbn.h:
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/dist/comm.h:
src/core/error.h:
src/model/model.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/dist/merge.h:
src/core/stats.h:
