build-chk/f64/src/core/tensor.o: src/core/tensor.c src/core/tensor.h \
 src/core/real.h src/core/real_names.h
src/core/tensor.h:
src/core/real.h:
src/core/real_names.h:
