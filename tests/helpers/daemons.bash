# daemons.bash - real, unmodified daemons from Debian's packages (Postfix, Dovecot, stunnel4)
# as private instances under the shim. Load after common: `load helpers/common`, then
# `load helpers/daemons`.
#
# Every instance listens on 127.0.0.1 only, keeps its configuration, spool, state and run
# directories under $BATS_FILE_TMPDIR, runs in a session of its own and is registered with
# track_session; stop_sessions (in teardown_file) stops them all and fails if any process of
# theirs is left. The daemons get the shim the way an operator deploys it: Postfix and Dovecot
# through their own import_environment setting (they clear their environment), stunnel through
# its environment.

# The shim's configuration and the files it names must be reachable by the daemons'
# unprivileged users (postfix, dovenull, stunnel4); bats makes its directories 0700.
# open_for_daemons DIR... - o+x on DIR and on its parents up to $BATS_RUN_TMPDIR.
open_for_daemons() {
    local d
    for d in "$@"; do
        while [ -n "$d" ] && [ "$d" != / ]; do
            chmod o+x "$d"
            [ "$d" = "$BATS_RUN_TMPDIR" ] && break
            case $d in "$BATS_RUN_TMPDIR"/*) ;; *) break ;; esac
            d=$(dirname "$d")
        done
    done
}

# daemon_preload - the LD_PRELOAD value for a daemon: the shim of this build (after the
# sanitizer runtime, in sanitizer builds), from setup_suite's readable copy where the checkout
# is closed to the daemons' users (OCSPSTAPLE_SHIM_COPY).
daemon_preload() {
    local shim=$SHIM
    if [ -n "${OCSPSTAPLE_SHIM_COPY:-}" ] && [ "$shim" = "$BUILD_DIR/libocspstaple.so" ]; then
        shim=$OCSPSTAPLE_SHIM_COPY/libocspstaple.so
    fi
    echo "${SAN_RUNTIME:+$SAN_RUNTIME:}$shim"
}

# sanitizer_environment - in sanitizer builds, the sanitizer options as NAME=value words: the
# daemons that rebuild their environment must import them too. Nothing otherwise.
sanitizer_environment() {
    [ -n "${SAN_RUNTIME:-}" ] || return 0
    echo "ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=${UBSAN_OPTIONS:-} TSAN_OPTIONS=${TSAN_OPTIONS:-}"
}

# check_daemon_logs - fail, showing them, when the daemons' logs hold sanitizer reports.
check_daemon_logs() {
    local found
    found=$(grep -lE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer" \
        "$BATS_FILE_TMPDIR"/*/*.log "$BATS_FILE_TMPDIR"/*/maillog "$BATS_FILE_TMPDIR"/*.txt 2> /dev/null || true)
    [ -z "$found" ] && return 0
    echo "sanitizer reports in: $found" >&2
    cat $found >&2
    return 1
}

# shipped FILE SHIMCONF - the operator file conf/FILE as `make install` installs it, but with
# the library path pointing at build/ and the configuration path at SHIMCONF: the daemons are
# configured with the very lines the README tells operators to add.
shipped() {
    sed -e "s#/usr/local/lib/ocspstaple/libocspstaple.so#$(daemon_preload)#g" \
        -e "s#/etc/ocspstaple.conf#$2#g" "$ROOT/conf/$1"
}

SESSIONS_FILE="$BATS_FILE_TMPDIR/sessions"

# track_session SID NAME - remember a session to stop (and check) in teardown_file.
track_session() {
    echo "$1 $2" >> "$SESSIONS_FILE"
}

# session_of PID - the session id of a running process.
session_of() {
    ps -o sid= -p "$1" | tr -d ' '
}

# alive PID - PID exists and is not a zombie (an exited daemon whose parent, init here, has not
# reaped it yet is not running).
alive() {
    [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# session_left SID - the processes of session SID that still run (pgrep, zombies left out).
session_left() {
    local pid
    for pid in $(pgrep -s "$1"); do
        alive "$pid" && echo "$pid"
    done
    return 0
}

# stop_sessions - SIGTERM, then SIGKILL, every process of every tracked session; then fail,
# naming them, if any process is left.
stop_sessions() {
    [ -f "$SESSIONS_FILE" ] || return 0
    local sid name left i
    while read -r sid name; do
        pkill -TERM -s "$sid" 2>/dev/null || true
    done < "$SESSIONS_FILE"
    for i in $(seq 1 50); do
        left=""
        while read -r sid name; do
            [ -z "$(session_left "$sid")" ] || left="$left $name"
        done < "$SESSIONS_FILE"
        [ -z "$left" ] && break
        sleep 0.1
    done
    if [ -n "$left" ]; then
        while read -r sid name; do
            pkill -KILL -s "$sid" 2>/dev/null || true
        done < "$SESSIONS_FILE"
        sleep 0.2
    fi
    left=""
    while read -r sid name; do
        [ -z "$(session_left "$sid")" ] || left="$left $name($(session_left "$sid" | tr '\n' ' '))"
    done < "$SESSIONS_FILE"
    rm -f "$SESSIONS_FILE"
    if [ -n "$left" ]; then
        echo "processes left running:$left" >&2
        return 1
    fi
}

# wait_gone PID [SECONDS] - until PID has exited (default 10 s).
wait_gone() {
    local i
    for i in $(seq 1 $((${2:-10} * 10))); do
        alive "$1" || return 0
        sleep 0.1
    done
    return 1
}

# wait_port PORT [SECONDS] - until something listens on 127.0.0.1 PORT.
wait_port() {
    local i
    for i in $(seq 1 $((${2:-15} * 10))); do
        port_listening "$1" && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1 after ${2:-15}s" >&2
    return 1
}

# --- what a client sees ---------------------------------------------------------------------

# staple_lines FIXTURE - the lines that identify a fixture response in `s_client -status`
# output: its thisUpdate and nextUpdate (unique per generated response), the serial number in
# its CertID (which certificate) and its responder id (which issuer signed it).
staple_lines() {
    fixture_line "$1" "This Update"
    fixture_line "$1" "Next Update"
    fixture_line "$1" "Serial Number"
    fixture_line "$1" "Responder Id"
}

# staple_lines_cached FIXTURE - staple_lines, computed once per test file; prints the cache
# file's name.
staple_lines_cached() {
    local cache="$BATS_FILE_TMPDIR/staple-lines.$1"
    if [ ! -s "$cache" ]; then
        staple_lines "$1" > "$cache.$$"
        mv -f "$cache.$$" "$cache"
    fi
    echo "$cache"
}

# staple_is FIXTURE OUTPUT - true when OUTPUT (of s_client -status) carries exactly FIXTURE,
# with a good status.
staple_is() {
    local line lines=()
    case $2 in *"OCSP Response Status: successful"*"Cert Status: good"*) ;; *) return 1 ;; esac
    mapfile -t lines < "$(staple_lines_cached "$1")"
    [ "${#lines[@]}" = 4 ] || return 1
    for line in "${lines[@]}"; do
        [ -n "$line" ] || return 1
        case $2 in *"$line"*) ;; *) return 1 ;; esac
    done
}

# assert_staple FIXTURE [s_client args...] - the handshake on $PORT carries exactly FIXTURE
# (assert_stapled's check, plus the CertID serial and the responder id).
assert_staple() {
    local fixture=$1 line
    shift
    run status_of "$@"
    assert_success
    assert_output --partial "OCSP Response Status: successful"
    assert_output --partial "Cert Status: good"
    while IFS= read -r line; do
        assert [ -n "$line" ]
        assert_output --partial "$line"
    done < "$(staple_lines_cached "$fixture")"
}

# assert_subject CN - the certificate served in the last `run status_of` had this CN.
assert_subject() {
    assert_output --regexp "subject=.*CN ?= ?$1"
}

# eventually_staple FIXTURE SECONDS [s_client args...] - connect until the staple is FIXTURE,
# for at most SECONDS; prints the last answer when it never was.
eventually_staple() {
    local fixture=$1 limit=$2 out i
    shift 2
    for i in $(seq 1 $((limit * 4))); do
        out=$(status_of "$@")
        staple_is "$fixture" "$out" && return 0
        sleep 0.25
    done
    echo "the staple did not become $fixture within ${limit}s; last answer:" >&2
    echo "$out" >&2
    return 1
}

# handshakes FIXTURE COUNT OUTFILE [s_client args...] - COUNT handshakes one after the other;
# one line per handshake in OUTFILE: "ok", or "BAD" followed by what s_client said.
handshakes() {
    local fixture=$1 count=$2 outfile=$3 out i line ok expected=()
    shift 3
    mapfile -t expected < "$(staple_lines_cached "$fixture")"
    : > "$outfile"
    for i in $(seq 1 "$count"); do
        out=$(status_of "$@")
        ok=1
        case $out in *"OCSP Response Status: successful"*"Cert Status: good"*) ;; *) ok=0 ;; esac
        for line in "${expected[@]}"; do
            case $out in *"$line"*) ;; *) ok=0 ;; esac
        done
        [ "${#expected[@]}" = 4 ] || ok=0
        if [ "$ok" = 1 ]; then
            echo ok >> "$outfile"
        else
            { echo "BAD handshake $i:"; grep -E "OCSP|Update|Serial|Responder|subject=|Verify|error" <<< "$out"; } >> "$outfile"
        fi
    done
}

# --- a stand-in syslog daemon ---------------------------------------------------------------

# start_syslog_sink SOCKET OUTFILE - a datagram socket appending each message as a line to
# OUTFILE, in its own session (stopped by stop_sessions).
start_syslog_sink() {
    setsid python3 -c '
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    while True:
        f.write(sock.recv(65536).decode("utf-8", "replace").rstrip("\n") + "\n")
' "$1" "$2" < /dev/null > /dev/null 2>&1 3>&- &
    track_session "$!" syslog-sink
    local i
    for i in $(seq 1 50); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    echo "the syslog sink did not create $1" >&2
    return 1
}

# private_devlog_works - true when this machine lets root run a command in a private mount
# namespace (needed to give a daemon a /dev/log of the test's own).
private_devlog_works() {
    unshare -m --propagation private true 2>/dev/null
}

# --- an echo server (stunnel's backend) -----------------------------------------------------

# start_echo_server - a threaded TCP echo server on 127.0.0.1:$ECHO_PORT (chosen here).
start_echo_server() {
    ECHO_PORT=$(free_port)
    setsid python3 -c '
import socketserver, sys
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(4096)
            if not data:
                break
            self.request.sendall(data)
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
' "$ECHO_PORT" < /dev/null > "$BATS_FILE_TMPDIR/echo.log" 2>&1 3>&- &
    track_session "$!" echo-server
    wait_port "$ECHO_PORT" 10
}

# --- Postfix --------------------------------------------------------------------------------

# postfix_dir NAME - the directory of a Postfix instance (etc/, spool/, data/, maillog, port).
postfix_dir() {
    echo "$BATS_FILE_TMPDIR/postfix-$1"
}

# write_postfix_main_cf NAME SHIMCONF [MAIN_CF_LINES] - the main.cf of start_postfix: STARTTLS
# with the rsa certificate, and the shipped conf/postfix/main.cf lines (import_environment =
# Postfix's default list plus LD_PRELOAD=... and OCSPSTAPLE_CONF=SHIMCONF); SHIMCONF "-" leaves
# them out (Postfix's default import_environment: no shim). Also a master.cf (Debian's), which
# start_postfix then rewrites with the port.
write_postfix_main_cf() {
    local name=$1 shimconf=$2 extra=${3:-} d
    d=$(postfix_dir "$name")
    mkdir -p "$d/etc" "$d/spool" "$d/data"
    chown postfix "$d/data"
    open_for_daemons "$d"
    [ -e "$d/etc/master.cf" ] || cp /etc/postfix/master.cf "$d/etc/master.cf"
    cat > "$d/etc/main.cf" <<EOF2
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.example.test
mydestination =
alias_maps =
alias_database =
smtpd_tls_security_level = may
smtpd_tls_chain_files = $FX/rsa.key, $FX/rsa-chain.pem
maillog_file = $d/maillog
maillog_file_prefixes = $d
$([ "$shimconf" = - ] || shipped postfix/main.cf "$shimconf")
$([ "$shimconf" = - ] || echo "    $(sanitizer_environment)")
$extra
EOF2
}

# start_postfix NAME SHIMCONF [MAIN_CF_LINES] - a private Postfix instance: Debian's master.cf
# unchanged except that smtpd listens on 127.0.0.1:PORT (chrooted, as Debian has it), and the
# main.cf of write_postfix_main_cf (SHIMCONF "-": without the shim; SHIMCONF "keep": the main.cf
# already there, as `ocspstaple enable` left it, is used as it is). The master runs in its own
# session. When $SYSLOG_SOCK is set, the instance runs in a private mount namespace whose
# /dev/log is that socket (the shim logs to syslog; Postfix sends its daemons' stderr to
# /dev/null). Sets PORT; the port is also in $(postfix_dir NAME)/port.
start_postfix() {
    local name=$1 shimconf=$2 extra=${3:-} d attempt master
    d=$(postfix_dir "$name")
    [ "$shimconf" = keep ] || write_postfix_main_cf "$name" "$shimconf" "$extra"
    for attempt in 1 2 3; do
        PORT=$(free_port)
        sed -E "s/^smtp([[:space:]]+)inet/127.0.0.1:$PORT\\1inet/" /etc/postfix/master.cf \
            > "$d/etc/master.cf"
        grep -q "^127.0.0.1:$PORT " "$d/etc/master.cf" || {
            echo "no 'smtp inet' service in /etc/postfix/master.cf" >&2
            return 1
        }
        if [ -n "${SYSLOG_SOCK:-}" ]; then
            setsid unshare -m --propagation private \
                "$ROOT/tests/helpers/with_private_devlog.sh" "$SYSLOG_SOCK" \
                postfix -c "$d/etc" start < /dev/null > "$d/start.log" 2>&1 3>&-
        else
            setsid postfix -c "$d/etc" start < /dev/null > "$d/start.log" 2>&1 3>&-
        fi
        if [ -s "$d/spool/pid/master.pid" ]; then
            master=$(tr -d ' \n' < "$d/spool/pid/master.pid")
            track_session "$(session_of "$master")" "postfix-$name"
        fi
        if wait_port "$PORT" 10 2> /dev/null; then
            echo "$PORT" > "$d/port"
            return 0
        fi
        postfix -c "$d/etc" stop > /dev/null 2>&1 3>&- || true
        [ -n "${master:-}" ] && wait_gone "$master" 10
        grep -q "in use" "$d/maillog" "$d/start.log" 2>/dev/null || break
    done
    echo "postfix $name did not start; its logs:" >&2
    cat "$d/start.log" "$d/maillog" >&2 2>/dev/null
    return 1
}

# stop_postfix NAME - `postfix stop`, and wait for the master to exit.
stop_postfix() {
    local d master
    d=$(postfix_dir "$1")
    [ -s "$d/spool/pid/master.pid" ] || return 0
    master=$(tr -d ' \n' < "$d/spool/pid/master.pid")
    postfix -c "$d/etc" stop > /dev/null 2>&1 3>&- || true
    wait_gone "$master" 10
}

# smtpd_pids NAME - the smtpd processes of an instance (children of its master).
smtpd_pids() {
    local master
    master=$(tr -d ' \n' < "$(postfix_dir "$1")/spool/pid/master.pid")
    pgrep -P "$master" -x smtpd
}

# --- Dovecot --------------------------------------------------------------------------------

# dovecot_dir NAME - the directory of a Dovecot instance (dovecot.conf, run/, state/, log).
dovecot_dir() {
    echo "$BATS_FILE_TMPDIR/dovecot-$1"
}

# dovecot_is_24 - true when the installed Dovecot speaks the 2.4 configuration language
# (dovecot_config_version first, import_environment as a block of NAME = value lines).
dovecot_is_24() {
    case $(dovecot --version 2> /dev/null) in
        2.[0-3].*) return 1 ;;
        *) return 0 ;;
    esac
}

# dovecot_conf_head - what a dovecot.conf must start with for the installed Dovecot: 2.4's
# dovecot_config_version and dovecot_storage_version lines, nothing for 2.3.
dovecot_conf_head() {
    if dovecot_is_24; then
        printf 'dovecot_config_version = 2.4.0\ndovecot_storage_version = 2.4.0\n'
    fi
}

# dovecot_conf_d - the shipped conf.d file for the installed Dovecot (under conf/).
dovecot_conf_d() {
    if dovecot_is_24; then echo dovecot/2.4/99-ocspstaple.conf; else echo dovecot/99-ocspstaple.conf; fi
}

# dovecot_import_block NAME=VALUE... - a 2.4 import_environment block adding these variables.
dovecot_import_block() {
    local kv
    [ $# -gt 0 ] || return 0
    echo "import_environment {"
    for kv in "$@"; do printf '  %s = "%s"\n' "${kv%%=*}" "${kv#*=}"; done
    echo "}"
}

# start_dovecot NAME SHIMCONF [IMPORT_EXTRA] [CONF_LINES] - a private Dovecot (imap only):
# imap-login with its default chroot ($base_dir/login) and login user (dovenull), an imap
# (STARTTLS) and an imaps listener on 127.0.0.1, the rsa certificate, a local_name block for
# other.example.test with the other certificate, and the shipped conf.d file
# conf/dovecot/99-ocspstaple.conf (import_environment = its defaults plus LD_PRELOAD=...
# OCSPSTAPLE_CONF=SHIMCONF), then IMPORT_EXTRA added the same way. SHIMCONF "conf.d": instead
# of the shipped file, whatever $(dovecot_dir NAME)/conf.d/*.conf holds (as `ocspstaple enable
# --dovecot-config $(dovecot_dir NAME)/dovecot.conf` leaves it; none at first). The master runs
# in the foreground in its own session; login processes' stderr (the shim with log_target =
# stderr) ends up in its log file. Sets IMAP_PORT and IMAPS_PORT.
start_dovecot() {
    local name=$1 shimconf=$2 import_extra=${3:-} lines=${4:-} d attempt pid include
    d=$(dovecot_dir "$name")
    mkdir -p "$d/run" "$d/state"
    open_for_daemons "$d"
    if [ "$shimconf" = conf.d ]; then
        mkdir -p "$d/conf.d"
        include="!include_try $d/conf.d/*.conf"
    else
        shipped "$(dovecot_conf_d)" "$shimconf" > "$d/99-ocspstaple.conf"
        include="!include $d/99-ocspstaple.conf"
    fi
    for attempt in 1 2 3; do
        IMAP_PORT=$(free_port)
        IMAPS_PORT=$(free_port)
        [ "$IMAP_PORT" != "$IMAPS_PORT" ] || continue
        if dovecot_is_24; then
            # shellcheck disable=SC2046,SC2086
            cat > "$d/dovecot.conf" <<EOF2
$(dovecot_conf_head)
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
ssl = required
ssl_server_cert_file = $FX/rsa-chain.pem
ssl_server_key_file = $FX/rsa.key
$include
$(dovecot_import_block $import_extra $(sanitizer_environment))
passdb static {
  password = unused
}
userdb static {
  fields {
    uid = nobody
    gid = nogroup
    home = /nonexistent
  }
}
service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    listen = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
local_name other.example.test {
  ssl_server_cert_file = $FX/other-chain.pem
  ssl_server_key_file = $FX/other.key
}
${lines//service_count = 0/restart_request_count = unlimited}
$([ -z "${SAN_RUNTIME:-}" ] || printf '# the sanitizer runtime maps terabytes\ndefault_vsz_limit = 0\n')
EOF2
        else
        cat > "$d/dovecot.conf" <<EOF2
protocols = imap
listen = 127.0.0.1
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
ssl = required
ssl_cert = <$FX/rsa-chain.pem
ssl_key = <$FX/rsa.key
$include
import_environment = \$import_environment $import_extra $(sanitizer_environment)
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
local_name other.example.test {
  ssl_cert = <$FX/other-chain.pem
  ssl_key = <$FX/other.key
}
$lines
$([ -z "${SAN_RUNTIME:-}" ] || printf '# the sanitizer runtime maps terabytes\ndefault_vsz_limit = 0\n')
EOF2
        fi
        setsid dovecot -F -c "$d/dovecot.conf" < /dev/null > "$d/dovecot.out" 2>&1 3>&- &
        pid=$!
        track_session "$pid" "dovecot-$name"
        echo "$pid" > "$d/pid"
        if wait_port "$IMAP_PORT" 15 2> /dev/null && wait_port "$IMAPS_PORT" 5 2> /dev/null; then
            return 0
        fi
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 10
        grep -q "in use" "$d/dovecot.log" "$d/dovecot.out" 2>/dev/null || break
    done
    echo "dovecot $name did not start; its logs:" >&2
    cat "$d/dovecot.out" "$d/dovecot.log" >&2 2>/dev/null
    return 1
}

# stop_dovecot NAME - `doveadm stop`, and wait for the master to exit.
stop_dovecot() {
    local d
    d=$(dovecot_dir "$1")
    [ -s "$d/pid" ] || return 0
    doveadm -c "$d/dovecot.conf" stop > /dev/null 2>&1 3>&- || kill -TERM "$(cat "$d/pid")" 2>/dev/null || true
    wait_gone "$(cat "$d/pid")" 10
}

# --- stunnel4 -------------------------------------------------------------------------------

# stunnel_dir NAME - the directory of a stunnel instance (stunnel.conf, jail/, log, port).
stunnel_dir() {
    echo "$BATS_FILE_TMPDIR/stunnel-$1"
}

# start_stunnel NAME SHIMCONF - stunnel4 under the shim (environment: the Environment= lines of
# the shipped drop-in conf/systemd/stunnel@.service.d/ocspstaple.conf, with
# OCSPSTAPLE_LOG_TARGET=stderr), in the foreground in its own session, as
# user stunnel4 in a chroot: a service on 127.0.0.1:PORT forwarding to $ECHO_PORT with the rsa
# certificate, and an SNI service for other.example.test with the other certificate.
# Sets PORT.
start_stunnel() {
    local name=$1 shimconf=$2 d attempt pid environment=()
    d=$(stunnel_dir "$name")
    mkdir -p "$d/jail"
    mapfile -t environment < <(shipped systemd/stunnel@.service.d/ocspstaple.conf "$shimconf" |
        sed -n 's/^Environment=//p')
    open_for_daemons "$d"
    for attempt in 1 2 3; do
        PORT=$(free_port)
        cat > "$d/stunnel.conf" <<EOF2
foreground = yes
pid =
chroot = $d/jail
setuid = stunnel4
setgid = stunnel4
debug = notice

[mail]
accept = 127.0.0.1:$PORT
connect = 127.0.0.1:$ECHO_PORT
cert = $FX/rsa-chain.pem
key = $FX/rsa.key

[other]
sni = mail:other.example.test
connect = 127.0.0.1:$ECHO_PORT
cert = $FX/other-chain.pem
key = $FX/other.key
EOF2
        env "${environment[@]}" OCSPSTAPLE_LOG_TARGET=stderr \
            setsid stunnel4 "$d/stunnel.conf" < /dev/null > "$d/stunnel.log" 2>&1 3>&- &
        pid=$!
        track_session "$pid" "stunnel-$name"
        echo "$pid" > "$d/pid"
        if wait_port "$PORT" 10 2> /dev/null; then
            echo "$PORT" > "$d/port"
            return 0
        fi
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 10
        grep -q "in use" "$d/stunnel.log" 2>/dev/null || break
    done
    echo "stunnel $name did not start; its log:" >&2
    cat "$d/stunnel.log" >&2
    return 1
}

# --- starting instances side by side --------------------------------------------------------

BACKGROUND_JOBS=()

# in_background CMD... - run a start function in a background subshell (instances start in
# parallel: a fresh Postfix queue takes two seconds to set up).
in_background() {
    local out
    out="$BATS_FILE_TMPDIR/background.${#BACKGROUND_JOBS[@]}"
    "$@" > "$out" 2>&1 3>&- &
    BACKGROUND_JOBS+=("$!:$out")
}

# wait_background - wait for every in_background job; fail with the output of those that did.
wait_background() {
    local job status=0
    for job in "${BACKGROUND_JOBS[@]}"; do
        if ! wait "${job%%:*}"; then
            cat "${job#*:}" >&2
            status=1
        fi
    done
    BACKGROUND_JOBS=()
    return "$status"
}
