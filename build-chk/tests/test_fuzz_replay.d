build-chk/tests/test_fuzz_replay: tests/test_fuzz_replay.c \
 tests/fuzz/fuzz_npy.c tests/fuzz/fuzz.h src/data/dataset.h \
 src/core/error.h src/data/video_source.h src/data/video.h src/data/npy.h \
 tests/fuzz/fuzz_options.c src/cli/options.h src/cli/train_cli.h \
 src/cli/options.h src/run/train.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/data/video_source.h \
 tests/fuzz/fuzz_inject.c probes/inject.h tests/fuzz/fuzz_rundata.c \
 probes/db.h reports/precursor.h reports/rundata.h reports/replay_data.h \
 probes/db_replay.h probes/db.h reports/rules.h reports/rundata.h \
 reports/strbuf.h reports/verdict.h reports/cause.h reports/mechanism.h \
 reports/precursor.h reports/rules.h reports/strbuf.h tests/test_util.h
tests/fuzz/fuzz_npy.c:
tests/fuzz/fuzz.h:
src/data/dataset.h:
src/core/error.h:
src/data/video_source.h:
src/data/video.h:
src/data/npy.h:
tests/fuzz/fuzz_options.c:
src/cli/options.h:
src/cli/train_cli.h:
src/cli/options.h:
src/run/train.h:
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
tests/fuzz/fuzz_inject.c:
probes/inject.h:
tests/fuzz/fuzz_rundata.c:
probes/db.h:
reports/precursor.h:
reports/rundata.h:
reports/replay_data.h:
probes/db_replay.h:
probes/db.h:
reports/rules.h:
reports/rundata.h:
reports/strbuf.h:
reports/verdict.h:
reports/cause.h:
reports/mechanism.h:
reports/precursor.h:
reports/rules.h:
reports/strbuf.h:
tests/test_util.h:
