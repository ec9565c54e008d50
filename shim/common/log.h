/*
 * log.h - the logging API shared by the shim's core and the ocspstaple command.
 *
 * Every message carries the "ocspstaple:" prefix (stderr) or the "ocspstaple" ident (syslog),
 * names the file and the certificate it is about, and is rate-limited so that a busy server's
 * log cannot be flooded. All functions are thread-safe and never fail the caller.
 */
#ifndef OCSPSTAPLE_LOG_H
#define OCSPSTAPLE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_target { LOG_TARGET_SYSLOG = 0, LOG_TARGET_STDERR };

/* log_configure - set the threshold and destination (the environment variable
 * OCSPSTAPLE_LOG_TARGET=stderr|syslog overrides the destination); safe at any time. */
void log_configure(enum log_level level, enum log_target target);

/* log_open_syslog - connect to /dev/log now (call before a chroot); harmless if it fails. */
void log_open_syslog(void);

/* log_level_enabled - whether a message at this level would be written (cheap check). */
int log_level_enabled(enum log_level level);

/* log_set_ratelimit - enable (burst > 0) or disable (0) rate limiting of messages below error
 * level: at most `burst` messages at once, refilled by one per second. The shim enables it;
 * the command, which writes a bounded report, does not. */
void log_set_ratelimit(int burst);

/* log_set_capture - send every message that passes the level filter to `fn` instead of the
 * destination (NULL restores the destination). For the command, which reports configuration
 * problems inside its own output. */
void log_set_capture(void (*fn)(enum log_level level, const char *text, void *arg), void *arg);

/* log_summary - like log_msg at info level, but never rate-limited: for the one line per
 * (re)load that says what was loaded, which must survive a burst of per-file messages. */
void log_summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_reset_after_clone - in a process made by a raw clone(), where no fork handler ran: make
 * the log's locks usable even if the clone copied them held (what they guard is a counter
 * and a socket, safe to take as copied). Call before logging in such a process. */
void log_reset_after_clone(void);

/* log_msg - write one line at `level` unless filtered or rate-limited. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_level_enabled(LOG_LEVEL_DEBUG))                                                    \
            log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                                 \
    } while (0)

#endif
