build-chk/tests/test_replay: tests/test_replay.c src/layers/loss.h \
 src/core/real.h src/core/finite.h src/data/npy.h src/core/error.h \
 src/optim/optimizer.h src/optim/adam.h src/model/model.h \
 src/layers/batchnorm.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h \
 src/core/stats.h src/run/replay.h src/optim/adam.h src/run/checkpoint.h \
 src/run/callbacks.h src/core/rng.h probes/db_replay.h probes/db.h \
 probes/sentinel.h src/replay/shadow.h src/run/snapshot.h tests/test_db.h \
 tests/test_util.h
src/layers/loss.h:
src/core/real.h:
src/core/finite.h:
src/data/npy.h:
src/core/error.h:
src/optim/optimizer.h:
src/optim/adam.h:
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/core/stats.h:
src/run/replay.h:
src/optim/adam.h:
src/run/checkpoint.h:
src/run/callbacks.h:
src/core/rng.h:
probes/db_replay.h:
probes/db.h:
probes/sentinel.h:
src/replay/shadow.h:
src/run/snapshot.h:
tests/test_db.h:
tests/test_util.h:
