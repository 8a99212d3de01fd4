build-dev/src/layers/batchnorm.o: src/layers/batchnorm.c \
 src/layers/batchnorm.h
src/layers/batchnorm.h:
