build-chk/tests/test_mpi: tests/test_mpi.c src/layers/batchnorm.h \
 src/core/real.h src/core/finite.h src/run/checkpoint.h \
 src/run/callbacks.h src/core/error.h src/model/model.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/core/rng.h src/data/dataset.h \
 src/data/video_source.h src/data/video.h src/layers/loss.h \
 src/dist/merge.h src/core/stats.h src/optim/optimizer.h src/optim/adam.h \
 src/dist/shard.h tests/test_util.h
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
src/run/checkpoint.h:
src/run/callbacks.h:
src/core/error.h:
src/model/model.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/core/rng.h:
src/data/dataset.h:
src/data/video_source.h:
src/data/video.h:
src/layers/loss.h:
src/dist/merge.h:
src/core/stats.h:
src/optim/optimizer.h:
src/optim/adam.h:
src/dist/shard.h:
tests/test_util.h:
