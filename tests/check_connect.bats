#!/usr/bin/env bats
# `ocspstaple check --connect HOST:PORT [--starttls smtp|imap|pop3|ftp] [--servername NAME]`:
# a real handshake asking for status, the staple judged as a strict client would (CertID of the
# certificate served, signature, time window, status), reported in the formats and with the
# exit codes of `check` of the files: 0 ok, 1 warning, 2 critical (no staple, a bad one, a
# revoked certificate, no connection), 3 unknown (bad arguments, unreadable configuration).
#
# Servers: `openssl s_server -status_file` stapling whatever it is given (good, revoked,
# expired, about another certificate) or nothing; s_server under the shim; Postfix (smtp),
# Dovecot (imap) and vsftpd (ftp) as private instances under the shim, as in postfix.bats,
# dovecot.bats and vsftpd.bats; a listener that never speaks; a port nobody listens on.

load helpers/common
load helpers/daemons
load helpers/servers

setup_file() {
    export D="$BATS_FILE_TMPDIR"
    mkdir -p "$D/resp"
    cp "$FX/rsa-good.der" "$D/resp/rsa.der"
    open_for_daemons "$D/resp"
    chmod o+r "$D/resp/rsa.der"
    cat > "$D/ocspstaple.conf" <<EOF
log_target = "stderr";
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$D/resp/rsa.der"; } );
EOF
    chmod o+r "$D/ocspstaple.conf"
    if command -v postfix > /dev/null; then
        in_background start_postfix main "$D/ocspstaple.conf"
        in_background start_postfix notls "$D/ocspstaple.conf" "smtpd_tls_security_level = none"
    fi
    if command -v dovecot > /dev/null; then
        # POP3 too when dovecot-pop3d is installed: a pop3 listener (STLS) beside imap.
        local pop3=""
        if [ -x /usr/lib/dovecot/pop3-login ]; then
            POP3_PORT=$(free_port)
            echo "$POP3_PORT" > "$D/pop3.port"
            pop3="protocols = imap pop3
service pop3-login {
  inet_listener pop3 {
    $(dovecot_is_24 && echo listen || echo address) = 127.0.0.1
    port = $POP3_PORT
  }
}"
        fi
        in_background start_dovecot main "$D/ocspstaple.conf" "" "$pop3"
    fi
    wait_background
    # vsftpd sessions do not answer AUTH TLS under a preloaded sanitizer runtime (vsftpd.bats).
    if command -v vsftpd > /dev/null && [ -z "${SAN_RUNTIME:-}" ]; then
        start_vsftpd ftp "$D/ocspstaple.conf"
    fi
}

teardown_file() {
    in_background stop_postfix main
    in_background stop_postfix notls
    in_background stop_dovecot main
    in_background stop_vsftpd ftp
    wait_background
    stop_sessions
    check_daemon_logs
}

setup() {
    CONF="$BATS_TEST_TMPDIR/ocspstaple.conf"
}

teardown() {
    stop_hosts
}

# plain_s_server ARGS... - unmodified `openssl s_server` (no shim) on 127.0.0.1:$PORT with the
# rsa certificate and its chain, plus ARGS (-status_file FILE to staple FILE).
plain_s_server() {
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/s_server.log" openssl s_server -accept "127.0.0.1:$PORT" \
        -www -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem" "$@"
}

# probe ARGS... - `ocspstaple check --connect` with ARGS, under bats' run.
probe() {
    run ocspstaple_cmd check --connect "$@"
}

rsa_serial() {
    openssl x509 -in "$FX/rsa.pem" -noout -serial | cut -d= -f2
}

@test "a good staple: ok (exit 0), the served certificate and the staple described" {
    plain_s_server -status_file "$FX/rsa-good.der"
    probe "127.0.0.1:$PORT"
    assert_success
    assert_output --partial "ocspstaple check of 127.0.0.1:$PORT at"
    assert_output --partial "OK: stapled: good for"
    assert_output --partial "CN=mail.example.test"
    assert_output --partial "served by 127.0.0.1:$PORT"
    assert_output --partial "serial $(rsa_serial)"
    local sha not_after
    sha=$(openssl x509 -in "$FX/rsa.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : |
        tr A-F a-f)
    assert_output --partial "sha256 $sha"
    not_after=$(date -u -d "$(openssl x509 -in "$FX/rsa.pem" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
    assert_output --partial "notAfter $not_after"
    assert_output --partial "verdict: good (stapled)"
    assert_output --partial "configuration (none: defaults)"
}

@test "no staple: critical (exit 2), in those words" {
    plain_s_server
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "CRITICAL: no staple: 127.0.0.1:$PORT sent no OCSP response"
    assert_output --partial "CN=mail.example.test"
}

@test "a revoked staple: critical, the certificate is REVOKED" {
    plain_s_server -status_file "$FX/rsa-revoked.der"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "CRITICAL: the certificate is REVOKED"
    assert_output --partial "verdict: revoked"
}

@test "an expired staple: critical, its verdict and reason" {
    plain_s_server -status_file "$FX/rsa-expired.der"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "verdict: expired"
    assert_output --partial "CRITICAL: the staple is not usable (expired)"
}

@test "a staple about another certificate: wrong certificate, critical" {
    plain_s_server -status_file "$FX/rsa-wrongcert.der"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "verdict: wrong certificate"
}

@test "a staple signed by another key: bad signature, critical; verify = false in the configuration accepts it" {
    plain_s_server -status_file "$FX/rsa-badsig.der"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "verdict: bad signature"
    echo 'verify = false;' | write_conf "$CONF"
    probe "127.0.0.1:$PORT" -c "$CONF"
    assert_success
    assert_output --partial "configuration $CONF"
}

@test "the configuration's skew applies: a thisUpdate 2 days ahead is good with skew = 3 days" {
    plain_s_server -status_file "$FX/rsa-notyet.der"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "verdict: not yet valid"
    echo 'skew = 259200;' | write_conf "$CONF"
    probe "127.0.0.1:$PORT" -c "$CONF"
    assert_success
    OCSPSTAPLE_CONF=$CONF run ocspstaple_cmd check --connect "127.0.0.1:$PORT"
    assert_success
}

@test "the issuer: from the served chain, else from the configuration, else none (critical)" {
    # rsa-nocerts.der holds no certificate: the issuer must come from elsewhere.
    plain_s_server -status_file "$FX/rsa-nocerts.der"
    probe "127.0.0.1:$PORT"
    assert_success
    stop_hosts
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/s_server2.log" openssl s_server -accept "127.0.0.1:$PORT" \
        -www -cert "$FX/rsa.pem" -key "$FX/rsa.key" -status_file "$FX/rsa-nocerts.der"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "verdict: no issuer"
    printf 'staples = ( { certificate = "%s"; issuer = "%s"; response = "%s"; } );\n' \
        "$FX/rsa.pem" "$FX/ca.pem" "$FX/rsa-good.der" | write_conf "$CONF"
    probe "127.0.0.1:$PORT" -c "$CONF"
    assert_success
    assert_output --partial "verdict: good (stapled)"
}

@test "an OCSP Must-Staple certificate served without a staple: its clients refuse the connection" {
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/s_server.log" openssl s_server -accept "127.0.0.1:$PORT" \
        -www -cert "$FX/muststaple.pem" -key "$FX/muststaple.key" -cert_chain "$FX/ca.pem"
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "OCSP Must-Staple certificate: its clients will refuse the connection"
    assert_output --partial "[OCSP Must-Staple]"
}

@test "--format json: the target, the served certificate, the staple's verdict" {
    plain_s_server -status_file "$FX/rsa-revoked.der"
    run bash -c "'$OCSPSTAPLE_CMD' check --connect 'localhost:$PORT' --format json > '$BATS_TEST_TMPDIR/out.json'"
    assert_failure 2
    run python3 - "$BATS_TEST_TMPDIR/out.json" "$PORT" "$(rsa_serial)" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["target"] == "localhost:" + sys.argv[2], r
assert r["servername"] == "localhost" and r["starttls"] is None and r["config"] is None, r
assert r["protocol"].startswith("TLSv1"), r
assert r["status"] == "critical" and r["exit_code"] == 2 and r["connect_error"] is None, r
(c,) = r["certificates"]
assert c["subject"] == "CN=mail.example.test" and c["serial"] == sys.argv[3], c
assert c["file"] is None and len(c["sha256"]) == 64 and c["not_after"].endswith("Z"), c
(x,) = c["responses"]
assert x["verdict"] == "revoked" and x["stapleable"] is False and x["file"] is None, x
print("ok")
PY
    assert_success
    assert_output ok
}

@test "--format json: no connection is critical, with the reason" {
    PORT=$(free_port)
    run bash -c "'$OCSPSTAPLE_CMD' check --connect '127.0.0.1:$PORT' --format json > '$BATS_TEST_TMPDIR/out.json'"
    assert_failure 2
    run python3 - "$BATS_TEST_TMPDIR/out.json" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "critical" and r["exit_code"] == 2, r
assert "Connection refused" in r["connect_error"] and r["certificates"] == [], r
print("ok")
PY
    assert_success
    assert_output ok
}

@test "--format prometheus: target label, connect success, stapleable, seconds until nextUpdate" {
    plain_s_server -status_file "$FX/rsa-good.der"
    probe "127.0.0.1:$PORT" --format prometheus
    assert_success
    assert_output --partial "ocspstaple_check_status{target=\"127.0.0.1:$PORT\"} 0"
    assert_output --regexp "ocspstaple_check_timestamp_seconds\\{target=\"127.0.0.1:$PORT\"\\} [0-9]+"
    assert_output --partial "ocspstaple_connect_success{target=\"127.0.0.1:$PORT\"} 1"
    assert_output --regexp "ocspstaple_certificate_stapleable\\{target=\"127.0.0.1:$PORT\",subject=\"CN=mail.example.test\",serial=\"[0-9A-F]+\",status=\"ok\"\\} 1"
    assert_output --regexp "ocspstaple_response_seconds_until_next_update\\{target=\"127.0.0.1:$PORT\",subject=\"CN=mail.example.test\",serial=\"[0-9A-F]+\",file=\"staple\",verdict=\"good\"\\} [0-9]+"
    stop_hosts
    probe "127.0.0.1:$PORT" --format prometheus
    assert_failure 2
    assert_output --partial "ocspstaple_check_status{target=\"127.0.0.1:$PORT\"} 2"
    assert_output --partial "ocspstaple_connect_success{target=\"127.0.0.1:$PORT\"} 0"
}

@test "--warn: a staple whose nextUpdate is near is a warning (exit 1)" {
    plain_s_server -status_file "$FX/rsa-good.der"
    probe "127.0.0.1:$PORT" --warn 700000
    assert_failure 1
    assert_output --partial "WARNING: stapled, but its response expires in"
}

@test "through the shim: what the server staples is what check --connect reports" {
    cp "$FX/rsa-good.der" "$BATS_TEST_TMPDIR/mail.der"
    printf 'staples = ( { certificate = "%s"; response = "%s"; } );\n' \
        "$FX/rsa-chain.pem" "$BATS_TEST_TMPDIR/mail.der" | write_conf "$CONF"
    start_s_server "$CONF" -cert "$FX/rsa-chain.pem" -key "$FX/rsa.key"
    probe "127.0.0.1:$PORT"
    assert_success
    assert_output --partial "OK: stapled: good for"
    # A validly signed "revoked" replaces it: the shim stops stapling (serve_revoked is off),
    # and check --connect says so.
    replace_atomically "$FX/rsa-revoked.der" "$BATS_TEST_TMPDIR/mail.der"
    eventually_not_stapled
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "CRITICAL: no staple: 127.0.0.1:$PORT sent no OCSP response"
}

@test "SNI: the host name is sent by default, an address is not; --servername overrides" {
    # s_server serves other.pem to clients that ask for "localhost", rsa.pem to the others.
    plain_s_server -status_file "$FX/rsa-good.der" -servername localhost \
        -cert2 "$FX/other.pem" -key2 "$FX/other.key"
    probe "127.0.0.1:$PORT"
    assert_success
    assert_output --partial "servername (none)"
    assert_output --partial "CN=mail.example.test"
    probe "localhost:$PORT"
    assert_failure 2
    assert_output --partial "servername localhost"
    assert_output --partial "CN=other.example.test"
    refute_output --partial "verdict: good"
    probe "127.0.0.1:$PORT" --servername localhost
    assert_failure 2
    assert_output --partial "CN=other.example.test"
    probe "localhost:$PORT" --servername mail.example.test
    assert_success
    assert_output --partial "CN=mail.example.test"
}

@test "IPv6: [::1]:PORT" {
    [ -e /proc/net/tcp6 ] || skip "no IPv6 here"
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/s_server.log" openssl s_server -accept "[::1]:$PORT" \
        -www -cert "$FX/rsa.pem" -key "$FX/rsa.key" -cert_chain "$FX/ca.pem" \
        -status_file "$FX/rsa-good.der"
    probe "[::1]:$PORT"
    assert_success
    assert_output --partial "ocspstaple check of [::1]:$PORT"
    assert_output --partial "servername (none)"
}

@test "connection refused: critical, naming host:port" {
    PORT=$(free_port)
    probe "127.0.0.1:$PORT"
    assert_failure 2
    assert_output --partial "CRITICAL: 127.0.0.1:$PORT: cannot connect: Connection refused"
    probe "127.0.0.1:$PORT" --starttls smtp
    assert_failure 2
    assert_output --partial "Connection refused"
}

@test "a server that accepts and never speaks: the timeout bounds the probe" {
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/silent.log" python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
conns = []
while True:
    conns.append(s.accept()[0])
' "$PORT"
    local start=$SECONDS
    probe "127.0.0.1:$PORT" --timeout 2
    assert_failure 2
    assert_output --partial "127.0.0.1:$PORT: TLS handshake: no answer within the timeout (2 s)"
    probe "127.0.0.1:$PORT" --timeout 2 --starttls smtp
    assert_failure 2
    assert_output --partial "STARTTLS (smtp): SMTP greeting: no answer within the timeout (2 s)"
    [ $((SECONDS - start)) -lt 10 ]
    # Without --timeout, the configuration's fetch_timeout.
    echo 'fetch_timeout = 1;' | write_conf "$CONF"
    start=$SECONDS
    probe "127.0.0.1:$PORT" --starttls imap -c "$CONF"
    assert_failure 2
    assert_output --partial "IMAP greeting: no answer within the timeout (1 s)"
    [ $((SECONDS - start)) -lt 5 ]
}

@test "a server that closes the connection at once: critical, saying so (no SIGPIPE)" {
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/closing.log" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    s.accept()[0].close()
' "$PORT"
    probe "127.0.0.1:$PORT" --timeout 5
    assert_failure 2
    assert_output --regexp "127.0.0.1:$PORT: TLS handshake failed: .*(closed the connection|reset by peer)"
    probe "127.0.0.1:$PORT" --timeout 5 --starttls pop3
    assert_failure 2
    assert_output --regexp "STARTTLS \(pop3\): POP3 greeting: (the server closed the connection|Connection reset)"
}

# scripted_server GREETING REPLY... - on 127.0.0.1:$PORT, a plain-text server that sends
# GREETING, then one REPLY for each line it reads (\n in them are CRLFs), and closes after the
# next line: the corner cases of a greeting that no real daemon here produces.
scripted_server() {
    PORT=$(free_port)
    start_plain_host "$BATS_TEST_TMPDIR/scripted.log" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c = s.accept()[0]
    f = c.makefile("rb")
    for text in sys.argv[2:]:
        c.sendall(text.replace("\\n", "\r\n").encode())
        if f.readline() == b"":
            break
    c.close()
' "$PORT" "$@"
}

@test "STARTTLS: bytes sent after the go-ahead, before the handshake, are refused (command injection)" {
    scripted_server '220 fake ESMTP\n' '250-fake\n250 STARTTLS\n' '220 go ahead\n250 injected\n'
    probe "127.0.0.1:$PORT" --starttls smtp --timeout 5
    assert_failure 2
    assert_output --partial "127.0.0.1:$PORT: STARTTLS (smtp): the server sent 14 bytes after accepting STARTTLS"
}

@test "STARTTLS: an IMAP or POP3 server that does not offer it, a multi-line SMTP greeting" {
    scripted_server '* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] fake\n'
    probe "127.0.0.1:$PORT" --starttls imap --timeout 5
    assert_failure 2
    assert_output --partial "the server did not offer STARTTLS (not among its capabilities)"
    stop_hosts
    scripted_server '+OK fake\n' '+OK\nUSER\n.\n'
    probe "127.0.0.1:$PORT" --starttls pop3 --timeout 5
    assert_failure 2
    assert_output --partial "the server did not offer STARTTLS (no STLS in its CAPA)"
    stop_hosts
    # A multi-line greeting and EHLO answer with STARTTLS offered, then no TLS at all.
    scripted_server '220-fake\n220-more\n220 ESMTP\n' '250-fake\n250-PIPELINING\n250 STARTTLS\n' \
        '454 TLS not available\n'
    probe "127.0.0.1:$PORT" --starttls smtp --timeout 5
    assert_failure 2
    assert_output --partial "STARTTLS (smtp): SMTP answer to STARTTLS: 454 TLS not available"
}

@test "STARTTLS smtp: Postfix (under the shim) staples, check --connect says ok" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    PORT=$(cat "$(postfix_dir main)/port")
    probe "127.0.0.1:$PORT" --starttls smtp
    assert_success
    assert_output --partial "STARTTLS smtp"
    assert_output --partial "OK: stapled: good for"
    assert_output --partial "CN=mail.example.test"
    # Without --starttls, the SMTP greeting is no TLS handshake.
    probe "127.0.0.1:$PORT" --timeout 5
    assert_failure 2
    assert_output --partial "TLS handshake failed"
}

@test "STARTTLS smtp: a Postfix that does not offer STARTTLS" {
    command -v postfix > /dev/null || skip "postfix is not installed (make test-deps)"
    PORT=$(cat "$(postfix_dir notls)/port")
    probe "127.0.0.1:$PORT" --starttls smtp
    assert_failure 2
    assert_output --partial "127.0.0.1:$PORT: STARTTLS (smtp): the server did not offer STARTTLS"
}

@test "STARTTLS imap: Dovecot (under the shim) staples, check --connect says ok" {
    command -v dovecot > /dev/null || skip "dovecot is not installed (make test-deps)"
    PORT=$(doveconf -c "$(dovecot_dir main)/dovecot.conf" -h service/imap-login/inet_listener/imap/port)
    probe "127.0.0.1:$PORT" --starttls imap
    assert_success
    assert_output --partial "STARTTLS imap"
    assert_output --partial "OK: stapled: good for"
    # The same Dovecot asked for the wrong protocol's greeting: a clear failure.
    probe "127.0.0.1:$PORT" --starttls smtp
    assert_failure 2
    assert_output --partial "SMTP greeting: not a reply: * OK"
}

@test "STARTTLS pop3: Dovecot's pop3-login (under the shim) staples, check --connect says ok" {
    [ -s "$D/pop3.port" ] || skip "dovecot-pop3d is not installed (make test-deps)"
    PORT=$(cat "$D/pop3.port")
    probe "127.0.0.1:$PORT" --starttls pop3
    assert_success
    assert_output --partial "STARTTLS pop3"
    assert_output --partial "OK: stapled: good for"
}

@test "STARTTLS ftp (AUTH TLS): vsftpd (under the shim) staples, check --connect says ok" {
    command -v vsftpd > /dev/null || skip "vsftpd is not installed (make test-deps)"
    [ -z "${SAN_RUNTIME:-}" ] || skip "vsftpd sessions do not work under a preloaded sanitizer runtime"
    PORT=$(sed -n 's/^listen_port=//p' "$(server_dir ftp)/vsftpd.conf")
    probe "127.0.0.1:$PORT" --starttls ftp
    assert_success
    assert_output --partial "STARTTLS ftp"
    assert_output --partial "OK: stapled: good for"
}

@test "bad arguments: exit 3 with a reason" {
    run ocspstaple_cmd check --connect nowhere
    assert_failure 3
    assert_output --partial "give HOST:PORT"
    run ocspstaple_cmd check --connect "[::1:443"
    assert_failure 3
    run ocspstaple_cmd check --connect "127.0.0.1:99999"
    assert_failure 3
    run ocspstaple_cmd check --connect "127.0.0.1:443" --starttls xmpp
    assert_failure 3
    assert_output --partial "--starttls must be smtp, imap, pop3 or ftp"
    run ocspstaple_cmd check --starttls smtp
    assert_failure 3
    assert_output --partial "go with --connect"
    run ocspstaple_cmd check --connect "127.0.0.1:443" --timeout soon
    assert_failure 3
    run ocspstaple_cmd check --connect "127.0.0.1:443" --timeout 0
    assert_failure 3
    assert_output --partial "at least 1 second"
    run ocspstaple_cmd check --connect "127.0.0.1:443" -c "$BATS_TEST_TMPDIR/nowhere.conf"
    assert_failure 3
    assert_output --partial "UNKNOWN"
}
