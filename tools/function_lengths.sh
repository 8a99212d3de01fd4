#!/bin/sh
# function_lengths.sh: lists the functions longer than LIMIT lines (default
# 80), longest first, as "lines file:line name".
#
#   tools/function_lengths.sh [LIMIT] [FILE...]    (default: src probes reports)
#
# A function is counted from its signature's first line to the closing
# brace in column 0, the layout every file here follows.
limit=${1:-80}
[ $# -gt 0 ] && shift
[ $# -eq 0 ] && set -- $(ls src/*/*.c probes/*.c reports/*.c reports/*/*.c)
awk -v limit="$limit" '
    FNR == 1 { start = 0 }
    /^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ && start == 0 { start = FNR; sig = $0 }
    /^\{/ && start > 0 { inside = 1 }
    /^\}/ && inside {
        n = FNR - start + 1
        name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
        if (n > limit) printf "%4d %s:%d %s\n", n, FILENAME, start, name
        start = 0; inside = 0
    }
    /^[^ \t{}#\/]/ && !/\(/ && !inside { start = 0 }
' "$@" | sort -rn
