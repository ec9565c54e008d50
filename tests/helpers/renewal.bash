# renewal.bash - the certificate life cycle as operators live it, for tests/renewal_*.bats: a
# certbot-style tree (live/NAME/*.pem symlinks into archive/NAME/*N.pem), renewals that issue a
# new certificate (new key, new serial, same name) and switch the symlinks atomically, OCSP
# responses for each certificate written beside the entry's response file and renamed over it,
# and the steps the servers' test files run (config_change, revoked_after_reload,
# renew_with_response, renew_certbot_order; muststaple_renewal and the renewal hook with
# stunnel). Load after common, daemons and responder: `load helpers/common`, `load
# helpers/daemons`, `load helpers/responder`, `load helpers/renewal`.
#
# A test file provides, before calling the steps:
#   D             its directory ($BATS_FILE_TMPDIR); the tree is $D/le, the CA $D/pki, the
#                 responses $D/resp, the shim's configuration $D/ocspstaple.conf
#   PORT          where the renewed certificate (live/mail/) is served (on 127.0.0.1)
#   CLIENT_ARGS   s_client arguments for it (e.g. -starttls smtp); CHECK_ARGS the same for
#                 `ocspstaple check --connect` (e.g. --starttls smtp)
#   SECOND_PORT, SECOND_ARGS  where and how the second certificate ($FX/other-chain.pem, not
#                 in the configuration at first) is served: another port, or SNI
#   SECOND_CERT   the file the second entry names (default $FX/other-chain.pem)
#   SHIMLOG       the files the shim's lines of the server end up in (space-separated)
#   ONE_PROCESS   1 when one process serves every connection (each message must appear once)
#   NEW_PROCESS_PER_CONNECTION  1 when every connection gets a new process (Dovecot's login
#                 processes): a broken configuration then has no last good to keep
#   reload_server a function: the server's own reload, as its operators run it
#   after_reload  a function, run after reload_server in revoked_after_reload: until the
#                 processes started by the reload serve (nothing to do for most servers)
#
# Times: the contract is "within 3 s"; under sanitizers everything is slower, so the limit is
# 3 s times RENEWAL_SLOW (default 1, 4 with OCSPSTAPLE_SANITIZE set). Polling goes on past the
# limit, so that a failure says how long it took, or that it never happened.

RENEWAL_SLOW=${RENEWAL_SLOW:-$([ -n "${OCSPSTAPLE_SANITIZE:-}" ] && echo 4 || echo 1)}
WITHIN=$((3 * RENEWAL_SLOW))

# --- the CA and the certbot tree ------------------------------------------------------------

# le_init - the CA ($FX's, copied into $D/pki with an empty index that every issued
# certificate is added to: `openssl ocsp` and tests/helpers/http_stub.py answer from it), the
# live/ and archive/ directories and $D/resp, all reachable by the daemons' users.
le_init() {
    mkdir -p "$D/pki" "$D/le/live" "$D/le/archive" "$D/resp"
    cp "$FX/ca.pem" "$FX/ca.key" "$D/pki/"
    : > "$D/pki/index.txt"
    echo "unique_subject = no" > "$D/pki/index.txt.attr"
    open_for_daemons "$D/le/live" "$D/le/archive" "$D/resp"
}

# le_issue NAME [muststaple] - a new certificate for NAME.example.test from the CA, with a new
# EC key and a new random serial, as archive/NAME/{cert,chain,fullchain,privkey}N.pem (N one
# more than the last); added to the CA's index as valid. Prints N. The files are readable by
# all: stunnel (setuid stunnel4) and lighttpd (www-data) read the key again on their reload
# after dropping their privileges (certbot's keys are root's alone: such servers then need a
# group that may read them).
le_issue() {
    local name=$1 must=${2:-} a n serial end
    a="$D/le/archive/$name"
    mkdir -p "$a"
    n=1
    while [ -e "$a/cert$n.pem" ]; do n=$((n + 1)); done
    {
        echo "basicConstraints = critical, CA:FALSE"
        echo "keyUsage = critical, digitalSignature"
        echo "extendedKeyUsage = serverAuth"
        echo "subjectAltName = DNS:$name.example.test"
        echo "authorityInfoAccess = OCSP;URI:http://127.0.0.1:9/"
        [ "$must" != muststaple ] || echo "tlsfeature = status_request"
    } > "$a/ext$n"
    serial=$(openssl rand -hex 16)
    serial="1${serial:1}"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$a/privkey$n.pem" \
        -subj "/CN=$name.example.test" -out "$a/csr$n" > /dev/null 2>&1 &&
        openssl x509 -req -in "$a/csr$n" -CA "$D/pki/ca.pem" -CAkey "$D/pki/ca.key" \
            -set_serial "0x$serial" -days 90 -extfile "$a/ext$n" -out "$a/cert$n.pem" > /dev/null 2>&1 ||
        { echo "le_issue $name: openssl failed" >&2; return 1; }
    cp "$D/pki/ca.pem" "$a/chain$n.pem"
    cat "$a/cert$n.pem" "$a/chain$n.pem" > "$a/fullchain$n.pem"
    chmod o+r "$a"/*"$n".pem
    open_for_daemons "$a"
    end=$(date -u -d "$(openssl x509 -in "$a/cert$n.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
    printf 'V\t%s\t\t%s\tunknown\t/CN=%s.example.test\n' "$end" "$(le_serial "$name" "$n")" "$name" \
        >> "$D/pki/index.txt"
    echo "$n"
}

# le_serial NAME N - the serial of archive/NAME/certN.pem, upper-case hex as OpenSSL prints it.
le_serial() {
    openssl x509 -in "$D/le/archive/$1/cert$2.pem" -noout -serial | sed 's/^serial=//'
}

# le_switch NAME N - point live/NAME/*.pem at archive/NAME/*N.pem, each link switched atomically
# (a new link beside it, renamed over it), as certbot does.
le_switch() {
    local name=$1 n=$2 f l
    mkdir -p "$D/le/live/$name"
    open_for_daemons "$D/le/live/$name"
    for f in cert chain fullchain privkey; do
        l="$D/le/live/$name/$f.pem"
        ln -sfn "../../archive/$name/$f$n.pem" "$l.new"
        mv -T "$l.new" "$l"
    done
}

# le_current NAME - the N that live/NAME/cert.pem points at.
le_current() {
    readlink "$D/le/live/$1/cert.pem" | sed -E 's/.*cert([0-9]+)\.pem$/\1/'
}

# le_respond NAME N good|revoked DEST - an OCSP response for archive/NAME/certN.pem, signed by
# the CA, valid 7 days, written beside DEST and renamed over it (what `ocspstaple fetch` does).
le_respond() {
    local name=$1 n=$2 status=$3 dest=$4 index="$D/pki/index.txt" serial
    if [ "$status" = revoked ]; then
        serial=$(le_serial "$name" "$n")
        index="$D/pki/index-revoked.txt"
        awk -F'\t' -v OFS='\t' -v s="$serial" -v r="$(date -u -d '1 hour ago' +%y%m%d%H%M%SZ)" \
            '$4 == s { $1 = "R"; $3 = r } { print }' "$D/pki/index.txt" > "$index"
        cp "$D/pki/index.txt.attr" "$index.attr"
    fi
    openssl ocsp -index "$index" -CA "$D/pki/ca.pem" -rsigner "$D/pki/ca.pem" \
        -rkey "$D/pki/ca.key" -issuer "$D/pki/ca.pem" -cert "$D/le/archive/$name/cert$n.pem" \
        -no_nonce -ndays 7 -respout "$dest.new.$$" > /dev/null 2>&1 ||
        { echo "le_respond $name $n: openssl ocsp failed" >&2; return 1; }
    chmod 0644 "$dest.new.$$"
    mv -f "$dest.new.$$" "$dest"
}

# le_renew NAME [muststaple] - le_issue, then le_switch to the new certificate. Sets RENEWED
# (the new N) and NEW_SERIAL.
le_renew() {
    RENEWED=$(le_issue "$@") || return 1
    le_switch "$1" "$RENEWED"
    NEW_SERIAL=$(le_serial "$1" "$RENEWED")
}

# --- the shim's configuration -----------------------------------------------------------------

# write_shim_conf [second] - $D/ocspstaple.conf, replaced atomically: $CONF_HEADER first when
# set (the test file's own settings, e.g. log_target), the live/mail entry
# (responder: $RESPONDER_URL, fixed when the file is set up, for `ocspstaple fetch`), and with
# "second" the entry of the second certificate too. Sets CONF_LINES (its number of lines).
write_shim_conf() {
    local tmp="$D/ocspstaple.conf.new"
    {
        [ -z "${CONF_HEADER:-}" ] || echo "$CONF_HEADER"
        # (A responder that is down costs fetch this long: the tests stop theirs.)
        echo "fetch_timeout = 2;"
        echo "staples = ("
        printf '    { certificate = "%s"; response = "%s"; responder = "%s"; }' \
            "$D/le/live/mail/fullchain.pem" "$D/resp/mail.der" "$RESPONDER_URL"
        if [ "${1:-}" = second ]; then
            printf ',\n    { certificate = "%s"; response = "%s"; }' "${SECOND_CERT:-$FX/other-chain.pem}" \
                "$D/resp/other.der"
        fi
        if [ -e "$D/le/live/must/fullchain.pem" ]; then
            printf ',\n    { certificate = "%s"; response = "%s"; }' "$D/le/live/must/fullchain.pem" \
                "$D/resp/must.der"
        fi
        printf '\n);\n'
    } > "$tmp"
    chmod 0644 "$tmp"
    CONF_LINES=$(wc -l < "$tmp")
    mv -f "$tmp" "$D/ocspstaple.conf"
}

# renewal_setup [muststaple] - le_init, mail's first certificate live with its good response,
# $D/resp/other.der (other-good.der), a responder URL on a free port (the responder itself runs
# only in renew_certbot_order), and the configuration without the second entry. With
# "muststaple", a Must-Staple certificate live/must/ with its response too.
renewal_setup() {
    local n
    le_init
    RESPONDER_PORT=$(free_port)
    export RESPONDER_PORT RESPONDER_URL="http://127.0.0.1:$RESPONDER_PORT/"
    n=$(le_issue mail) || return 1
    le_switch mail "$n"
    le_respond mail "$n" good "$D/resp/mail.der"
    if [ "${1:-}" = muststaple ]; then
        n=$(le_issue must muststaple) || return 1
        le_switch must "$n"
        le_respond must "$n" good "$D/resp/must.der"
    fi
    cp "$FX/other-good.der" "$D/resp/other.der"
    chmod o+r "$D/resp"/*.der
    write_shim_conf
}

# --- what a client sees -------------------------------------------------------------------

# observe PORT [s_client args...] - one handshake asking for status. Sets SERVED (serial of the
# certificate served), STAPLED (serial in the staple's CertID, empty without a staple),
# STAPLE_STATUS (good, revoked, unknown; empty without a staple) and OBSERVED (the output).
observe() {
    local port=$1
    shift
    OBSERVED=$(echo | timeout 20 openssl s_client -connect "127.0.0.1:$port" -status "$@" 2>&1)
    # The first certificate after "Server certificate" (the staple's own certificates, printed
    # before it, are not the one served).
    SERVED=$(sed -n '/^Server certificate/,/^-----END CERTIFICATE-----/p' <<< "$OBSERVED" |
        openssl x509 -noout -serial 2> /dev/null | sed 's/^serial=//')
    STAPLED=$(sed -n 's/^ *Serial Number: \([0-9A-F][0-9A-F]*\)$/\1/p' <<< "$OBSERVED" | head -n 1)
    STAPLE_STATUS=$(sed -n 's/^ *Cert Status: \([a-z]*\).*/\1/p' <<< "$OBSERVED" | head -n 1)
    case $OBSERVED in *"OCSP response: no response sent"*) STAPLED="" STAPLE_STATUS="" ;; esac
}

# now_ms - the clock, in milliseconds.
now_ms() {
    echo $((${EPOCHREALTIME/./} / 1000))
}

# eventually_serves_stapled SERIAL LIMIT PORT [s_client args...] - until the certificate served
# is SERIAL and the staple is a good response for SERIAL; fails when that took longer than
# LIMIT seconds (it keeps trying up to 2 * LIMIT + 5 s to say how long it took, or that it
# never happened). Sets TOOK_MS.
eventually_serves_stapled() {
    local serial=$1 limit=$2 port=$3 start end
    shift 3
    start=$(now_ms)
    end=$((start + (2 * limit + 5) * 1000))
    while :; do
        observe "$port" "$@"
        if [ "$SERVED" = "$serial" ] && [ "$STAPLED" = "$serial" ] && [ "$STAPLE_STATUS" = good ]; then
            TOOK_MS=$(($(now_ms) - start))
            if [ "$TOOK_MS" -gt $((limit * 1000)) ]; then
                echo "the certificate $serial was served with its good staple only after ${TOOK_MS} ms (limit ${limit} s)" >&2
                return 1
            fi
            return 0
        fi
        if [ "$(now_ms)" -gt "$end" ]; then
            echo "after $(((end - start) / 1000)) s, still not serving $serial with its good staple: served ${SERVED:-nothing}, staple ${STAPLED:-none} (${STAPLE_STATUS:-no status}); last answer:" >&2
            grep -E "subject=|OCSP|Serial Number|Cert Status|Update|error" <<< "$OBSERVED" >&2
            return 1
        fi
        sleep 0.2
    done
}

# eventually_serves SERIAL LIMIT PORT [s_client args...] - until the certificate served is
# SERIAL (whatever the staple), within LIMIT seconds.
eventually_serves() {
    local serial=$1 limit=$2 port=$3 end
    shift 3
    end=$(($(now_ms) + limit * 1000))
    while :; do
        observe "$port" "$@"
        [ "$SERVED" = "$serial" ] && return 0
        if [ "$(now_ms)" -gt "$end" ]; then
            echo "still serving ${SERVED:-nothing} instead of $serial after ${limit} s" >&2
            return 1
        fi
        sleep 0.2
    done
}

# serves_unstapled SERIAL COUNT PORT [s_client args...] - COUNT handshakes in a row serve SERIAL
# with no staple at all.
serves_unstapled() {
    local serial=$1 count=$2 port=$3 i
    shift 3
    for i in $(seq 1 "$count"); do
        observe "$port" "$@"
        if [ "$SERVED" != "$serial" ] || [ -n "$STAPLED" ] ||
            ! grep -q "OCSP response: no response sent" <<< "$OBSERVED"; then
            echo "handshake $i: served ${SERVED:-nothing} (want $serial), staple ${STAPLED:-none} (${STAPLE_STATUS:-no status})" >&2
            return 1
        fi
    done
}

# eventually_unstapled SERIAL LIMIT PORT [s_client args...] - until a handshake serves SERIAL
# with no staple, within LIMIT seconds.
eventually_unstapled() {
    local serial=$1 limit=$2 port=$3 end
    shift 3
    end=$(($(now_ms) + limit * 1000))
    while :; do
        observe "$port" "$@"
        [ "$SERVED" = "$serial" ] && [ -z "$STAPLED" ] && return 0
        if [ "$(now_ms)" -gt "$end" ]; then
            echo "after ${limit} s, still served ${SERVED:-nothing} with staple ${STAPLED:-none} (want $serial without one)" >&2
            return 1
        fi
        sleep 0.2
    done
}

# serves_stapled SERIAL COUNT PORT [s_client args...] - COUNT handshakes in a row serve SERIAL
# with a good staple for it.
serves_stapled() {
    local serial=$1 count=$2 port=$3 i
    shift 3
    for i in $(seq 1 "$count"); do
        observe "$port" "$@"
        if [ "$SERVED" != "$serial" ] || [ "$STAPLED" != "$serial" ] || [ "$STAPLE_STATUS" != good ]; then
            echo "handshake $i: served ${SERVED:-nothing} (want $serial), staple ${STAPLED:-none} (${STAPLE_STATUS:-no status})" >&2
            return 1
        fi
    done
}

# never_good COUNT PORT [s_client args...] - COUNT handshakes in a row, none with a "good" staple.
never_good() {
    local count=$1 port=$2 i
    shift 2
    for i in $(seq 1 "$count"); do
        observe "$port" "$@"
        if [ "$STAPLE_STATUS" = good ]; then
            echo "handshake $i stapled good for ${STAPLED} (served ${SERVED})" >&2
            return 1
        fi
    done
}

# eventually_never_good LIMIT PORT [s_client args...] - until a handshake carries no "good"
# staple, within LIMIT seconds.
eventually_never_good() {
    local limit=$1 port=$2 end
    shift 2
    end=$(($(now_ms) + limit * 1000))
    while :; do
        observe "$port" "$@"
        [ "$STAPLE_STATUS" != good ] && return 0
        if [ "$(now_ms)" -gt "$end" ]; then
            echo "still stapling good for ${STAPLED} after ${limit} s" >&2
            return 1
        fi
        sleep 0.2
    done
}

# still_stapled_for SECONDS PORT SERIAL [s_client args...] - for SECONDS, every handshake serves
# SERIAL with a good staple for it.
still_stapled_for() {
    local seconds=$1 port=$2 serial=$3 end n=0
    shift 3
    end=$(($(now_ms) + seconds * 1000))
    while [ "$(now_ms)" -lt "$end" ]; do
        serves_stapled "$serial" 1 "$port" "$@" || { echo "(after $n good handshakes)" >&2; return 1; }
        n=$((n + 1))
        sleep 0.2
    done
}

# connect_supported - true when this build's `ocspstaple check` has --connect (added on another
# branch; the steps below use it only then).
connect_supported() {
    "$OCSPSTAPLE_CMD" check --help 2>&1 | grep -q -- --connect
}

# --- the log ------------------------------------------------------------------------------

# log_lines WORD... - the lines of the $SHIMLOG files holding every WORD (fixed strings).
log_lines() {
    local lines
    # shellcheck disable=SC2086
    lines=$(grep -hF -- "$1" $SHIMLOG 2> /dev/null)
    shift
    while [ $# -gt 0 ]; do
        lines=$(grep -F -- "$1" <<< "$lines")
        shift
    done
    [ -n "$lines" ] && echo "$lines"
}

# eventually_logged SECONDS WORD... - until a line of $SHIMLOG holds every WORD.
eventually_logged() {
    local limit=$1 end
    shift
    end=$(($(now_ms) + limit * 1000))
    while :; do
        log_lines "$@" > /dev/null && return 0
        if [ "$(now_ms)" -gt "$end" ]; then
            echo "no line of $SHIMLOG holds all of: $* (after ${limit} s); the ocspstaple lines:" >&2
            # shellcheck disable=SC2086
            grep -h ocspstaple $SHIMLOG | tail -n 30 >&2
            return 1
        fi
        sleep 0.2
    done
}

# logged_once WORD... - the lines holding every WORD are not repeated: one per process (one in
# all when ONE_PROCESS=1), and no more of them appear in the next 2 seconds (times RENEWAL_SLOW).
logged_once() {
    local before after
    before=$(log_lines "$@" | wc -l)
    sleep $((2 * RENEWAL_SLOW))
    after=$(log_lines "$@" | wc -l)
    if [ "$after" != "$before" ]; then
        echo "logged again: $before lines, then $after, holding: $*" >&2
        log_lines "$@" >&2
        return 1
    fi
    if [ "${ONE_PROCESS:-0}" = 1 ] && [ "$after" != 1 ]; then
        echo "logged $after times (one process), holding: $*" >&2
        log_lines "$@" >&2
        return 1
    fi
}

# --- the steps ----------------------------------------------------------------------------

# renew_with_response - renewal with the new response in place before the reload: live/mail
# switched to a new certificate, its good response renamed over the entry's, the server
# reloaded: within $WITHIN s it serves the new certificate with a good staple for it, and goes
# on doing so.
renew_with_response() {
    le_renew mail
    le_respond mail "$RENEWED" good "$D/resp/mail.der"
    run reload_server
    assert_success
    run eventually_serves_stapled "$NEW_SERIAL" "$WITHIN" "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run serves_stapled "$NEW_SERIAL" 5 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
}

# renew_certbot_order - certbot's real order: renewal and reload first (the server serves the
# new certificate, with no staple; `ocspstaple check` and, where it exists, `check --connect`
# exit non-zero), then `ocspstaple fetch` against a real responder writes the new response:
# the running server, not reloaded again, staples it within $WITHIN s, the log names the new
# serial, and both checks exit 0.
renew_certbot_order() {
    le_renew mail
    run reload_server
    assert_success
    run eventually_serves "$NEW_SERIAL" "$WITHIN" "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run serves_unstapled "$NEW_SERIAL" 3 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run ocspstaple_cmd check -c "$D/ocspstaple.conf"
    assert_failure
    if connect_supported; then
        run ocspstaple_cmd check -c "$D/ocspstaple.conf" --connect "127.0.0.1:$PORT" "${CHECK_ARGS[@]}"
        assert_failure
    fi
    # The hourly timer's `ocspstaple fetch`, against OpenSSL's responder answering from the
    # CA's index (the entry's responder setting points there).
    STUB_PORT=$RESPONDER_PORT start_responder index.txt ca "$D/pki"
    run ocspstaple_cmd fetch -c "$D/ocspstaple.conf"
    assert_success
    run openssl ocsp -respin "$D/resp/mail.der" -resp_text -noverify
    assert_output --partial "Serial Number: $NEW_SERIAL"
    run eventually_serves_stapled "$NEW_SERIAL" "$WITHIN" "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run serves_stapled "$NEW_SERIAL" 5 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run eventually_logged "$WITHIN" "$D/resp/mail.der" "$NEW_SERIAL"
    assert_success
    run ocspstaple_cmd check -c "$D/ocspstaple.conf"
    assert_success
    if connect_supported; then
        run ocspstaple_cmd check -c "$D/ocspstaple.conf" --connect "127.0.0.1:$PORT" "${CHECK_ARGS[@]}"
        assert_success
    fi
}

# config_change - the second certificate, served but not configured, is not stapled; an entry
# for it added to the running server's configuration is stapled within $WITHIN s, without a
# reload, and the first entry keeps stapling; then a syntax error: both keep stapling, the log
# names the file and the line once (renewal_teardown puts the good configuration back); and
# the log had named the unconfigured certificate at warning level, with subject and serial.
config_change() {
    local mail other
    mail=$(le_serial mail "$(le_current mail)")
    other=$(openssl x509 -in "$FX/other.pem" -noout -serial | sed 's/^serial=//')
    write_shim_conf
    run serves_stapled "$mail" 1 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run serves_unstapled "$other" 2 "$SECOND_PORT" "${SECOND_ARGS[@]}"
    assert_success

    write_shim_conf second
    run eventually_serves_stapled "$other" "$WITHIN" "$SECOND_PORT" "${SECOND_ARGS[@]}"
    assert_success
    run serves_stapled "$mail" 3 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run serves_stapled "$other" 3 "$SECOND_PORT" "${SECOND_ARGS[@]}"
    assert_success

    # A syntax error on the line after the last good one.
    cp "$D/ocspstaple.conf" "$D/ocspstaple.conf.good"
    { cat "$D/ocspstaple.conf.good"; echo "this is not a setting"; } > "$D/ocspstaple.conf.new"
    chmod 0644 "$D/ocspstaple.conf.new"
    mv -f "$D/ocspstaple.conf.new" "$D/ocspstaple.conf"
    if [ "${NEW_PROCESS_PER_CONNECTION:-0}" = 1 ]; then
        # A process started after the break has no last good configuration of its own: the
        # handshakes go on (TLS is served), and each process logs the error once.
        run bash -c "echo | timeout 20 openssl s_client -connect 127.0.0.1:$PORT ${CLIENT_ARGS[*]} 2>&1"
        assert_output --partial "Verify return code"
        run eventually_logged "$WITHIN" "$D/ocspstaple.conf:$((CONF_LINES + 1))"
        assert_success
    else
        run still_stapled_for "$WITHIN" "$PORT" "$mail" "${CLIENT_ARGS[@]}"
        assert_success
        run serves_stapled "$other" 3 "$SECOND_PORT" "${SECOND_ARGS[@]}"
        assert_success
        run eventually_logged "$WITHIN" "$D/ocspstaple.conf:$((CONF_LINES + 1))"
        assert_success
        run logged_once "$D/ocspstaple.conf:$((CONF_LINES + 1))"
        assert_success
    fi
    # While it was not configured, the served certificate was logged at warning level with its
    # subject and serial.
    run eventually_logged 1 warning other.example.test "$other"
    assert_success
}

# renewal_teardown - after each test: the responder stopped, and a good configuration put back
# when a test left a broken one (config_change stops at its first failed assertion).
renewal_teardown() {
    stop_hosts_only
    if [ -e "$D/ocspstaple.conf.good" ]; then
        write_shim_conf second
        rm -f "$D/ocspstaple.conf.good"
    fi
}

# revoked_after_reload - a validly signed "revoked" response renamed over the good one: within
# $WITHIN s no handshake staples "good"; nor after the server's reload (new workers, new
# smtpd or login processes), from the first handshake on.
revoked_after_reload() {
    local n
    n=$(le_current mail)
    run serves_stapled "$(le_serial mail "$n")" 1 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    le_respond mail "$n" revoked "$D/resp/mail.der"
    run eventually_never_good "$WITHIN" "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run never_good 5 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run reload_server
    assert_success
    if declare -F after_reload > /dev/null; then
        run after_reload
        assert_success
    fi
    run never_good 8 "$PORT" "${CLIENT_ARGS[@]}"
    assert_success
    run ocspstaple_cmd check -c "$D/ocspstaple.conf"
    assert_failure 2
}

# stapled_throughout SERIAL LIMIT PORT [s_client args...] - until the certificate served is
# SERIAL (within LIMIT seconds), every handshake carries a good staple for the certificate it
# serves, the old one or the new: no handshake without one.
stapled_throughout() {
    local serial=$1 limit=$2 port=$3 end n=0
    shift 3
    end=$(($(now_ms) + limit * 1000))
    while :; do
        observe "$port" "$@"
        n=$((n + 1))
        if [ -z "$SERVED" ] || [ "$STAPLED" != "$SERVED" ] || [ "$STAPLE_STATUS" != good ]; then
            echo "handshake $n: served ${SERVED:-nothing}, staple ${STAPLED:-none} (${STAPLE_STATUS:-no status})" >&2
            return 1
        fi
        [ "$SERVED" = "$serial" ] && return 0
        if [ "$(now_ms)" -gt "$end" ]; then
            echo "still serving $SERVED instead of $serial after ${limit} s" >&2
            return 1
        fi
        sleep 0.1
    done
}

# renewal_hook [RELOAD-COMMAND...] - the shipped conf/hooks/ocspstaple-renewal-hook, with this
# build's command and the test's configuration.
renewal_hook() {
    OCSPSTAPLE="$OCSPSTAPLE_CMD" OCSPSTAPLE_CONF="$D/ocspstaple.conf" \
        "$ROOT/conf/hooks/ocspstaple-renewal-hook" "$@"
}

# gnutls_must PORT - one gnutls-cli handshake with live/must's certificate, verified against
# the CA (gnutls-cli refuses a Must-Staple certificate served without a valid staple). Prints
# the served serial on success; DROPPED when the connection was refused or closed before any
# certificate came (the server's listener, not its certificate); FAILED otherwise.
gnutls_must() {
    local out serial rc=0 why
    out=$(timeout 20 gnutls-cli --x509cafile="$D/pki/ca.pem" --verify-hostname=must.example.test \
        --port="$1" --print-cert 127.0.0.1 < /dev/null 2>&1) || rc=$?
    serial=$(openssl x509 -noout -serial <<< "$out" 2> /dev/null | sed 's/^serial=//')
    why=$(grep -m 1 -E 'Fatal|rror|OCSP|connect' <<< "$out" | cut -c 1-120)
    if [ "$rc" = 0 ]; then
        echo "$serial"
    elif [ -z "$serial" ] && grep -qE 'Error in the (pull|push) function|Connection refused|Could not connect' <<< "$why"; then
        echo "DROPPED: $why"
    else
        echo "FAILED (serial ${serial:-?}): $why"
    fi
}

# muststaple_renewal PORT [DROPS] - a Must-Staple certificate renewed by the deploy hook's steps
# (renew, the new response in place, reload) while GnuTLS clients keep connecting: every one of
# them connects, and the new certificate is served within $WITHIN s of the reload. DROPS (0 by
# default) is how many connections the server's reload itself may refuse or reset, after the
# reload and before the new certificate is served, for a server that closes and binds its
# listeners again when reloaded; a handshake that got a certificate always counts.
muststaple_renewal() {
    local port=$1 drops=${2:-0} results="$BATS_TEST_TMPDIR/gnutls" loop old i
    old=$(le_serial must "$(le_current must)")
    run gnutls_must "$port"
    assert_output "$old"
    : > "$results"
    (
        while [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do
            gnutls_must "$port" >> "$results"
            sleep 0.05
        done
    ) 3>&- &
    loop=$!
    sleep 1
    le_renew must muststaple
    le_respond must "$RENEWED" good "$D/resp/must.der"
    # As the deploy hook does: the running processes take the new files before the reload.
    sleep 2
    echo RELOAD >> "$results"
    run reload_server
    assert_success
    for i in $(seq 1 $((WITHIN * 10))); do
        tail -n 1 "$results" | grep -qx "$NEW_SERIAL" && break
        sleep 0.1
    done
    sleep 1
    touch "$BATS_TEST_TMPDIR/stop"
    wait "$loop" || true
    # Drops only between the reload and the new certificate, and no more than allowed.
    run bash -c "sed -n '1,/^RELOAD\$/p; /^$NEW_SERIAL\$/,\$p' '$results' | grep -c '^DROPPED' || true"
    assert_output 0
    run bash -c "grep -c '^DROPPED' '$results' || true"
    [ "$output" -le "$drops" ] || fail "$output connections dropped around the reload, $drops allowed: $(grep -m 3 DROPPED "$results")"
    run uniq -c "$results"
    refute_output --partial FAILED
    assert_line --regexp " $old\$"
    assert_line --regexp " $NEW_SERIAL\$"
    # Once the new certificate is served, only it is.
    run bash -c "sed -n '/^$NEW_SERIAL\$/,\$p' '$results' | sort -u"
    assert_output "$NEW_SERIAL"
}
