/*
 * log.c - levels, destinations and rate limiting for ocspstaple's messages.
 *
 * Syslog is the default destination because daemons such as Dovecot turn a child's stderr
 * into error reports; stderr is for tests, the command line and debugging. The rate limiter is
 * a token bucket shared by the whole process: errors always pass, lower levels are dropped when
 * the bucket is empty and the number dropped is reported with the next message that passes.
 */
#include "log.h"

#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lock_reset.h"

static _Atomic int current_level = LOG_LEVEL_INFO;
static _Atomic int current_target = LOG_TARGET_SYSLOG;
static pthread_mutex_t bucket_lock = PTHREAD_MUTEX_INITIALIZER;
static int bucket_burst; /* 0: no rate limiting */
static double bucket_tokens;
static time_t bucket_refilled;
static unsigned long bucket_dropped;
static void (*capture_fn)(enum log_level, const char *, void *);
static void *capture_arg;

void log_set_capture(void (*fn)(enum log_level level, const char *text, void *arg), void *arg)
{
    capture_fn = fn;
    capture_arg = arg;
}

/* forced_target - OCSPSTAPLE_LOG_TARGET as read at the first log_configure (-1: not set): a
 * host that empties its children's environment (nginx's workers) keeps the operator's choice
 * when a reloaded configuration configures the log again. */
static int forced_target = -2; /* -2: not read yet */

void log_configure(enum log_level level, enum log_target target)
{
    /* OCSPSTAPLE_LOG_TARGET (read with secure_getenv: never in setuid processes) overrides the
     * configuration, so that problems found before or while reading it can be seen on stderr.
     * Read once: the first call is made before the core starts any thread. */
    if (forced_target == -2) {
        const char *forced = secure_getenv("OCSPSTAPLE_LOG_TARGET");
        forced_target = -1;
        if (forced != NULL && strcmp(forced, "stderr") == 0)
            forced_target = LOG_TARGET_STDERR;
        else if (forced != NULL && strcmp(forced, "syslog") == 0)
            forced_target = LOG_TARGET_SYSLOG;
    }
    if (forced_target >= 0)
        target = (enum log_target)forced_target;
    atomic_store(&current_level, (int)level);
    atomic_store(&current_target, (int)target);
}

int log_level_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&current_level, memory_order_relaxed);
}

void log_set_ratelimit(int burst)
{
    pthread_mutex_lock(&bucket_lock);
    bucket_burst = burst > 0 ? burst : 0;
    bucket_tokens = bucket_burst;
    bucket_refilled = time(NULL);
    pthread_mutex_unlock(&bucket_lock);
}

/* take_token - 1 if a message at `level` may be written now; *dropped gets the count of
 * messages suppressed since the last one that passed. */
static int take_token(enum log_level level, unsigned long *dropped)
{
    int allowed = 1;

    *dropped = 0;
    pthread_mutex_lock(&bucket_lock);
    if (bucket_burst > 0) {
        time_t now = time(NULL);
        if (now > bucket_refilled) {
            bucket_tokens += (double)(now - bucket_refilled);
            if (bucket_tokens > bucket_burst)
                bucket_tokens = bucket_burst;
            bucket_refilled = now;
        }
        if (level == LOG_LEVEL_ERROR || bucket_tokens >= 1.0) {
            if (bucket_tokens >= 1.0)
                bucket_tokens -= 1.0;
            *dropped = bucket_dropped;
            bucket_dropped = 0;
        } else {
            bucket_dropped++;
            allowed = 0;
        }
    }
    pthread_mutex_unlock(&bucket_lock);
    return allowed;
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR:
        return "error";
    case LOG_LEVEL_WARNING:
        return "warning";
    case LOG_LEVEL_INFO:
        return "info";
    default:
        return "debug";
    }
}

static int syslog_priority(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERROR:
        return LOG_ERR;
    case LOG_LEVEL_WARNING:
        return LOG_WARNING;
    case LOG_LEVEL_INFO:
        return LOG_INFO;
    default:
        return LOG_DEBUG;
    }
}

/* syslog_socket - our own connection to /dev/log, opened once (before any chroot, because the
 * core is initialised before the host enters one), so that our lines carry the ident
 * "ocspstaple" without calling openlog(), which would rename the host's own log lines. */
static int syslog_fd = -1;
static pthread_mutex_t syslog_lock = PTHREAD_MUTEX_INITIALIZER;

static int syslog_connect_locked(void)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (syslog_fd >= 0)
        return 0;
    syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (syslog_fd < 0)
        return -1;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", "/dev/log");
    if (connect(syslog_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        close(syslog_fd);
        syslog_fd = -1;
        return -1;
    }
    return 0;
}

void log_reset_after_clone(void)
{
    (void)lock_reset_after_clone(&bucket_lock);
    (void)lock_reset_after_clone(&syslog_lock);
}

void log_open_syslog(void)
{
    pthread_mutex_lock(&syslog_lock);
    (void)syslog_connect_locked();
    pthread_mutex_unlock(&syslog_lock);
}

static void write_syslog(enum log_level level, const char *text)
{
    char line[2400], stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    int sent = 0;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
    int n =
        snprintf(line, sizeof(line), "<%d>%s ocspstaple[%ld]: %s: %s",
                 LOG_MAIL | syslog_priority(level), stamp, (long)getpid(), level_name(level), text);
    if (n <= 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    pthread_mutex_lock(&syslog_lock);
    for (int attempt = 0; attempt < 2 && !sent; attempt++) {
        if (syslog_connect_locked() != 0)
            break;
        if (send(syslog_fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
            sent = 1;
        } else {
            close(syslog_fd); /* the log daemon restarted: reconnect once */
            syslog_fd = -1;
        }
    }
    pthread_mutex_unlock(&syslog_lock);
    if (!sent) /* e.g. inside a chroot without /dev/log: use the host's own connection */
        syslog(LOG_MAIL | syslog_priority(level), "ocspstaple: %s: %s", level_name(level), text);
}

static void write_line(enum log_level level, const char *text)
{
    if (atomic_load(&current_target) == LOG_TARGET_STDERR) {
        /* One write per line so that lines from threads and processes do not interleave. */
        char line[2300];
        int n = snprintf(line, sizeof(line), "ocspstaple: %s: %s\n", level_name(level), text);
        if (n > 0) {
            size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
            if (line[len - 1] != '\n')
                line[len - 1] = '\n';
            (void)!write(STDERR_FILENO, line, len);
        }
    } else {
        write_syslog(level, text);
    }
}

/* emit - write (or capture) one formatted line that passed the filters. */
static void emit(enum log_level level, unsigned long dropped, const char *text)
{
    if (dropped > 0) {
        char note[128];
        snprintf(note, sizeof(note), "%lu message(s) suppressed by rate limiting", dropped);
        write_line(LOG_LEVEL_WARNING, note);
    }
    if (capture_fn != NULL)
        capture_fn(level, text, capture_arg);
    else
        write_line(level, text);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char text[2048];
    unsigned long dropped;
    va_list ap;

    if (!log_level_enabled(level) || !take_token(level, &dropped))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    emit(level, dropped, text);
}

void log_summary(const char *fmt, ...)
{
    char text[2048];
    va_list ap;

    if (!log_level_enabled(LOG_LEVEL_INFO))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    emit(LOG_LEVEL_INFO, 0, text);
}
