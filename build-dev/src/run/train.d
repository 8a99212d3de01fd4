build-dev/src/run/train.o: src/run/train.c src/run/train.h \
 src/core/error.h src/model/model.h src/layers/batchnorm.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h \
 src/run/callbacks.h src/run/checkpoint.h src/core/rng.h \
 src/run/data_parallel.h src/dist/buckets.h src/dist/comm.h \
 src/dist/comm.h probes/inject.h src/dist/replicas.h probes/probe.h \
 probes/db.h probes/inject.h src/optim/optimizer.h src/optim/adam.h \
 src/core/stats.h probes/sentinel.h src/dist/shard.h src/dist/shard.h \
 src/dist/syncbn.h src/data/dataset.h probes/db.h src/layers/loss.h \
 src/core/version.h
src/run/train.h:
src/core/error.h:
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h:
src/run/callbacks.h:
src/run/checkpoint.h:
src/core/rng.h:
src/run/data_parallel.h:
src/dist/buckets.h:
src/dist/comm.h:
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
src/data/dataset.h:
probes/db.h:
src/layers/loss.h:
src/core/version.h:
