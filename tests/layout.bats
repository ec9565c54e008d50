#!/usr/bin/env bats
# The source tree is the architecture: shim/preload/ is the preload object (libc only),
# shim/core/ the core object (the handshake path), shim/cmd/ the command, shim/common/ what the
# core and the command share. These tests hold the boundaries on the objects as built, and keep
# the files free of dependency loops.

load helpers/common

# global_symbols OBJECT... - the global symbols the objects define, one a line.
global_symbols() {
    nm --defined-only -g "$@" 2> /dev/null | awk 'NF == 3 { print $3 }' | sort -u
}

# all_symbols ARTIFACT - every symbol name in the linked object's symbol table (hidden
# functions are local there, but named).
all_symbols() {
    nm "$1" | awk 'NF == 3 { print $3 }' | sort -u
}

@test "the preload object needs libc only, and every symbol it imports is libc's" {
    run bash -c "readelf -d '$SHIM' | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'"
    assert_success
    for lib in $output; do
        case $lib in
            libc.so.* | ld-linux*.so.*) ;; # glibc: the C library and its dynamic loader
            libasan.so.* | libtsan.so.* | libubsan.so.*) [ -n "${OCSPSTAPLE_SANITIZE:-}" ] ;;
            *) fail "libocspstaple.so needs $lib" ;;
        esac
    done
    [ -n "${OCSPSTAPLE_SANITIZE:-}" ] && return 0
    libs=$(ldd "$SHIM" | awk '/libc\.so|ld-linux/ { print ($3 ~ /^\//) ? $3 : $1 }')
    nm -D --defined-only $libs | awk 'NF == 3 { sub(/@.*/, "", $3); print $3 }' | sort -u \
        > "$BATS_TEST_TMPDIR/libc.syms"
    nm -D --undefined-only "$SHIM" | awk '$1 == "U" { sub(/@.*/, "", $2); print $2 }' | sort -u \
        > "$BATS_TEST_TMPDIR/imports"
    run comm -23 "$BATS_TEST_TMPDIR/imports" "$BATS_TEST_TMPDIR/libc.syms"
    assert_success
    assert_output ""
}

@test "the preload object holds shim/preload/ and common/log.c, nothing of core/, cmd/ or the rest of common/" {
    all_symbols "$SHIM" > "$BATS_TEST_TMPDIR/in"
    global_symbols "$BUILD_DIR"/core/core/*.o "$BUILD_DIR"/cmd/cmd/*.o \
        $(ls "$BUILD_DIR"/cmd/common/*.o | grep -v '/log\.o$') > "$BATS_TEST_TMPDIR/foreign"
    [ -s "$BATS_TEST_TMPDIR/foreign" ]
    run comm -12 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/foreign"
    assert_output ""
    # and it does hold what it is made of
    global_symbols "$BUILD_DIR"/preload/common/log.o > "$BATS_TEST_TMPDIR/log"
    run comm -13 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/log"
    assert_output ""
}

@test "the handshake path (the core object) links nothing of shim/cmd/" {
    all_symbols "$BUILD_DIR/libocspstaple-core.so" > "$BATS_TEST_TMPDIR/in"
    global_symbols "$BUILD_DIR"/cmd/cmd/*.o | grep -vx main > "$BATS_TEST_TMPDIR/cmd"
    [ -s "$BATS_TEST_TMPDIR/cmd" ]
    run comm -12 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/cmd"
    assert_output ""
}

@test "the command links nothing of the handshake path (shim/core/, shim/preload/)" {
    all_symbols "$OCSPSTAPLE_CMD" > "$BATS_TEST_TMPDIR/in"
    global_symbols "$BUILD_DIR"/core/core/*.o "$BUILD_DIR"/preload/preload/*.o \
        > "$BATS_TEST_TMPDIR/core"
    [ -s "$BATS_TEST_TMPDIR/core" ]
    run comm -12 "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/core"
    assert_output ""
}

@test "the core and the command share one validation implementation (common/ in both)" {
    for f in validate files config; do
        sym=$(global_symbols "$BUILD_DIR/core/common/$f.o" | head -n 1)
        [ -n "$sym" ]
        all_symbols "$BUILD_DIR/libocspstaple-core.so" | grep -qx "$sym"
        all_symbols "$OCSPSTAPLE_CMD" | grep -qx "$sym"
    done
}

@test "each folder includes only its own headers and common/'s (preload: log.h and core_abi.h)" {
    cd "$ROOT/shim"
    bad=""
    for f in */*.c */*.h; do
        dir=${f%%/*}
        for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
            case $dir in
                preload) case $h in log.h | core_abi.h) continue ;; esac
                         [ -e "preload/$h" ] && continue ;;
                common) [ -e "common/$h" ] && continue ;;
                *) [ -e "$dir/$h" ] || [ -e "common/$h" ] && continue ;;
            esac
            bad="$bad $f:$h"
        done
    done
    [ -z "$bad" ] || fail "includes across a boundary:$bad"
}

@test "no two files of shim/ depend on each other in a loop (includes and symbols)" {
    run bash -c "'$ROOT/tests/helpers/layout_graph.sh' '$BUILD_DIR' | tsort"
    refute_output --partial "loop"
    assert_success
}

@test "the loop check finds a loop when there is one" {
    # The graph of the tree plus one edge back: timefmt uses nothing, check uses timefmt.
    run bash -c "{ '$ROOT/tests/helpers/layout_graph.sh' '$BUILD_DIR'; echo 'cmd/timefmt cmd/check'; } | tsort"
    assert_failure
    assert_output --partial "loop"
}

@test "every source file is in a folder: nothing left at the top of shim/" {
    run bash -c "ls '$ROOT'/shim/*.c '$ROOT'/shim/*.h 2> /dev/null"
    assert_output ""
}
