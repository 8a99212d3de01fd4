#!/bin/sh
# Runs each libFuzzer harness for a fixed time on a scratch copy of its seed
# corpus (tests/fuzz/corpus/NAME stays as checked in).
#   tools/run_fuzz.sh BUILD_DIR SECONDS NAME...
set -u
build=$1
seconds=$2
shift 2
failed=""
for name in "$@"; do
    work="$build/fuzz-corpus/$name"
    rm -rf "$work"
    mkdir -p "$work"
    cp tests/fuzz/corpus/"$name"/* "$work"/
    log="$build/fuzz-$name.log"
    # -timeout: one input taking 10 s is a hang, which is a finding too.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$build/crash-$name-" "$work" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ $status -eq 0 ]; then
        printf 'fuzz_%-8s clean: %s runs in %s s, %s\n' "$name" "${runs:-?}" "$seconds" "${cov:-cov: ?}"
    else
        printf 'fuzz_%-8s FAILED (status %d); see %s\n' "$name" "$status" "$log"
        tail -n 30 "$log"
        failed="$failed $name"
    fi
done
rm -rf /tmp/nanprobe-fuzz-* /dev/shm/nanprobe-fuzz-*
[ -z "$failed" ] || { echo "fuzz findings:$failed"; exit 1; }
