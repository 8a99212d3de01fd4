#!/bin/sh
# Runs the examples of the documentation:
#   tools/docs_check.sh NANPROBE_BINARY FILE.md...
# The convention (docs/architecture.md, "The documentation"):
#   - a ```sh block opens with one of
#       # runnable              it must exit 0
#       # runnable: exit N      it must exit N (3: a run that stops at a NaN; 2: a refused option)
#       # not run: REASON       shown only (it needs your data, mpirun, root, minutes); REASON says
#                               which test covers it
#     and a ```sh block with neither marker is an error;
#   - every ```sql block runs against the database of `nanprobe demo` (sqlite3 -bail).
# The runnable blocks of one file run in order in one scratch directory (a later block may use
# what an earlier one wrote), with `nanprobe` on PATH and $NANPROBE_SRC the source tree.
set -u
binary=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
NANPROBE_SRC=$(pwd)
export NANPROBE_SRC
work=$(mktemp -d)
mkdir "$work/bin"
ln -s "$binary" "$work/bin/nanprobe"
"$binary" demo -o "$work/demo" > "$work/demo.log" 2>&1 || { cat "$work/demo.log"; echo "docs-check: the demo failed"; exit 1; }
failed=0
ran=0
shown=0
for file in "$@"; do
    scratch=$(mktemp -d)
    blocks=$(mktemp -d)
    # Every fenced sh or sql block into blocks/NNN.sh or NNN.sql, in order.
    awk -v dir="$blocks" '
        /^```(sh|sql)[ \t]*$/ && !inside { inside = 1; n++; kind = substr($0, 4); sub(/[ \t]*$/, "", kind);
                                           out = sprintf("%s/%03d.%s", dir, n, kind); printf "" > out; next }
        /^```/ && inside { inside = 0; close(out); next }
        inside { print > out }
    ' "$file"
    for block in "$blocks"/*; do
        [ -f "$block" ] || continue
        name="$file, example $(basename "$block")"
        first=$(head -n 1 "$block")
        case "$block" in
        *.sql)
            sqlite3 -bail "$work/demo/run.db" < "$block" > "$block.out" 2>&1
            status=$?; expected=0 ;;
        *)
            case "$first" in
            "# not run: "?*) shown=$((shown + 1)); continue ;;
            "# runnable: exit "*) expected=$(printf '%s' "$first" | sed 's/^# runnable: exit \([0-9]*\).*/\1/') ;;
            "# runnable") expected=0 ;;
            *) echo "FAIL $name: a sh block must open with '# runnable' or '# not run: REASON'"
               failed=$((failed + 1)); continue ;;
            esac
            (cd "$scratch" && PATH="$work/bin:$PATH" sh -e "$block") > "$block.out" 2>&1
            status=$? ;;
        esac
        ran=$((ran + 1))
        if [ "$status" -ne "$expected" ]; then
            failed=$((failed + 1))
            echo "FAIL $name: exit $status, expected $expected"
            sed 's/^/    | /' "$block"
            tail -n 15 "$block.out" | sed 's/^/    > /'
        fi
    done
    rm -rf "$scratch" "$blocks"
done
rm -rf "$work"
echo "docs-check: $ran examples run, $shown shown only (marked 'not run'), $failed failed"
[ "$failed" -eq 0 ]
