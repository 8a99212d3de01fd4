#!/bin/sh
# Runs the whole suite once under each OpenBLAS kernel this CPU can run,
# by forcing OPENBLAS_CORETYPE (make check-full; the only place the variable
# is set).  A test that depends on one kernel's rounding fails here.
#   tests/run_kernels.sh BUILD/tests NANPROBE_BINARY
# Kernels: Prescott (SSE3) always; Haswell with AVX2+FMA; Zen on AMD with
# AVX2+FMA; SkylakeX with AVX-512 F/BW/DQ/VL.  The CPU's features come from
# `nanprobe doctor`, the same detection the kernel choice uses.
set -u
dir=$1
binary=$2
info=$("$binary" doctor --seconds 0 2>&1) || { printf '%s\n' "$info"; echo "run_kernels: nanprobe doctor failed"; exit 1; }
features=" $(printf '%s\n' "$info" | sed -n 's/^CPU features usable (CPU and OS): //p') "
has() { case "$features" in *" $1 "*) return 0 ;; esac; return 1; }
kernels="Prescott"
if has avx2 && has fma; then
    kernels="$kernels Haswell"
    case "$info" in *AuthenticAMD*) kernels="$kernels Zen" ;; esac
fi
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then kernels="$kernels SkylakeX"; fi
echo "kernels to check: $kernels"
failed=""
total_pass=0
total_fail=0
for kernel in $kernels; do
    echo "=== OPENBLAS_CORETYPE=$kernel"
    output=$(OPENBLAS_CORETYPE=$kernel tests/run_tests.sh "$dir" "$binary" 2>&1)
    status=$?
    printf '%s\n' "$output" | grep -v '^[0-9]* passed, [0-9]* failed$'
    line=$(printf '%s\n' "$output" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    pass=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    fail=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    total_pass=$((total_pass + ${pass:-0}))
    total_fail=$((total_fail + ${fail:-0}))
    if [ $status -ne 0 ]; then
        [ "${fail:-0}" -gt 0 ] || total_fail=$((total_fail + 1))
        failed="$failed $kernel"
    fi
done
echo "$total_pass passed, $total_fail failed"
if [ -n "$failed" ]; then
    echo "failing under:$failed"
    exit 1
fi
