#!/bin/sh
# Runs every test program in a directory and totals their closing lines.
#   tests/run_tests.sh BUILD/tests NANPROBE_BINARY [NAME...]
# Each program prints "N passed, N failed" last and exits non-zero on failure.
# A program still running after TEST_TIMEOUT seconds (default 900) is killed
# and counted as failed: a hang must fail CI, not eat its 90 minutes.
set -u
timeout_seconds=${TEST_TIMEOUT:-900}
dir=$1
binary=$2
shift 2
# A wrapper may come with the binary ("valgrind ... ./nanprobe"): it runs
# each test program; the last word is the binary the tests drive.
wrapper=""
case "$binary" in *" "*) wrapper=${binary% *}; binary=${binary##* } ;; esac
total_pass=0
total_fail=0
failed_programs=""
if [ $# -gt 0 ]; then programs="$*"; else programs=$(ls "$dir" | grep '^test_' | grep -v '\.d$' | sort); fi
for name in $programs; do
    program="$dir/$name"
    [ -x "$program" ] || continue
    start=$(date +%s)
    output=$(timeout --kill-after=10 "$timeout_seconds" $wrapper "$program" "$binary" 2>&1)
    status=$?
    [ $status -eq 124 ] && output="$output
$name: killed after ${timeout_seconds} s (TEST_TIMEOUT)"
    elapsed=$(( $(date +%s) - start ))
    line=$(printf '%s\n' "$output" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    pass=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    fail=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    [ -n "$pass" ] || pass=0
    [ -n "$fail" ] || fail=0
    if [ $status -ne 0 ] || [ -z "$line" ]; then
        [ "$fail" -gt 0 ] || fail=1
        failed_programs="$failed_programs $name"
        printf '%s\n' "$output" | tail -n 40
    fi
    printf '%-28s %4d passed, %2d failed  (%ds)\n' "$name" "$pass" "$fail" "$elapsed"
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
done
echo "$total_pass passed, $total_fail failed"
if [ -n "$failed_programs" ]; then
    echo "failing:$failed_programs"
    exit 1
fi
