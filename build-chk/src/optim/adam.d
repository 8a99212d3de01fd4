build-chk/src/optim/adam.o: src/optim/adam.c src/optim/adam.h \
 src/core/real.h src/core/finite.h
src/optim/adam.h:
src/core/real.h:
src/core/finite.h:
