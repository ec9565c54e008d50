#!/bin/bash
# fetch.sh - the fetch row of `make bench`: `ocspstaple fetch` against a loopback responder
# (tests/helpers/http_stub.py serving a canned good response after a fixed latency), wall time
# against the floor entries x latency / concurrency, against a sequential fetch (one request at
# a time) measured in the same run, and a dead responder (accepts, never answers) against
# fetch_timeout. Targets: within 1.5 x the floor; at most 2 x fetch_timeout. The concurrent run
# is also made with --dry-run first (every request, no file written): the difference is what
# the atomic writes (one fsync per file, overlapping with the requests, and one per directory
# at the end of the run) cost on the disk of $TMPDIR.
#
#   tests/bench/fetch.sh BUILD_DIR [--smoke]
#
# --smoke: 20 entries at 10 ms, functional checks only (every file written, the dead
# responder's files untouched, the exit statuses); no timing is judged. Exit status 1 when a
# functional check failed; missed targets are shown, not failed on (as in bench.c).
set -eu

build=$1
smoke=${2:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
cmd="$build/ocspstaple"
[ "${build#/}" != "$build" ] || cmd="$root/$build/ocspstaple"
stub="$root/tests/helpers/http_stub.py"
if [ "$smoke" = --smoke ]; then
    entries=20 latency=10 timeout=1
else
    entries=1000 latency=50 timeout=2
fi
concurrency=16
work=$(mktemp -d "${TMPDIR:-/tmp}/ocspstaple-bench-fetch.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A CA, a leaf and a good response for it (ECDSA P-256: quick to make).
(
    cd "$work"
    ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    # shellcheck disable=SC2086
    openssl req -x509 $ec -keyout ca.key -out ca.pem -subj /CN=bench-ca -days 2 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign
    # shellcheck disable=SC2086
    openssl req $ec -keyout leaf.key -out leaf.csr -subj /CN=bench.test
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem \
        -days 2
    cat leaf.pem ca.pem > chain.pem
    serial=$(openssl x509 -in leaf.pem -noout -serial | cut -d= -f2)
    printf 'V\t301231000000Z\t\t%s\tunknown\t/CN=bench.test\n' "$serial" > index.txt
    openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der
    openssl ocsp -index index.txt -CA ca.pem -rsigner ca.pem -rkey ca.key -reqin req.der \
        -respout good.der -ndays 7
) > "$work/gen.log" 2>&1 || { cat "$work/gen.log" >&2; exit 1; }

# port_listening PORT - something listens on 127.0.0.1:PORT (from /proc, no probe).
port_listening() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp
}

# start_stub MODE [OPTIONS] - the stub on a free port; sets $url.
start_stub() {
    local port i
    while :; do
        port=$((10000 + RANDOM % 22000))
        port_listening "$port" || break
    done
    python3 "$stub" "$port" "$@" --lifetime 600 > "$work/stub.$port.log" 2>&1 < /dev/null &
    pids+=($!)
    for i in $(seq 1 100); do
        port_listening "$port" && break
        sleep 0.1
    done
    url="http://127.0.0.1:$port/"
}

# config FILE DIR SETTINGS - $entries entries for the leaf asking $url, responses in DIR.
config() {
    local i
    mkdir -p "$2"
    {
        echo 'log_target = "stderr";'
        echo "$3"
        echo "staples = ("
        for i in $(seq 1 "$entries"); do
            [ "$i" = 1 ] || echo ","
            printf '{ certificate = "%s/chain.pem"; response = "%s/%d.der"; responder = "%s"; }' \
                "$work" "$2" "$i" "$url"
        done
        echo ");"
    } > "$1"
}

# timed CONF EXPECTED_STATUS [ARGS] - run fetch, print the wall time in ms; fail on another
# exit status.
timed() {
    local conf=$1 want=$2 start end rc=0
    shift 2
    start=$(date +%s%N)
    "$cmd" fetch -c "$conf" "$@" > "$conf.log" 2>&1 || rc=$?
    end=$(date +%s%N)
    if [ "$rc" != "$want" ]; then
        echo "fetch -c $conf exited $rc, not $want; its log:" >&2
        tail -n 5 "$conf.log" >&2
        return 1
    fi
    echo $(((end - start) / 1000000))
}

# written DIR N - DIR holds N non-empty response files.
written() {
    local n
    n=$(find "$1" -name '*.der' -size +0 | wc -l)
    [ "$n" = "$2" ] || { echo "$1: $n response files written, not $2" >&2; return 1; }
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "MISSED") }'; }

failed=0
start_stub canned --file "$work/good.der" --latency "$latency"
config "$work/concurrent.conf" "$work/concurrent" \
    "fetch_concurrency = $concurrency; fetch_per_responder = $concurrency;"
config "$work/sequential.conf" "$work/sequential" "fetch_concurrency = 1; fetch_per_responder = 1;"
dry=$(timed "$work/concurrent.conf" 0 --dry-run) || failed=1
conc=$(timed "$work/concurrent.conf" 0) && written "$work/concurrent" "$entries" || failed=1
seq_ms=$(timed "$work/sequential.conf" 0) && written "$work/sequential" "$entries" || failed=1

start_stub hang
config "$work/dead.conf" "$work/dead" "fetch_timeout = $timeout;"
for i in $(seq 1 "$entries"); do cp "$work/good.der" "$work/dead/$i.der"; done
dead=$(timed "$work/dead.conf" 1 --force) || failed=1
for i in $(seq 1 "$entries"); do
    cmp -s "$work/good.der" "$work/dead/$i.der" || { echo "dead/$i.der changed" >&2; failed=1; }
done
grep -q "gave no answer within $timeout s" "$work/dead.conf.log" || failed=1

floor=$((entries * latency / concurrency))
echo
echo "fetch: $entries entries, one loopback responder answering after $latency ms (tests/bench/fetch.sh)"
echo
printf '| %-58s | %10s | %-34s |\n' "run" "wall time" "against"
printf '| %-58s | %10s | %-34s |\n' "$(printf '%.58s' ----------------------------------------------------------)" \
    "----------" "----------------------------------"
if [ "$failed" = 0 ]; then
    r=$(ratio "$conc" "$floor")
    t="$r x the floor ($floor ms)"
    [ "$smoke" = --smoke ] || t="$t, target <= 1.5: $(verdict "$r" 1.5)"
    printf '| %-58s | %7s ms | %-34s |\n' \
        "concurrent: fetch_concurrency = fetch_per_responder = $concurrency" "$conc" "$t"
    printf '| %-58s | %7s ms | %-34s |\n' "the same with --dry-run (asks and checks, writes nothing)" \
        "$dry" "$(ratio "$dry" "$floor") x the floor"
    printf '| %-58s | %7s ms | %-34s |\n' "sequential: one request at a time, same run" "$seq_ms" \
        "$(ratio "$seq_ms" "$conc") x the concurrent run"
    r=$(ratio "$dead" $((timeout * 1000)))
    t="$r x fetch_timeout ($timeout s)"
    [ "$smoke" = --smoke ] || t="$t, target <= 2: $(verdict "$r" 2)"
    printf '| %-58s | %7s ms | %-34s |\n' \
        "dead responder (accepts, never answers), $entries entries" "$dead" "$t"
else
    echo "fetch: a functional check failed (see above)"
fi
exit "$failed"
