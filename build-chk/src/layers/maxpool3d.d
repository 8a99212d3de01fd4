build-chk/src/layers/maxpool3d.o: src/layers/maxpool3d.c \
 src/layers/maxpool3d.h src/core/real.h src/core/finite.h \
 src/core/error.h src/layers/window.h
src/layers/maxpool3d.h:
src/core/real.h:
src/core/finite.h:
src/core/error.h:
src/layers/window.h:
