build-dev/src/layers/relu.o: src/layers/relu.c src/layers/relu.h
src/layers/relu.h:
