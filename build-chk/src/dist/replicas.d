build-chk/src/dist/replicas.o: src/dist/replicas.c src/dist/replicas.h \
 src/dist/comm.h src/core/error.h probes/probe.h probes/db.h \
 probes/inject.h src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h \
 src/optim/optimizer.h src/optim/adam.h src/core/stats.h \
 probes/sentinel.h src/dist/shard.h src/dist/merge.h probes/probe_ring.h
src/dist/replicas.h:
src/dist/comm.h:
src/core/error.h:
probes/probe.h:
probes/db.h:
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
src/dist/shard.h:
src/dist/merge.h:
probes/probe_ring.h:
