build-chk/f64/src/layers/batchnorm.o: src/layers/batchnorm.c \
 src/layers/batchnorm.h src/core/real.h src/core/real_names.h
src/layers/batchnorm.h:
src/core/real.h:
src/core/real_names.h:
