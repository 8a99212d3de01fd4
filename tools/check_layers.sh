#!/bin/sh
# check_layers.sh: fails when a source file includes a header from a layer
# above its own, or names a header by path.
#
#   tools/check_layers.sh FOLDER=INCLUDE_FLAGS ...
#
# The Makefile passes each folder with the -I flags it compiles with
# (from the SEES_ table), so the layer order is written down once.
# Every #include "NAME" of a .c or .h file in FOLDER must be a bare file
# name (no "../", no directory part) found in one of FOLDER's -I
# directories (the generated ones too: the Makefile builds them first).
# System headers (<...>) are not checked.
status=0
for spec in "$@"; do
    folder=${spec%%=*}
    flags=${spec#*=}
    dirs=
    for flag in $flags; do
        case $flag in -I*) dirs="$dirs ${flag#-I}" ;; esac
    done
    for file in "$folder"/*.c "$folder"/*.h; do
        [ -f "$file" ] || continue
        # "line:name" for every quoted include.
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
            sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/' > "${TMPDIR:-/tmp}/check_layers.$$"
        while IFS=: read -r line name; do
            case $name in
            */*)
                echo "$file:$line: #include \"$name\" names a directory; use the bare header name (the build's -I paths say which layers $folder may see)"
                status=1
                continue
                ;;
            esac
            found=
            for d in $dirs; do
                if [ -f "$d/$name" ]; then found=$d; break; fi
            done
            if [ -z "$found" ]; then
                echo "$file:$line: #include \"$name\" is not in $folder's layer or below (allowed: $dirs)"
                status=1
            fi
        done < "${TMPDIR:-/tmp}/check_layers.$$"
        rm -f "${TMPDIR:-/tmp}/check_layers.$$"
    done
done
# A new folder must be placed in the layering (a SEES_ line and an entry in LAYERS).
for d in src/*/ probes/ reports/ reports/*/; do
    d=${d%/}
    case " $* " in *" $d="*) ;; *)
        echo "$d: not in the layer check; give it a SEES_ line in the Makefile and add it to LAYERS"
        status=1 ;;
    esac
done
[ $status -eq 0 ] && echo "layers: every #include looks down (checked $# folders)"
exit $status
