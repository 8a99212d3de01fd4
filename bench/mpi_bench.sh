#!/bin/sh
# mpi_bench.sh: `make bench`'s data-parallel part.  On this one machine:
#   1 rank x 2 threads  against  2 ranks x 1 thread (mpirun, per-replica BN)
# on the seed's ResNet3D-34 step (16x112x112x3, global batch 8), plus the
# time per step rank 0 spends waiting for the gradient allreduce (what the
# overlap with the backward pass did not hide) and in the per-step
# agreement (loss, sentinel, merged statistics).  Seconds per step are the
# median of the steps after the first two (warm-up), from the steps table.
#   bench/mpi_bench.sh [NANPROBE] [STEPS]
set -eu
nanprobe=${1:-./nanprobe}
steps=${2:-8}
command -v mpirun >/dev/null 2>&1 || { echo "mpi_bench: mpirun is missing (apt-get install openmpi-bin)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/nanprobe-mpi-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
setup="--depth=34 --width=64 --clip=16x112x112x3 --classes=10 --batch=8 --train-clips=320 --val-clips=0 \
--max-steps=$steps --quiet --no-report --timing"

median_step() { # DB: median seconds of steps 3..N
    sqlite3 "$1" "SELECT seconds FROM steps WHERE step > 2 ORDER BY seconds" |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
field() { # JSON-LINE NAME
    printf '%s\n' "$1" | sed -n "s/.*\"$2\": \([0-9.eE+-]*\).*/\1/p"
}

# shellcheck disable=SC2086
"$nanprobe" train $setup --threads=2 --out "$tmp/one" 2> "$tmp/one.timing"
# shellcheck disable=SC2086
mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2 "$nanprobe" train $setup --threads=1 \
    --out "$tmp/two" 2> "$tmp/two.timing"
one=$(median_step "$tmp/one/run.db")
two=$(median_step "$tmp/two/run.db")
timing=$(grep '"steps"' "$tmp/two.timing" | tail -n 1)
wait=$(field "$timing" allreduce_wait)
agree=$(field "$timing" agreement)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "## Data parallel on one machine ($cpu, $(nproc) cores), ResNet3D-34, global batch 8, $steps steps"
echo
echo "| run | s/step | allreduce wait | agreement |"
echo "|---|---|---|---|"
echo "| 1 rank x 2 threads | $one | - | - |"
echo "| 2 ranks x 1 thread (mpirun) | $two | ${wait:-?} s | ${agree:-?} s |"
echo
echo "Gradient per step: 254 MB (63.5M float32), summed in buckets during backward."
