build-chk/probes/probe_names.o: probes/probe_names.c probes/probe_names.h \
 src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/core/error.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h
probes/probe_names.h:
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
