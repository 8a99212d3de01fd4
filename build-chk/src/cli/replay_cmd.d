build-chk/src/cli/replay_cmd.o: src/cli/replay_cmd.c src/cli/replay_cmd.h \
 src/run/checkpoint.h src/run/callbacks.h src/core/error.h \
 src/model/model.h src/layers/batchnorm.h src/core/real.h \
 src/core/finite.h src/layers/conv3d.h src/layers/window.h \
 src/layers/maxpool3d.h src/core/tensor.h src/core/real.h src/core/rng.h \
 src/cli/exit_status.h src/cli/options.h src/cli/progress.h \
 src/run/train.h src/data/video_source.h src/data/video.h \
 reports/report.h src/cli/train_cli.h
src/cli/replay_cmd.h:
src/run/checkpoint.h:
src/run/callbacks.h:
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
src/core/rng.h:
src/cli/exit_status.h:
src/cli/options.h:
src/cli/progress.h:
src/run/train.h:
src/data/video_source.h:
src/data/video.h:
reports/report.h:
src/cli/train_cli.h:
