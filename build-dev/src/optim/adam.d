build-dev/src/optim/adam.o: src/optim/adam.c src/optim/adam.h
src/optim/adam.h:
