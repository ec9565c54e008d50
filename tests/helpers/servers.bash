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

# many_responses DIR COUNT - DIR/many.conf: COUNT entries for rsa.pem, each with its own copy
# of rsa-good.der in DIR/many/ (a configuration the shim loads in the background for a while:
# a host that exits soon after its first context meets the loading reloader).
many_responses() {
    local dir=$1 count=$2 i
    mkdir -p "$dir/many"
    {
        echo "staples = ("
        for i in $(seq 1 "$count"); do
            cp "$FX/rsa-good.der" "$dir/many/r$i.der"
            printf '  { certificate = "%s"; response = "%s"; }%s\n' "$FX/rsa-chain.pem" \
                "$dir/many/r$i.der" "$([ "$i" = "$count" ] || echo ,)"
        done
        echo ");"
    } | write_conf "$dir/many.conf"
    open_for_daemons "$dir/many"
    chmod o+r "$dir/many"/*.der "$dir/many.conf"
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

# --- HAProxy --------------------------------------------------------------------------------

# start_haproxy NAME SHIMCONF MODE - HAProxy with a private haproxy.cfg shaped like Debian's
# (global: chroot, user and group haproxy, daemon) and two HTTPS frontends on 127.0.0.1 with
# the rsa certificate (HAProxy's crt file: chain and key): OWN_PORT with
# NAME/own/crt.pem.ocsp beside its crt.pem (HAProxy's own stapling, from rsa-good.der), and
# NONE_PORT with no .ocsp file. MODE "unit" runs Debian's ExecStart (`haproxy -Ws -f CFG -p
# PIDFILE -S MASTER_SOCKET`: a master in the foreground, in its own session, and a worker);
# MODE "daemon" runs `haproxy -f CFG -p PIDFILE` as an operator would by hand (the `daemon`
# keyword: the launcher forks the server and exits; its status is in NAME/launcher.rc).
# Sets OWN_PORT and NONE_PORT (also in NAME/ports).
start_haproxy() {
    local name=$1 shimconf=$2 mode=$3 d attempt pid rc
    d=$(server_dir "$name")
    mkdir -p "$d/own" "$d/none" "$d/chroot"
    cat "$FX/rsa-chain.pem" "$FX/rsa.key" > "$d/own/crt.pem"
    cp "$d/own/crt.pem" "$d/none/crt.pem"
    cp "$FX/rsa-good.der" "$d/own/crt.pem.ocsp"
    for attempt in 1 2 3; do
        OWN_PORT=$(free_port)
        NONE_PORT=$(free_port)
        [ "$OWN_PORT" != "$NONE_PORT" ] || continue
        cat > "$d/haproxy.cfg" <<EOF
global
	chroot $d/chroot
	user haproxy
	group haproxy
	daemon

defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s

frontend own
	bind 127.0.0.1:$OWN_PORT ssl crt $d/own/crt.pem
	http-request return status 200 content-type text/plain string own-ocsp-file

frontend none
	bind 127.0.0.1:$NONE_PORT ssl crt $d/none/crt.pem
	http-request return status 200 content-type text/plain string no-ocsp-file
EOF
        rm -f "$d/haproxy.pid"
        if [ "$mode" = unit ]; then
            # shellcheck disable=SC2046
            env $(shim_env "$shimconf") $(sanitizer_environment) setsid haproxy -Ws \
                -f "$d/haproxy.cfg" -p "$d/haproxy.pid" -S "$d/master.sock" \
                < /dev/null > "$d/haproxy.log" 2>&1 3>&- &
            pid=$!
            track_session "$pid" "haproxy-$name"
        else
            rc=0
            # shellcheck disable=SC2046
            env $(shim_env "$shimconf") $(sanitizer_environment) setsid haproxy \
                -f "$d/haproxy.cfg" -p "$d/haproxy.pid" \
                < /dev/null > "$d/haproxy.log" 2>&1 3>&- || rc=$?
            echo "$rc" > "$d/launcher.rc"
            [ "$rc" = 0 ] || break
            track_daemon "haproxy-$name" "$d/haproxy.pid" || break
        fi
        if wait_port "$OWN_PORT" 15 2> /dev/null && wait_port "$NONE_PORT" 5 2> /dev/null; then
            echo "$OWN_PORT $NONE_PORT" > "$d/ports"
            return 0
        fi
        stop_haproxy "$name"
        grep -qiE "in use|cannot bind" "$d/haproxy.log" 2>/dev/null || break
    done
    echo "haproxy $name did not start; its log:" >&2
    cat "$d/haproxy.log" >&2
    return 1
}

# haproxy_ports NAME - set OWN_PORT and NONE_PORT of a running instance.
haproxy_ports() {
    read -r OWN_PORT NONE_PORT < "$(server_dir "$1")/ports"
}

# haproxy_check NAME SHIMCONF - the first line of Debian's ExecReload under the shim:
# `haproxy -Ws -f CFG -c -q -S MASTER_SOCKET`.
haproxy_check() {
    local d
    d=$(server_dir "$1")
    # shellcheck disable=SC2046
    env $(shim_env "$2") $(sanitizer_environment) timeout 30 haproxy -Ws -f "$d/haproxy.cfg" \
        -c -q -S "$d/master.sock" < /dev/null 3>&-
}

# haproxy_worker NAME - the pid of the newest worker of a master-worker instance.
haproxy_worker() {
    pgrep -n -P "$(head -n 1 "$(server_dir "$1")/haproxy.pid")" -x haproxy
}

# stop_haproxy NAME - SIGTERM to the processes in the pid file (the master, or the daemon),
# and wait for them to exit.
stop_haproxy() {
    local d pid
    d=$(server_dir "$1")
    [ -s "$d/haproxy.pid" ] || return 0
    for pid in $(cat "$d/haproxy.pid"); do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $(cat "$d/haproxy.pid"); do
        wait_gone "$pid" 15
    done
}

# --- nginx ----------------------------------------------------------------------------------

# nginx_conf NAME [SERVER_LINES [CERT KEY [MORE_SERVERS]]] - write NAME/nginx.conf for a fresh
# port: Debian's defaults where they matter (user www-data, worker_processes auto, daemon and
# master_process on, as compiled in), pid, logs and temporary files under NAME/, one HTTPS
# server on 127.0.0.1:PORT with CERT and KEY (default: the rsa fixtures), SERVER_LINES added
# to it (nginx's own stapling is off by default), then MORE_SERVERS (whole server blocks) in
# the http block. Sets PORT.
nginx_conf() {
    local d extra=${2:-} cert=${3:-$FX/rsa-chain.pem} key=${4:-$FX/rsa.key} more=${5:-}
    d=$(server_dir "$1")
    mkdir -p "$d/temp"
    PORT=$(free_port)
    cat > "$d/nginx.conf" <<EOF
user www-data;
worker_processes auto;
pid $d/nginx.pid;
error_log $d/error.log notice;

events {
	worker_connections 64;
}

http {
	access_log off;
	client_body_temp_path $d/temp/body;
	proxy_temp_path $d/temp/proxy;
	fastcgi_temp_path $d/temp/fastcgi;
	uwsgi_temp_path $d/temp/uwsgi;
	scgi_temp_path $d/temp/scgi;
	server {
		listen 127.0.0.1:$PORT ssl;
		ssl_certificate $cert;
		ssl_certificate_key $key;
		$extra
		location / {
			return 200 "nginx\n";
		}
	}
$more
}
EOF
}

# start_nginx NAME SHIMCONF - `nginx -c NAME/nginx.conf` under the shim, as `systemctl start
# nginx` runs it (Type=forking: the launcher forks the master and exits). Returns the
# launcher's exit status (also in NAME/launcher.rc) and waits for PORT and the pid file when it
# is 0.
start_nginx() {
    local name=$1 shimconf=$2 d rc=0
    d=$(server_dir "$name")
    rm -f "$d/nginx.pid"
    echo "$shimconf" > "$d/shimconf"
    # shellcheck disable=SC2046
    env $(shim_env "$shimconf") $(sanitizer_environment) setsid nginx -c "$d/nginx.conf" \
        < /dev/null >> "$d/launcher.log" 2>&1 3>&- || rc=$?
    echo "$rc" > "$d/launcher.rc"
    if [ "$rc" != 0 ]; then
        echo "the nginx launcher exited with status $rc; its output:" >&2
        cat "$d/launcher.log" >&2
        return "$rc"
    fi
    track_daemon "nginx-$name" "$d/nginx.pid" || return 1
    wait_port "$PORT" 15
}

# nginx_signal NAME SIGNAL - `nginx -s SIGNAL` for the instance (the launcher of the signal
# runs under the shim too, as it would from the unit's environment).
nginx_signal() {
    local d
    d=$(server_dir "$1")
    # shellcheck disable=SC2046
    env $(shim_env "$(cat "$d/shimconf")") $(sanitizer_environment) \
        timeout 30 nginx -c "$d/nginx.conf" -s "$2" < /dev/null 3>&-
}

# nginx_workers NAME - the worker processes of the running master.
nginx_workers() {
    pgrep -P "$(cat "$(server_dir "$1")/nginx.pid")" -f "nginx: worker"
}

# stop_nginx NAME - `nginx -s stop`, and wait for the master to exit.
stop_nginx() {
    local d pid
    d=$(server_dir "$1")
    [ -s "$d/nginx.pid" ] || return 0
    pid=$(cat "$d/nginx.pid")
    nginx_signal "$1" stop > /dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 15
}

# --- PostgreSQL -----------------------------------------------------------------------------

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# pg_as_postgres ARGS... - run a PostgreSQL program as user postgres, under the shim with
# $PG_SHIMCONF (what an operator's `pg_ctl` would pass on to the postmaster).
pg_as_postgres() {
    local prog=$1
    shift
    # shellcheck disable=SC2046
    runuser -u postgres -- env $(shim_env "$PG_SHIMCONF") $(sanitizer_environment) \
        timeout 60 "$PG_BIN/$prog" "$@" < /dev/null 3>&-
}

# start_postgres NAME SHIMCONF - a private cluster made by initdb as user postgres (data in
# NAME/data, socket in NAME/run), with ssl = on, the rsa certificate (the key copied into the
# data directory: PostgreSQL refuses a key that others can read), listening on
# 127.0.0.1:PORT only; started with `pg_ctl start -w`. Sets PORT.
start_postgres() {
    local name=$1 d attempt pid
    export PG_SHIMCONF=$2
    d=$(server_dir "$name")
    mkdir -p "$d/run"
    chown postgres: "$d" "$d/run"
    open_for_daemons "$d"
    [ -n "$PG_BIN" ] || { echo "no /usr/lib/postgresql/*/bin" >&2; return 1; }
    pg_as_postgres initdb -D "$d/data" --auth=trust --no-sync --username=postgres \
        > "$d/initdb.log" 2>&1 || { cat "$d/initdb.log" >&2; return 1; }
    install -o postgres -g postgres -m 0600 "$FX/rsa.key" "$d/data/server.key"
    install -o postgres -g postgres -m 0644 "$FX/rsa-chain.pem" "$d/data/server.crt"
    for attempt in 1 2 3; do
        PORT=$(free_port)
        cat > "$d/data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$d/run'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
fsync = off
EOF
        chown postgres: "$d/data/postgresql.auto.conf"
        if pg_as_postgres pg_ctl -D "$d/data" -l "$d/postgres.log" -w -t 30 start \
            > "$d/pg_ctl.log" 2>&1; then
            pid=$(head -n 1 "$d/data/postmaster.pid")
            track_session "$(session_of "$pid")" "postgres-$name"
            wait_port "$PORT" 15 && return 0
        fi
        stop_postgres "$name"
        grep -q "in use" "$d/postgres.log" 2>/dev/null || break
    done
    echo "postgres $name did not start; its logs:" >&2
    cat "$d/pg_ctl.log" "$d/postgres.log" >&2 2>/dev/null
    return 1
}

# postmaster_pid NAME - the postmaster's pid.
postmaster_pid() {
    head -n 1 "$(server_dir "$1")/data/postmaster.pid"
}

# stop_postgres NAME - `pg_ctl stop -m fast -w`.
stop_postgres() {
    local d pid
    d=$(server_dir "$1")
    [ -s "$d/data/postmaster.pid" ] || return 0
    pid=$(postmaster_pid "$1")
    pg_as_postgres pg_ctl -D "$d/data" -m fast -w -t 30 stop > /dev/null 2>&1 ||
        kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 15
}

# --- vsftpd ---------------------------------------------------------------------------------

# start_vsftpd NAME SHIMCONF - vsftpd in standalone mode as Debian's unit runs it (`vsftpd
# CONF`, in the foreground: background=NO is the default) with a private vsftpd.conf: one
# listener on 127.0.0.1:PORT, explicit FTPS (ssl_enable, AUTH TLS) with the rsa certificate,
# anonymous logins over TLS only, passive data channels on loopback, TLS required on them
# (require_ssl_reuse off: s_client makes the data channel's handshake), the seccomp sandbox
# left at its default. Sets PORT.
start_vsftpd() {
    local name=$1 shimconf=$2 d attempt pid pasv
    d=$(server_dir "$name")
    mkdir -p "$d/empty" "$d/root"
    echo hello > "$d/root/file.txt"
    open_for_daemons "$d/empty" "$d/root"
    chmod o+r "$d/root/file.txt"
    for attempt in 1 2 3; do
        PORT=$(free_port)
        pasv=$(free_port)
        cat > "$d/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$PORT
anonymous_enable=YES
anon_root=$d/root
no_anon_password=YES
local_enable=NO
secure_chroot_dir=$d/empty
pam_service_name=vsftpd
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=NO
rsa_cert_file=$FX/rsa-chain.pem
rsa_private_key_file=$FX/rsa.key
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=$pasv
pasv_max_port=$((pasv + 50))
xferlog_enable=YES
vsftpd_log_file=$d/vsftpd.log
EOF
        # The shim logs to syslog here, as by default: a vsftpd session's stderr is the client's
        # control connection, and a line written there would break its TLS stream.
        # shellcheck disable=SC2046
        env $(shim_env "$shimconf" | sed 's/OCSPSTAPLE_LOG_TARGET=stderr/OCSPSTAPLE_LOG_TARGET=syslog/') \
            $(sanitizer_environment) setsid vsftpd "$d/vsftpd.conf" \
            < /dev/null > "$d/vsftpd.out" 2>&1 3>&- &
        pid=$!
        echo "$pid" > "$d/pid"
        track_session "$pid" "vsftpd-$name"
        wait_port "$PORT" 15 2> /dev/null && return 0
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 10
        grep -qiE "in use|bind" "$d/vsftpd.out" 2>/dev/null || break
    done
    echo "vsftpd $name did not start; its output:" >&2
    cat "$d/vsftpd.out" >&2
    return 1
}

# stop_vsftpd NAME - SIGTERM to the listener (sessions are processes of their own: they end
# with their client, or in stop_sessions).
stop_vsftpd() {
    local d
    d=$(server_dir "$1")
    [ -s "$d/pid" ] || return 0
    kill -TERM "$(cat "$d/pid")" 2>/dev/null || true
    wait_gone "$(cat "$d/pid")" 15
}

# replaced_and_stapled FIXTURE TARGET - TARGET replaced atomically by $FX/FIXTURE while the
# server on $PORT runs: it is stapled within 5 s, and, a reload interval later (each worker
# process looks once a second, each on its own schedule), by ten connections in a row.
replaced_and_stapled() {
    replace_atomically "$FX/$1" "$2"
    run eventually_staple "$1" 5
    assert_success
    sleep 1.5
    handshakes "$1" 10 "$BATS_TEST_TMPDIR/results"
    run grep -c '^ok$' "$BATS_TEST_TMPDIR/results"
    [ "$output" = 10 ] || cat "$BATS_TEST_TMPDIR/results" >&2
    assert_output 10
}
