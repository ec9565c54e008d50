/*
 * report.h - the data of a check report: what the shim would staple (or, probing a running
 * server, what it staples), certificate by certificate, and what an operator or a monitoring
 * system must hear about it. Made by check.c (the files) and check_connect.c (a server),
 * rendered by render_*.c; each side depends on this header, not on the other.
 */
#ifndef OCSPSTAPLE_REPORT_H
#define OCSPSTAPLE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "log.h"
#include "validate.h"

enum severity { SEVERITY_OK = 0, SEVERITY_INFO, SEVERITY_WARNING, SEVERITY_CRITICAL };

/* One response file, judged for one certificate (or on its own when it matches none). */
struct checked_response {
    char *file;
    enum verdict verdict;
    char reason[320];
    bool stapleable;
    bool missing;                    /* the file does not exist */
    time_t this_update, next_update; /* 0 when unknown */
};

struct checked_certificate {
    char *file;         /* the `certificate` setting; NULL: served by the probed server, or
                           known only from a response (from_response) */
    bool from_response; /* not configured: known by the CertID of response_dir's responses
                           (serial only; subject, sha256 and not_after unknown) */
    char subject[256];
    char serial[80];
    char sha256[65];
    time_t not_after; /* 0 when unknown */
    bool must_staple; /* TLS Feature status_request */
    char *ocsp_url;   /* from the certificate's AIA, or NULL */
    struct checked_response *responses;
    size_t response_count;
    enum severity severity;
    char summary[400];
};

struct check_report {
    char *config_path; /* NULL: none (check --connect without a configuration) */
    /* check --connect: the server probed (NULL when files were checked), how, what it said */
    char *target;         /* "host:port" */
    const char *starttls; /* "smtp", ..., or NULL */
    char *servername;     /* SNI sent, or NULL */
    char protocol[16];    /* TLS version negotiated */
    char *connect_error;  /* why no handshake took place, or NULL */
    time_t checked_at;
    bool config_unreadable;
    char **problems; /* configuration and file problems, as logged */
    size_t problem_count;
    struct checked_certificate *certificates;
    size_t certificate_count;
    struct checked_response *unmatched; /* responses for no configured certificate */
    size_t unmatched_count;
    long warn_seconds; /* -1: a quarter of each response's validity window */
    enum severity severity;
    int exit_code; /* 0 ok, 1 warning, 2 critical, 3 unknown */
};

/* report_capture_problem - a log_set_capture() callback (arg: the report) that keeps
 * warnings and errors in r->problems. */
void report_capture_problem(enum log_level level, const char *text, void *arg);

/* report_set_verdict - fill out's verdict, reason, times and stapleable from what validation
 * found (`facts`), under `policy`. */
void report_set_verdict(struct checked_response *out, const struct response_facts *facts,
                        const struct validation_policy *policy);

/* report_free - release everything a report owns; the struct is zeroed. */
void report_free(struct check_report *report);

/* severity_exit_code - the monitoring-plugin exit status of a severity: 0 ok and info,
 * 1 warning, 2 critical (3, unknown, is for what could not be checked at all). */
int severity_exit_code(enum severity s);

/* severity_name - "ok", "info", "warning", "critical". */
const char *severity_name(enum severity s);

#endif
