#!/bin/sh
# check_f64_names.sh: fails when an object of the double build of the engine
# (real.h) defines an external symbol without the _f64 suffix: that symbol
# would clash with, or silently stand in for, its float32 twin.
#
#   tools/check_f64_names.sh OBJECT...
status=0
for o in "$@"; do
    for s in $(nm -g --defined-only "$o" | awk 'NF == 3 { print $3 }'); do
        case $s in
        *_f64) ;;
        *) echo "$o: $s has no _f64 suffix; add '#define $s ${s}_f64' to src/core/real_names.h"; status=1 ;;
        esac
    done
done
[ $status -eq 0 ] && echo "f64 names: every symbol of the double engine is suffixed ($# objects)"
exit $status
