build-chk/probes/probe_hooks.o: probes/probe_hooks.c \
 probes/probe_session.h probes/probe.h probes/db.h src/core/error.h \
 probes/inject.h src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h \
 src/optim/optimizer.h src/optim/adam.h src/core/stats.h \
 probes/sentinel.h probes/probe_names.h probes/probe_ring.h
probes/probe_session.h:
probes/probe.h:
probes/db.h:
src/core/error.h:
probes/inject.h:
src/model/model.h:
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/optim/optimizer.h:
src/optim/adam.h:
src/core/stats.h:
probes/sentinel.h:
probes/probe_names.h:
probes/probe_ring.h:
