build-chk/src/cli/keras_cmd.o: src/cli/keras_cmd.c src/cli/keras_cmd.h \
 src/core/error.h src/run/train.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/data/video_source.h \
 src/data/video.h src/run/checkpoint.h src/run/callbacks.h src/core/rng.h \
 src/keras/keras.h src/cli/options.h src/cli/train_cli.h
src/cli/keras_cmd.h:
src/core/error.h:
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
src/run/checkpoint.h:
src/run/callbacks.h:
src/core/rng.h:
src/keras/keras.h:
src/cli/options.h:
src/cli/train_cli.h:
