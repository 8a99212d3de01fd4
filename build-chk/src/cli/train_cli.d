build-chk/src/cli/train_cli.o: src/cli/train_cli.c src/cli/train_cli.h \
 src/core/error.h src/cli/options.h src/run/train.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/data/video_source.h \
 src/data/video.h src/cli/data_cmd.h src/data/dataset.h \
 src/data/video_source.h
src/cli/train_cli.h:
src/core/error.h:
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
src/data/video.h:
src/cli/data_cmd.h:
src/data/dataset.h:
src/data/video_source.h:
