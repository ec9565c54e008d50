#!/usr/bin/env bash
#
# run.sh - run one libFuzzer target of build/fuzz for a while and summarise the run.
#
# Usage:  fuzz/run.sh FUZZ_DIR TARGET SECONDS [LIBFUZZER_OPTION...]
#
#   FUZZ_DIR  build/fuzz: holds the binaries, fixtures/, corpus/TARGET, artifacts/
#   TARGET    response or config (the binary is FUZZ_DIR/fuzz_TARGET)
#
# One process (no -jobs/-workers). New inputs go to FUZZ_DIR/corpus/TARGET, crashes to
# FUZZ_DIR/artifacts/TARGET-*, the log to FUZZ_DIR/TARGET.log. After the timed run, every
# input of the corpus is run once more with leak detection and full stack unwinding (so that
# LSAN_OPTIONS=suppressions=... can match frames inside uninstrumented libraries), which
# covers targets fuzzed with -detect_leaks=0 for speed. The last line printed is
#   fuzz_TARGET: EXECS execs in SECONDS s (RATE/s), corpus N inputs, crashes K [artifacts]
# and the exit status is 0 only when nothing was found.

set -uo pipefail

[[ $# -ge 3 ]] || { echo "usage: ${0##*/} FUZZ_DIR TARGET SECONDS [OPTION...]" >&2; exit 2; }
DIR=$1 TARGET=$2 SECONDS_=$3
shift 3

BIN=$DIR/fuzz_$TARGET
CORPUS=$DIR/corpus/$TARGET
LOG=$DIR/$TARGET.log
mkdir -p "$DIR/artifacts" "$CORPUS"
export OCSPSTAPLE_FUZZ_FIXTURES=${OCSPSTAPLE_FUZZ_FIXTURES:-$DIR/fixtures}
# UBSan findings abort (the build asks for -fno-sanitize-recover) with a stack.
ASAN_BASE=${ASAN_OPTIONS:-abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# -detect_leaks=0 turns off libFuzzer's per-input check; LeakSanitizer's check at exit too.
FUZZ_ASAN=$ASAN_BASE
for arg in "$@"; do
    [[ $arg == -detect_leaks=0 ]] && FUZZ_ASAN=$ASAN_BASE:detect_leaks=0
done

MARK=$DIR/artifacts/.$TARGET-start
touch "$MARK"
start=$(date +%s)
ASAN_OPTIONS=$FUZZ_ASAN "$BIN" -max_total_time="$SECONDS_" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$DIR/artifacts/$TARGET-" "$@" "$CORPUS" >"$LOG" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))

execs=$(awk -F': *' '/stat::number_of_executed_units/ { print $2 }' "$LOG" | tail -n 1)
if [[ -z $execs ]]; then # a crash ends the run before the final statistics
    execs=$(grep -Eo '^#[0-9]+' "$LOG" | tail -n 1 | tr -d '#')
fi
execs=${execs:-0}
rate=$((elapsed > 0 ? execs / elapsed : execs))

if [[ $rc -eq 0 ]]; then
    ASAN_OPTIONS=$ASAN_BASE:detect_leaks=1:fast_unwind_on_malloc=0 "$BIN" -runs=0 \
        -detect_leaks=1 -artifact_prefix="$DIR/artifacts/$TARGET-" "$CORPUS" \
        >"$DIR/$TARGET.leaks.log" 2>&1
    rc=$?
    leaks="leak pass over the corpus: $([[ $rc -eq 0 ]] && echo clean || echo "FAILED, see $DIR/$TARGET.leaks.log")"
fi

corpus=$(find "$CORPUS" -type f | wc -l)
artifacts=$(find "$DIR/artifacts" -name "$TARGET-*" -newer "$MARK" -type f | tr '\n' ' ')
crashes=$(wc -w <<<"$artifacts")
echo "fuzz_$TARGET: $execs execs in $elapsed s ($rate/s), corpus $corpus inputs, crashes $crashes${artifacts:+ [$artifacts]}${leaks:+, $leaks} (log: $LOG)"
exit "$rc"
