build-chk/src/cli/progress.o: src/cli/progress.c src/cli/progress.h \
 src/run/train.h src/core/error.h src/model/model.h \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h \
 src/layers/conv3d.h src/layers/window.h src/layers/maxpool3d.h \
 src/core/tensor.h src/core/real.h src/data/video_source.h \
 src/data/video.h src/core/version.h
src/cli/progress.h:
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
src/core/version.h:
