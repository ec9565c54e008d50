# responder.bash - OCSP responders for the fetch tests: OpenSSL's own (`openssl ocsp`) and a
# misbehaving stub. Load after helpers/common.


# start_responder INDEX [SIGNER] - `openssl ocsp` answering for $FX/ca.pem from $FX/INDEX on
# $RESPONDER_PORT, responses valid 7 days, signed by $FX/SIGNER.pem (default: the CA itself). OpenSSL 3.0's responder stops answering after a
# connection that sends no request, so readiness is read from /proc, never probed.
start_responder() {
    local index=$1 signer=${2:-ca}
    RESPONDER_PORT=$(free_port)
    RESPONDER_LOG="$BATS_TEST_TMPDIR/responder.$RESPONDER_PORT.log"
    (cd "$FX" && exec setsid openssl ocsp -index "$index" -port "$RESPONDER_PORT" \
        -rsigner "$signer.pem" -rkey "$signer.key" -CA ca.pem -ndays 7) \
        > "$RESPONDER_LOG" 2>&1 < /dev/null 3>&- &
    RESPONDER_PID=$!
    echo "$RESPONDER_PID" >> "$HOSTS_FILE"
    wait_listening "$RESPONDER_PORT" "$RESPONDER_PID" "$RESPONDER_LOG"
    RESPONDER_URL="http://127.0.0.1:$RESPONDER_PORT/"
}

stop_responder() {
    kill -TERM -- "-$RESPONDER_PID" 2> /dev/null || kill "$RESPONDER_PID" 2> /dev/null || true
    wait "$RESPONDER_PID" 2> /dev/null || true
}

# start_stub MODE - tests/helpers/http_stub.py on $RESPONDER_PORT.
start_stub() {
    RESPONDER_PORT=$(free_port)
    RESPONDER_LOG="$BATS_TEST_TMPDIR/stub.$RESPONDER_PORT.log"
    setsid python3 "$ROOT/tests/helpers/http_stub.py" "$RESPONDER_PORT" "$1" \
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
