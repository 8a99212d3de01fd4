build-chk/tests/test_pipeline: tests/test_pipeline.c tests/test_util.h
tests/test_util.h:
