/*
 * report.h - the data of a check report: what the shim would staple, certificate by
 * certificate, and what an operator or a monitoring system must hear about it. Made by
 * check.c, rendered by render_*.c; each side depends on this header, not on the other.
 */
#ifndef OCSPSTAPLE_REPORT_H
#define OCSPSTAPLE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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
    char *file; /* the `certificate` setting */
    char subject[256];
    char serial[80];
    char sha256[65];
    bool must_staple; /* TLS Feature status_request */
    char *ocsp_url;   /* from the certificate's AIA, or NULL */
    struct checked_response *responses;
    size_t response_count;
    enum severity severity;
    char summary[400];
};

struct check_report {
    char *config_path;
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

/* report_free - release everything a report owns; the struct is zeroed. */
void report_free(struct check_report *report);

/* severity_name - "ok", "info", "warning", "critical". */
const char *severity_name(enum severity s);

#endif
