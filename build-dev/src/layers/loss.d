build-dev/src/layers/loss.o: src/layers/loss.c src/layers/loss.h
src/layers/loss.h:
