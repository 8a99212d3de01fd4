build-chk/probes/sentinel.o: probes/sentinel.c probes/sentinel.h \
 src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/core/error.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h src/core/stats.h src/core/finite.h
probes/sentinel.h:
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
src/core/stats.h:
src/core/finite.h:
