build-chk/src/layers/relu.o: src/layers/relu.c src/layers/relu.h \
 src/core/real.h src/core/finite.h
src/layers/relu.h:
src/core/real.h:
src/core/finite.h:
