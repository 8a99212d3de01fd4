build-chk/src/layers/batchnorm.o: src/layers/batchnorm.c \
 src/layers/batchnorm.h src/core/real.h src/core/finite.h
src/layers/batchnorm.h:
src/core/real.h:
src/core/finite.h:
