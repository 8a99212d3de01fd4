build-chk/src/run/replay.o: src/run/replay.c src/run/replay.h \
 src/optim/adam.h src/core/real.h src/core/finite.h src/run/checkpoint.h \
 src/run/callbacks.h src/core/error.h src/model/model.h \
 src/layers/batchnorm.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h src/core/rng.h \
 probes/db_replay.h probes/db.h probes/sentinel.h src/core/stats.h \
 src/replay/shadow.h src/run/snapshot.h src/core/directory.h \
 src/core/finite.h probes/probe_names.h src/replay/provenance.h \
 src/replay/shadow_view.h src/replay/shadow.h
src/run/replay.h:
src/optim/adam.h:
src/core/real.h:
src/core/finite.h:
src/run/checkpoint.h:
src/run/callbacks.h:
src/core/error.h:
src/model/model.h:
src/layers/batchnorm.h:
src/layers/conv3d.h:
src/layers/window.h:
src/layers/maxpool3d.h:
src/core/tensor.h:
src/core/real.h:
src/core/rng.h:
probes/db_replay.h:
probes/db.h:
probes/sentinel.h:
src/core/stats.h:
src/replay/shadow.h:
src/run/snapshot.h:
src/core/directory.h:
src/core/finite.h:
probes/probe_names.h:
src/replay/provenance.h:
src/replay/shadow_view.h:
src/replay/shadow.h:
