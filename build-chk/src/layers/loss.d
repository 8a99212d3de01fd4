build-chk/src/layers/loss.o: src/layers/loss.c src/layers/loss.h \
 src/core/real.h src/core/finite.h
src/layers/loss.h:
src/core/real.h:
src/core/finite.h:
