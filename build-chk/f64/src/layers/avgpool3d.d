build-chk/f64/src/layers/avgpool3d.o: src/layers/avgpool3d.c \
 src/layers/avgpool3d.h src/core/real.h src/core/real_names.h
src/layers/avgpool3d.h:
src/core/real.h:
src/core/real_names.h:
