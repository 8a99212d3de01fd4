build-chk/src/layers/window.o: src/layers/window.c src/layers/window.h
src/layers/window.h:
