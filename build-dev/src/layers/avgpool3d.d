build-dev/src/layers/avgpool3d.o: src/layers/avgpool3d.c \
 src/layers/avgpool3d.h
src/layers/avgpool3d.h:
