build-chk/src/layers/avgpool3d.o: src/layers/avgpool3d.c \
 src/layers/avgpool3d.h src/core/real.h src/core/finite.h
src/layers/avgpool3d.h:
src/core/real.h:
src/core/finite.h:
