#!/bin/sh
# Runs the examples of the documentation:
#   tools/docs_check.sh NANPROBE_BINARY FILE.md...
# An example is a fenced ```sh block whose first line is the comment
#   # runnable              (it must exit 0), or
#   # runnable: exit N      (it must exit N, e.g. 3 for a run that stops at a NaN).
# Other ```sh blocks are shown, not run (they need data, mpirun or root).
# The blocks of one file run in order, in one scratch directory (so a later
# block may use what an earlier one wrote), with `nanprobe` on PATH and
# $NANPROBE_SRC the source tree.
set -u
binary=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
NANPROBE_SRC=$(pwd)
export NANPROBE_SRC
bindir=$(mktemp -d)
ln -s "$binary" "$bindir/nanprobe"
failed=0
ran=0
for file in "$@"; do
    scratch=$(mktemp -d)
    blocks=$(mktemp -d)
    # Split the runnable blocks into numbered files: blocks/N.sh, first line the marker.
    awk -v dir="$blocks" '
        /^```sh[ \t]*$/ { inside = 1; first = 1; next }
        /^```/ && inside { inside = 0; if (out) close(out); out = ""; next }
        inside && first { first = 0; if ($0 ~ /^# runnable/) { n++; out = sprintf("%s/%03d.sh", dir, n); print > out } ; next }
        inside && out { print > out }
    ' "$file"
    for block in "$blocks"/*.sh; do
        [ -f "$block" ] || continue
        expected=$(sed -n '1s/^# runnable: exit \([0-9]*\).*/\1/p' "$block")
        [ -n "$expected" ] || expected=0
        (cd "$scratch" && PATH="$bindir:$PATH" sh -e "$block") > "$block.out" 2>&1
        status=$?
        ran=$((ran + 1))
        if [ "$status" -ne "$expected" ]; then
            failed=$((failed + 1))
            echo "FAIL $file, example $(basename "$block" .sh): exit $status, expected $expected"
            sed 's/^/    | /' "$block"
            tail -n 15 "$block.out" | sed 's/^/    > /'
        fi
    done
    rm -rf "$scratch" "$blocks"
done
rm -rf "$bindir"
echo "docs-check: $ran examples run, $failed failed"
[ "$failed" -eq 0 ]
