#!/bin/sh
# layout_graph.sh BUILD - the dependencies between the files of shim/, one "FROM TO" pair a
# line (file names without their extension, FOLDER/NAME), for tsort: FROM includes TO's header,
# or FROM's object uses a symbol that TO's object defines (objects as built in BUILD/core and
# BUILD/cmd, which between them compile every file of shim/ but preload's). Every file is
# listed as a pair with itself too, so that tsort knows it.
set -eu
build=$1
cd "$(dirname "$0")/../.."

# Includes: "name.h" resolved in the including file's folder, else in common/.
for f in shim/*/*.c shim/*/*.h; do
    from=${f#shim/}
    from=${from%.*}
    echo "$from $from"
    dir=$(dirname "$f")
    sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f" | while read -r h; do
        if [ -e "$dir/$h.h" ]; then
            echo "$from ${dir#shim/}/$h"
        elif [ -e "shim/common/$h.h" ]; then
            echo "$from common/$h"
        fi
    done
done

# Symbols: who defines each global symbol, then who uses it.
defs=$(mktemp)
trap 'rm -f "$defs"' EXIT
for o in "$build"/core/*/*.o "$build"/cmd/*/*.o "$build"/preload/preload/*.o "$build"/scope/*/*.o; do
    name=${o#"$build"/*/}
    nm --defined-only -g "$o" | awk -v f="${name%.o}" 'NF == 3 { print $3, f }'
done | sort -u > "$defs"
for o in "$build"/core/*/*.o "$build"/cmd/*/*.o "$build"/preload/preload/*.o "$build"/scope/*/*.o; do
    name=${o#"$build"/*/}
    nm --undefined-only "$o" | awk '{ print $NF }' | sort -u |
        join - "$defs" | awk -v f="${name%.o}" '$2 != f { print f, $2 }'
done | sort -u
