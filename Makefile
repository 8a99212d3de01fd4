# nanprobe: numerical-stability probes for a ResNet3D trained in C on OpenBLAS.
#
#   make demo    one minute: build, then train a small ResNet3D into a NaN and explain it
#   make run     install missing Debian packages (as root), build, run the main job
#   make test    build and run every test, then the sanitizer pass
#   make install PREFIX=...   the binary, man pages and bash completion (make uninstall)
#   make bench   speed / memory against TensorFlow and PyTorch (long; make tf-env, python3-torch)
#
# The build links OpenBLAS' OpenMP flavour on purpose: our own element-wise
# passes use OpenMP, and a GEMM called inside one of our parallel regions then
# runs single-threaded instead of fighting a second thread pool for 2 cores.

MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLAS_INC  := /usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIB  := /usr/lib/$(MULTIARCH)/openblas-openmp

CC       ?= gcc
OPT      ?= -O3 -march=native
# errno from sqrtf would make every loop with a square root a function call;
# -fno-math-errno changes nothing else (it is not fast-math: NaN and Inf keep
# their IEEE meaning, which the sentinel depends on).
MATH     := -fno-math-errno
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unknown-pragmas
CFLAGS   := -std=c11 $(OPT) $(MATH) -g $(WARN) -fopenmp -D_GNU_SOURCE \
            -I$(BLAS_INC) $(EXTRA_CFLAGS)
LDFLAGS  := -fopenmp -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) $(EXTRA_LDFLAGS)
LDLIBS   := -lopenblas -lsqlite3 -lm
# OpenMPI (src/dist only; MPI is initialized only under mpirun).  Its headers
# come in as system headers so -Wextra judges our code, not theirs.
MPI_CFLAGS := $(patsubst -I%,-isystem %,$(shell mpicc --showme:compile 2>/dev/null))
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
LDLIBS   += $(MPI_LIBS)

# FFmpeg (video datasets, src/data/video*.c): only src/data compiles against
# its headers; every binary links libnanprobe.a and so the libraries.
AV_PKGS   := libavformat libavcodec libswscale libavutil
AV_CFLAGS := $(shell pkg-config --cflags $(AV_PKGS) 2>/dev/null)
AV_LIBS   := $(shell pkg-config --libs $(AV_PKGS) 2>/dev/null || echo -lavformat -lavcodec -lswscale -lavutil)
LDLIBS   += $(AV_LIBS) -lpthread

BUILD    ?= build
MAIN_SRC := src/cli/main.c
# The engine (tensors, GEMM, layers, model, Adam) is compiled a second time
# with `real` = double (src/core/real.h) into $(BUILD)/f64/: the replay's
# float64 reference engine, from the same source, every symbol suffixed _f64.
# src/replay/*_f64.c are compiled in that mode only.
ENGINE_SRC := src/core/tensor.c src/core/gemm.c $(filter-out src/layers/window.c,$(wildcard src/layers/*.c)) src/model/model.c src/optim/adam.c
F64_SRC  := $(ENGINE_SRC) $(wildcard src/replay/*_f64.c)
LIB_SRC  := $(filter-out $(MAIN_SRC) $(wildcard src/replay/*_f64.c),$(wildcard src/*/*.c probes/*.c reports/*.c reports/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(F64_SRC:%.c=$(BUILD)/f64/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
DEPS     := $(LIB_OBJ:.o=.d) $(BUILD)/src/cli/main.d $(TEST_BIN:=.d)

# ---------------------------------------------------------------- layering
# The one table of the layering: which folders each folder may see, lowest
# first.  It gives every folder its -I flags in both builds (float and
# float64) and is what `make layers` checks, so an upward #include fails to
# compile and fails the check.  src/keras (Keras checkpoints in and out)
# sits above src/optim; its headers bring libhdf5's (Debian's serial build).
SEES_core    := core
SEES_layers  := $(SEES_core) layers
SEES_model   := $(SEES_layers) model
SEES_optim   := $(SEES_model) optim
SEES_data    := core data
SEES_keras   := $(SEES_optim) keras
SEES_replay  := $(SEES_optim) data replay
SEES_rundb   := $(SEES_optim) data rundb
SEES_probes  := $(SEES_rundb) probes
SEES_dist    := $(SEES_probes) dist
SEES_run     := $(SEES_dist) data replay keras run
# reports/ is the report's pipeline in stage folders, each seeing the
# stages before it: analyse (numbers and findings from the loaded run), say
# (the verdict's words), draw (figures computed in memory), write (files:
# figures, pages); reports/ itself runs them (report.c, compare.c).  The
# load stage is src/rundb's readers.
SEES_analyse := $(SEES_model) rundb analyse
SEES_say     := $(SEES_analyse) say
SEES_draw    := $(SEES_analyse) draw
SEES_write   := $(SEES_say) draw write
SEES_reports := $(SEES_write) reports
SEES_cli     := $(SEES_run) analyse say draw write reports cli
SEES_tests   := $(SEES_cli) tests
LAYERS := core layers model optim data keras replay rundb probes dist run analyse say draw write reports cli tests

HDF5_CFLAGS := $(shell pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LIBS   := $(shell pkg-config --libs hdf5 2>/dev/null || echo -lhdf5_serial)
LDLIBS      += $(HDF5_LIBS) -lzip -ljansson
# A folder's path, and the flags that come with seeing it: generated headers,
# third-party headers (MPI as system headers, so -Wextra judges our code).
layer_dir    = $(if $(filter probes reports tests,$1),$1,$(if $(filter analyse say draw write,$1),reports/$1,src/$1))
EXTRA_rundb  := -I$(BUILD)/generated
EXTRA_keras  := $(HDF5_CFLAGS)
EXTRA_tests  := -Itests/fuzz
OWN_data     := $(AV_CFLAGS)
OWN_dist     := $(MPI_CFLAGS)
$(foreach L,$(LAYERS),$(eval INC_$L := $(foreach S,$(SEES_$L),-I$(call layer_dir,$S) $(EXTRA_$S))))
$(foreach L,$(LAYERS),$(eval $(BUILD)/$(call layer_dir,$L)/%.o: LAYER_INC := $(INC_$L) $(OWN_$L)))
$(foreach L,$(LAYERS),$(eval $(BUILD)/f64/$(call layer_dir,$L)/%.o: LAYER_INC := $(INC_$L) $(OWN_$L)))

.PHONY: check-tf-precision browser-check man docs docs-check install uninstall demo all deps run test test-fast tests-build layers asan valgrind float-cast check-full check-kernels bench diagnose-bench reference keras-fixtures clean fuzz fuzz-build tf-env reference-tf check-tf

all: nanprobe

deps:
	@tools/install-deps.sh build

nanprobe: $(BUILD)/nanprobe
	cp $< $@

$(BUILD)/nanprobe: $(BUILD)/src/cli/main.o $(BUILD)/libnanprobe.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libnanprobe.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/f64/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DNANPROBE_REAL_DOUBLE $(LAYER_INC) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LAYER_INC) -MMD -MP -c -o $@ $<

# The schema is compiled in as a string, one C string literal per line.
$(BUILD)/generated/schema_sql.h: src/rundb/schema.sql
	@mkdir -p $(dir $@)
	{ echo 'static const char schema_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@
$(BUILD)/src/rundb/db.o: $(BUILD)/generated/schema_sql.h

$(BUILD)/tests/%: tests/%.c tests/test_util.h $(BUILD)/libnanprobe.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_tests) -MMD -MP -o $@ $< $(BUILD)/libnanprobe.a $(LDFLAGS) $(LDLIBS)

# The video test makes its own videos through libavcodec.
$(BUILD)/tests/test_video: INC_tests := $(INC_tests) $(AV_CFLAGS)

run: deps
	@$(MAKE) --no-print-directory nanprobe
	./nanprobe train --out runs/seed-$$(date +%Y%m%d-%H%M%S)

# The test runner takes the binaries' directory and the nanprobe binary to drive.
test: deps
	@$(MAKE) --no-print-directory nanprobe tests-build layers
	tests/run_tests.sh $(BUILD)/tests ./nanprobe
	@$(MAKE) --no-print-directory asan

tests-build: $(TEST_BIN)

test-fast: nanprobe tests-build layers
	tests/run_tests.sh $(BUILD)/tests ./nanprobe

# The layering: every quoted #include of a folder must be a bare name found
# in that folder's -I paths (SEES_ above).
layers: $(BUILD)/generated/schema_sql.h $(F64_SRC:%.c=$(BUILD)/f64/%.o)
	@tools/check_f64_names.sh $(ENGINE_SRC:%.c=$(BUILD)/f64/%.o)
	@tools/check_layers.sh $(foreach L,$(LAYERS),$(call layer_dir,$L)="$(INC_$L)")

# Same tests, built with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/.  NANPROBE_SANITIZED lets the heaviest cases shrink their sizes.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" build-asan/nanprobe tests-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  NANPROBE_SANITIZED=1 tests/run_tests.sh build-asan/tests build-asan/nanprobe

check-full: test valgrind float-cast
	NANPROBE_FULL=1 tests/run_tests.sh $(BUILD)/tests ./nanprobe
	tests/run_kernels.sh $(BUILD)/tests ./nanprobe
	tools/browser_check.sh ./nanprobe $(BUILD)/screenshots
	@$(MAKE) --no-print-directory docs-check

# The report pages in headless Chromium (part of check-full): every image
# loads, the verdict card is there; screenshots in $(BUILD)/screenshots.
browser-check: nanprobe
	tools/browser_check.sh ./nanprobe $(BUILD)/screenshots

# The hostile inputs and the Keras loader under clang's
# -fsanitize=float-cast-overflow, which gcc's UBSan does not check: a file's
# NaN or 2^63 converted to an integer is undefined behaviour, and this build
# stops at the first one (part of check-full).
FLOAT_CAST_FLAGS := -fsanitize=float-cast-overflow -fno-sanitize-recover=float-cast-overflow
float-cast:
	@$(MAKE) --no-print-directory BUILD=build-floatcast CC=clang OPT="-O1 -g" EXTRA_CFLAGS="$(FLOAT_CAST_FLAGS)" \
	  EXTRA_LDFLAGS="-fsanitize=float-cast-overflow" build-floatcast/nanprobe build-floatcast/tests/test_hostile \
	  build-floatcast/tests/test_keras build-floatcast/tests/test_fuzz_replay
	UBSAN_OPTIONS=print_stacktrace=1 tests/run_tests.sh build-floatcast/tests build-floatcast/nanprobe \
	  test_hostile test_keras test_fuzz_replay

# The suite under each OpenBLAS kernel the CPU can run (part of check-full).
check-kernels: nanprobe tests-build
	tests/run_kernels.sh $(BUILD)/tests ./nanprobe

# The numerics and data tests under valgrind's memcheck (slow: minutes).
# valgrind 3.19 cannot decode AVX-512, so this build targets AVX2
# (x86-64-v3) and OpenBLAS is told to use its AVX2 (Haswell) kernels: for
# valgrind only, never for the timed or CI runs.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
valgrind:
	@$(MAKE) --no-print-directory BUILD=build-valgrind OPT="-O2 -march=x86-64-v3" build-valgrind/nanprobe tests-build
	OMP_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell TEST_TIMEOUT=5400 \
	  tests/run_tests.sh build-valgrind/tests "$(VALGRIND) build-valgrind/nanprobe" test_data test_layers test_parity

# libFuzzer harnesses (tests/fuzz/, clang + ASan + UBSan) for the .npy parser,
# the train options, --inject, the report's run-data loader and the Keras
# loader (edits through the HDF5 API to a small valid file).  Each runs
# FUZZ_SECONDS on a scratch copy of its seed corpus; a finding stops it with
# the crashing input saved as build-fuzz/crash-*.  Every crash kept under
# tests/fuzz/corpus/ is replayed by test_fuzz_replay in `make test`.
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := npy options inject rundata keras
FUZZ_FLAGS   := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
                -Wno-pass-failed
fuzz:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g" EXTRA_CFLAGS="$(FUZZ_FLAGS)" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" fuzz-build
	tools/run_fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-build: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libnanprobe.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_tests) -fsanitize=fuzzer -o $@ $< $(BUILD)/libnanprobe.a $(LDFLAGS) -fsanitize=fuzzer $(LDLIBS)

$(BUILD)/tests/test_fuzz_replay: tests/fuzz/fuzz.h $(wildcard tests/fuzz/fuzz_*.c)

# The man pages, the bash completion and docs/options.md are printed by
# `nanprobe help` from the command and option tables in src/cli/.
man: nanprobe
	@mkdir -p $(BUILD)/man
	./nanprobe help --man > $(BUILD)/man/nanprobe.1
	for c in $$(./nanprobe help | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do \
	  ./nanprobe help $$c --man > $(BUILD)/man/nanprobe-$$c.1 || exit 1; done
	./nanprobe help --completion > $(BUILD)/nanprobe.bash

docs: nanprobe
	./nanprobe help --markdown > docs/options.md

# The examples of README.md and docs/*.md (tools/docs_check.sh): every ```sh
# block marked `# runnable` runs in a scratch directory with nanprobe on PATH,
# every ```sql block against the demo's run.db; docs/options.md must be what
# the binary prints (docs/architecture.md, "The documentation").
docs-check: nanprobe
	./nanprobe help --markdown | diff -u docs/options.md - || \
	  { echo "docs/options.md is out of date: make docs"; exit 1; }
	tools/docs_check.sh ./nanprobe README.md docs/*.md

# make install PREFIX=/opt/nanprobe (DESTDIR for packaging): the binary,
# its man pages and its bash completion; make uninstall removes them.
PREFIX  ?= /usr/local
install: nanprobe
	tools/install.sh ./nanprobe "$(DESTDIR)$(PREFIX)"

uninstall:
	tools/install.sh --uninstall "$(DESTDIR)$(PREFIX)"

# One minute: a small ResNet3D diverges by itself and the NaN is explained.
demo: deps
	@$(MAKE) --no-print-directory -j$$(nproc) nanprobe
	./nanprobe demo

# TensorFlow's model.fit is timed beside nanprobe (bench/bench_tf.py) with the
# reference environment's Python; the ratios are against it.
bench: nanprobe tf-env
	@tools/install-deps.sh bench
	bench/video_bench.sh
	TF_PY=$(abspath $(TF_PY)) /usr/bin/python3 bench/run_bench.py
	/usr/bin/python3 bench/precision_bench.py
	bench/mpi_bench.sh ./nanprobe

# The causal verdict on a larger set of known causes (about a minute).
$(BUILD)/bench/diagnose_bench: bench/diagnose_bench.c tests/diagnose_cases.h tests/test_util.h $(BUILD)/libnanprobe.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_tests) -MMD -MP -o $@ $< $(BUILD)/libnanprobe.a $(LDFLAGS) $(LDLIBS)

# report_write on a 10,000-step run database (bench/report_bench.sh).
$(BUILD)/bench/report_bench: bench/report_bench.c $(BUILD)/libnanprobe.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_tests) -MMD -MP -o $@ $< $(BUILD)/libnanprobe.a $(LDFLAGS) $(LDLIBS)

diagnose-bench: nanprobe $(BUILD)/bench/diagnose_bench
	$(BUILD)/bench/diagnose_bench ./nanprobe

reference:
	@tools/install-deps.sh reference
	/usr/bin/python3 tests/reference/make_reference.py tests/reference/fixture.bin

# The Keras checkpoint fixtures of tests/test_keras.c (needs python3-h5py, python3-torch).
keras-fixtures:
	@tools/install-deps.sh keras-fixtures
	/usr/bin/python3 tools/make_keras_fixtures.py tests/keras

# The TensorFlow / Keras reference (tools/tf_env.sh pins the versions): a
# git-ignored virtual environment, TF_ENV=/path/to/venv to reuse another.
# Only reference-tf, check-tf and bench use it; make test reads the committed
# fixtures in tests/keras/real/ instead.
TF_ENV ?= .tf-env
TF_PY  := $(TF_ENV)/bin/python
tf-env:
	@tools/tf_env.sh $(TF_ENV)

# Regenerates tests/keras/real/ with real tf_keras and Keras 3 (a few minutes).
reference-tf: tf-env nanprobe
	$(TF_PY) tools/keras_reference.py --out tests/keras/real --nanprobe ./nanprobe

# The same checks live: the Keras side made now into a scratch folder (the
# round trip through real Keras fails there if Keras drops anything), then
# test_keras_real against it.
check-tf: tf-env nanprobe tests-build
	rm -rf $(BUILD)/check-tf && mkdir -p $(BUILD)/check-tf
	$(TF_PY) tools/keras_reference.py --out $(BUILD)/check-tf --nanprobe ./nanprobe
	NANPROBE_KERAS_REAL=$(BUILD)/check-tf tests/run_tests.sh $(BUILD)/tests ./nanprobe test_keras_real
	@$(MAKE) --no-print-directory check-tf-precision

# Keras' side of the precision checks (tests/precision/, read by test_precision):
# a small ResNet3D's loss under each dtype policy from nanprobe's exported
# weights, and tf_keras' and Keras 3's loss-scale sequences for a planted pattern.
check-tf-precision: tf-env nanprobe tests-build
	$(TF_PY) tools/check_tf_precision.py tests/precision ./nanprobe
	tests/run_tests.sh $(BUILD)/tests ./nanprobe test_precision
	@git diff --quiet -- tests/precision 2>/dev/null || echo "check-tf-precision: Keras' side changed (git diff tests/precision)"

clean:
	rm -rf build build-asan build-fuzz build-floatcast nanprobe

-include $(DEPS)
