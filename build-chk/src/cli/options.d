build-chk/src/cli/options.o: src/cli/options.c src/cli/options.h \
 src/core/error.h
src/cli/options.h:
src/core/error.h:
