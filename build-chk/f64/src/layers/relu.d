build-chk/f64/src/layers/relu.o: src/layers/relu.c src/layers/relu.h \
 src/core/real.h src/core/real_names.h
src/layers/relu.h:
src/core/real.h:
src/core/real_names.h:
