build-chk/src/run/data_parallel.o: src/run/data_parallel.c \
 src/run/data_parallel.h src/dist/buckets.h src/dist/comm.h \
 src/core/error.h src/model/model.h src/layers/batchnorm.h \
 src/core/real.h src/core/finite.h src/layers/conv3d.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h src/dist/comm.h probes/inject.h src/dist/replicas.h \
 probes/probe.h probes/db.h probes/inject.h src/optim/optimizer.h \
 src/optim/adam.h src/core/stats.h probes/sentinel.h src/dist/shard.h \
 src/dist/shard.h src/dist/syncbn.h src/run/train.h \
 src/data/video_source.h src/data/video.h
src/run/data_parallel.h:
src/dist/buckets.h:
src/dist/comm.h:
src/core/error.h:
src/model/model.h:
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/dist/comm.h:
probes/inject.h:
src/dist/replicas.h:
probes/probe.h:
probes/db.h:
probes/inject.h:
src/optim/optimizer.h:
src/optim/adam.h:
src/core/stats.h:
probes/sentinel.h:
src/dist/shard.h:
src/dist/shard.h:
src/dist/syncbn.h:
src/run/train.h:
src/data/video_source.h:
src/data/video.h:
