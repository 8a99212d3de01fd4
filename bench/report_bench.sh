#!/bin/sh
# Times `report_write` on a 10,000-step ResNet3D-34 run database.
#   bench/report_bench.sh [DIR]     (default DIR: bench/results/report)
# Builds the library with the normal flags (BUILD=... to use another build
# directory) and bench/report_bench.c against it (make), creates DIR/run.db once
# (~1.7 GB, one to three minutes; delete it to regenerate), reads the file
# once so the page cache is warm, then times report_write(DIR/run.db,
# DIR/report), best of 3.  Not part of `make test`.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-bench/results/report}
build=${BUILD:-build}
make --no-print-directory BUILD="$build" "$build/bench/report_bench"
mkdir -p "$dir"
[ -f "$dir/run.db" ] || "$build/bench/report_bench" --generate-only "$dir"
cat "$dir/run.db" > /dev/null # warm the page cache: the report is what is timed
"$build/bench/report_bench" --repeat 3 "$dir"
