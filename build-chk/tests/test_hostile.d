build-chk/tests/test_hostile: tests/test_hostile.c src/data/npy.h \
 src/core/error.h tests/test_util.h
src/data/npy.h:
src/core/error.h:
tests/test_util.h:
