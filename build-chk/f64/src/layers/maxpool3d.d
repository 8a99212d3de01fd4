build-chk/f64/src/layers/maxpool3d.o: src/layers/maxpool3d.c \
 src/layers/maxpool3d.h src/core/real.h src/core/real_names.h \
 src/core/error.h src/layers/window.h
src/layers/maxpool3d.h:
src/core/real.h:
src/core/real_names.h:
src/core/error.h:
src/layers/window.h:
