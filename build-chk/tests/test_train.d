build-chk/tests/test_train: tests/test_train.c src/run/callbacks.h \
 tests/test_util.h
src/run/callbacks.h:
tests/test_util.h:
