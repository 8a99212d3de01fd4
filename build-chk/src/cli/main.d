build-chk/src/cli/main.o: src/cli/main.c src/run/checkpoint.h \
 src/run/callbacks.h src/core/error.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/core/rng.h src/dist/comm.h \
 src/cli/data_cmd.h src/data/dataset.h src/data/video_source.h \
 src/data/video.h src/cli/keras_cmd.h src/run/train.h \
 src/data/video_source.h probes/db.h probes/db_memory.h src/cli/ablate.h \
 src/core/blas_kernel.h src/core/cpu.h src/core/error.h src/cli/doctor.h \
 src/cli/exit_status.h src/cli/options.h src/cli/progress.h \
 src/cli/replay_cmd.h reports/report.h src/model/summary.h \
 src/model/model.h src/cli/train_cli.h src/core/version.h
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
src/dist/comm.h:
src/cli/data_cmd.h:
src/data/dataset.h:
src/data/video_source.h:
src/data/video.h:
src/cli/keras_cmd.h:
src/run/train.h:
src/data/video_source.h:
probes/db.h:
probes/db_memory.h:
src/cli/ablate.h:
src/core/blas_kernel.h:
src/core/cpu.h:
src/core/error.h:
src/cli/doctor.h:
src/cli/exit_status.h:
src/cli/options.h:
src/cli/progress.h:
src/cli/replay_cmd.h:
reports/report.h:
src/model/summary.h:
src/model/model.h:
src/cli/train_cli.h:
src/core/version.h:
