# responder.bash - OCSP responders for the fetch tests: OpenSSL's own (`openssl ocsp`) behind
# the HTTP stub, a canned one and misbehaving ones. Load after helpers/common.


# start_responder INDEX [SIGNER] [DIR] - an OCSP responder answering for DIR/ca.pem (default
# $FX) from DIR/INDEX, responses valid 7 days, signed by DIR/SIGNER.pem (default: the CA
# itself). OpenSSL's own responder makes every answer (`openssl ocsp -reqin/-respout`, one run
# per request), behind http_stub.py on 127.0.0.1 only: OpenSSL 3.0's `openssl ocsp -port`
# would listen on every address. Extra stub options (--latency, --log, ...) in STUB_ARGS.
start_responder() {
    local index=$1 signer=${2:-ca} dir=${3:-$FX}
    # shellcheck disable=SC2086
    start_stub ocsp --dir "$dir" --index "$index" --signer "$signer" ${STUB_ARGS:-}
}

stop_responder() {
    kill -TERM -- "-$RESPONDER_PID" 2> /dev/null || kill "$RESPONDER_PID" 2> /dev/null || true
    wait "$RESPONDER_PID" 2> /dev/null || true
}

# start_stub MODE [OPTIONS...] - tests/helpers/http_stub.py on $RESPONDER_PORT (a free port, or
# $STUB_PORT when set), on 127.0.0.1; $RESPONDER_URL is its URL.
start_stub() {
    RESPONDER_PORT=${STUB_PORT:-$(free_port)}
    RESPONDER_LOG="$BATS_TEST_TMPDIR/stub.$RESPONDER_PORT.log"
    setsid python3 "$ROOT/tests/helpers/http_stub.py" "$RESPONDER_PORT" "$@" \
        > "$RESPONDER_LOG" 2>&1 < /dev/null 3>&- &
    RESPONDER_PID=$!
    echo "$RESPONDER_PID" >> "$HOSTS_FILE"
    wait_listening "$RESPONDER_PORT" "$RESPONDER_PID" "$RESPONDER_LOG"
    RESPONDER_URL="http://127.0.0.1:$RESPONDER_PORT/"
}

# make_response OUT FAKETIME_OFFSET NDAYS [INDEX] - an OCSP response for rsa.pem signed by the
# CA as if made at now+OFFSET (e.g. -6d, +1h), valid NDAYS days.
make_response() {
    local out=$1 offset=$2 days=$3 index=${4:-index.txt}
    (cd "$FX" && openssl ocsp -issuer ca.pem -cert rsa.pem -no_nonce \
        -reqout "$BATS_TEST_TMPDIR/req.der" > /dev/null 2>&1 &&
        faketime -f "$offset" openssl ocsp -index "$index" -CA ca.pem -rsigner ca.pem \
            -rkey ca.key -reqin "$BATS_TEST_TMPDIR/req.der" -respout "$out" -ndays "$days" \
            > /dev/null 2>&1)
}

# this_update FILE - the thisUpdate line of a response file.
this_update() {
    openssl ocsp -respin "$1" -resp_text -noverify 2>/dev/null | grep -m1 "This Update:" |
        sed 's/^ *//'
}
