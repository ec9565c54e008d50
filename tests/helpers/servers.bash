# servers.bash - more real, unmodified servers from Debian 12's packages (Redis, HAProxy,
# nginx, PostgreSQL, vsftpd) as private instances under the shim, started the way their
# operators start them: their own daemon mode (the launcher forks the server and exits), then
# their own reload and stop commands. Load after common and daemons:
# `load helpers/common`, `load helpers/daemons`, `load helpers/servers`.
#
# Every instance listens on 127.0.0.1 only and keeps its configuration, state, pid and log
# files under $BATS_FILE_TMPDIR/NAME; the session its daemon made for itself is registered
# with track_session, so that stop_sessions (teardown_file) stops whatever is left and fails
# when anything was.

# server_dir NAME - the private directory of an instance.
server_dir() {
    echo "$BATS_FILE_TMPDIR/$1"
}

# shim_env SHIMCONF - the environment words that put the shim into a daemon (for `env`).
shim_env() {
    echo "LD_PRELOAD=$(daemon_preload) OCSPSTAPLE_CONF=$1 OCSPSTAPLE_LOG_TARGET=stderr"
}

# live_responses DIR - DIR/rsa.der (a copy of rsa-good.der that a test may replace) and
# DIR/ocspstaple.conf stapling it for rsa.pem, both readable by unprivileged daemon users.
live_responses() {
    local dir=$1
    mkdir -p "$dir/resp"
    cp "$FX/rsa-good.der" "$dir/resp/rsa.der"
    write_conf "$dir/ocspstaple.conf" <<EOF
staples = ( { certificate = "$FX/rsa-chain.pem"; response = "$dir/resp/rsa.der"; } );
EOF
    open_for_daemons "$dir/resp"
    chmod o+r "$dir/resp/rsa.der" "$dir/ocspstaple.conf"
}

# pid_from FILE [SECONDS] - the pid in a daemon's pid file once it is there (default 15 s).
pid_from() {
    local i
    for i in $(seq 1 $((${2:-15} * 10))); do
        if [ -s "$1" ]; then
            tr -d ' \n' < "$1" | head -c 12
            echo
            return 0
        fi
        sleep 0.1
    done
    echo "no pid in $1 after ${2:-15}s" >&2
    return 1
}

# track_daemon NAME PIDFILE - register the session of the daemon named in PIDFILE.
track_daemon() {
    local pid sid
    pid=$(pid_from "$2") || return 1
    sid=$(session_of "$pid")
    [ -n "$sid" ] || { echo "$1 ($pid) is not running" >&2; return 1; }
    track_session "$sid" "$1"
}

# eventually_not_good [s_client args...] - until the staple on $PORT is no longer "good"
# (another status, or none); prints the last answer when it still is after 10 s.
eventually_not_good() {
    local out i
    for i in $(seq 1 40); do
        out=$(status_of "$@")
        case $out in *"Cert Status: good"*) ;; *) return 0 ;; esac
        sleep 0.25
    done
    echo "still stapling good after 10s; last answer:" >&2
    echo "$out" >&2
    return 1
}

# --- Redis ----------------------------------------------------------------------------------

# start_redis NAME SHIMCONF - redis-server with a private redis.conf: daemonize yes (as in
# Debian's /etc/redis/redis.conf), running as user redis, plain port off, tls-port on
# 127.0.0.1 with the rsa certificate. The launcher's exit status is in NAME/launcher.rc, the
# daemon's pid in NAME/redis.pid. Sets PORT.
start_redis() {
    local name=$1 shimconf=$2 d attempt rc
    d=$(server_dir "$name")
    mkdir -p "$d"
    chown redis: "$d"
    open_for_daemons "$d"
    for attempt in 1 2 3; do
        PORT=$(free_port)
        cat > "$d/redis.conf" <<EOF
daemonize yes
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
bind 127.0.0.1
protected-mode yes
port 0
tls-port $PORT
tls-cert-file $FX/rsa-chain.pem
tls-key-file $FX/rsa.key
tls-auth-clients no
save ""
appendonly no
EOF
        rm -f "$d/redis.pid"
        rc=0
        # shellcheck disable=SC2046
        runuser -u redis -- env $(shim_env "$shimconf") $(sanitizer_environment) \
            redis-server "$d/redis.conf" < /dev/null > "$d/launcher.log" 2>&1 3>&- || rc=$?
        echo "$rc" > "$d/launcher.rc"
        [ "$rc" = 0 ] || break
        track_daemon "redis-$name" "$d/redis.pid" || break
        if wait_port "$PORT" 15 2> /dev/null; then
            return 0
        fi
        stop_redis "$name"
        grep -q "in use" "$d/redis.log" 2>/dev/null || break
    done
    echo "redis $name did not start (launcher exit status $(cat "$d/launcher.rc")); its logs:" >&2
    cat "$d/launcher.log" "$d/redis.log" >&2 2>/dev/null
    return 1
}

# redis_tls ARGS... - redis-cli over TLS to the instance on $PORT.
redis_tls() {
    timeout 20 redis-cli --tls --insecure -h 127.0.0.1 -p "$PORT" "$@"
}

# stop_redis NAME - SIGTERM to the daemon named in its pid file (what Debian's init script
# does), and wait for it to exit.
stop_redis() {
    local d pid
    d=$(server_dir "$1")
    [ -s "$d/redis.pid" ] || return 0
    pid=$(tr -d ' \n' < "$d/redis.pid")
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 15
}
