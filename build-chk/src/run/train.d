build-chk/src/run/train.o: src/run/train.c src/run/train.h \
 src/core/error.h src/model/model.h src/layers/batchnorm.h \
 src/core/real.h src/core/finite.h src/layers/conv3d.h \
 src/layers/window.h src/layers/maxpool3d.h src/core/tensor.h \
 src/core/real.h src/data/video_source.h src/data/video.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h \
 /usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h \
 src/run/callbacks.h src/run/checkpoint.h src/core/rng.h \
 src/run/clip_provenance.h src/data/dataset.h src/data/video_source.h \
 probes/db_video.h probes/db.h src/run/data_parallel.h src/dist/buckets.h \
 src/dist/comm.h src/dist/comm.h probes/inject.h src/dist/replicas.h \
 probes/probe.h probes/inject.h src/optim/optimizer.h src/optim/adam.h \
 src/core/stats.h probes/sentinel.h src/dist/shard.h src/dist/shard.h \
 src/dist/syncbn.h src/core/finite.h probes/db.h src/keras/keras.h \
 src/layers/loss.h src/run/replay.h src/optim/adam.h probes/db_replay.h \
 probes/sentinel.h src/replay/shadow.h src/run/snapshot.h \
 src/run/rundir.h src/core/version.h
src/run/train.h:
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
src/data/video_source.h:
src/data/video.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h:
/usr/include/x86_64-linux-gnu/openblas-openmp/openblas_config.h:
src/run/callbacks.h:
src/run/checkpoint.h:
src/core/rng.h:
src/run/clip_provenance.h:
src/data/dataset.h:
src/data/video_source.h:
probes/db_video.h:
probes/db.h:
src/run/data_parallel.h:
src/dist/buckets.h:
src/dist/comm.h:
src/dist/comm.h:
probes/inject.h:
src/dist/replicas.h:
probes/probe.h:
probes/inject.h:
src/optim/optimizer.h:
src/optim/adam.h:
src/core/stats.h:
probes/sentinel.h:
src/dist/shard.h:
src/dist/shard.h:
src/dist/syncbn.h:
src/core/finite.h:
probes/db.h:
src/keras/keras.h:
src/layers/loss.h:
src/run/replay.h:
src/optim/adam.h:
probes/db_replay.h:
probes/sentinel.h:
src/replay/shadow.h:
src/run/snapshot.h:
src/run/rundir.h:
src/core/version.h:
