build-chk/src/cli/ablate.o: src/cli/ablate.c src/cli/ablate.h \
 src/dist/comm.h src/core/error.h src/core/directory.h \
 src/cli/exit_status.h src/cli/options.h reports/report.h \
 src/cli/train_cli.h src/run/train.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/data/video_source.h \
 src/data/video.h
src/cli/ablate.h:
src/dist/comm.h:
src/core/error.h:
src/core/directory.h:
src/cli/exit_status.h:
src/cli/options.h:
reports/report.h:
src/cli/train_cli.h:
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
src/data/video.h:
