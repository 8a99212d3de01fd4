build-chk/src/core/tensor.o: src/core/tensor.c src/core/tensor.h \
 src/core/real.h src/core/finite.h
src/core/tensor.h:
src/core/real.h:
src/core/finite.h:
