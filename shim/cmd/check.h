/*
 * check.h - what the shim would staple, certificate by certificate: the model behind
 * `ocspstaple check` and its three output formats.
 *
 * check_run() reads the configuration and every response exactly as the shim does (config.c,
 * files.c, validate.c: the same code, linked into both) and judges each response for each
 * configured certificate. Single-threaded; owns everything it returns until check_free().
 */
#ifndef OCSPSTAPLE_CHECK_H
#define OCSPSTAPLE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
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

/* check_run - fill *report for the configuration at `config_path`. `warn_seconds` < 0 means
 * the default (a quarter of each response's validity window). Returns report->exit_code. */
int check_run(const char *config_path, long warn_seconds, struct check_report *report);

/* check_free - release a report. */
void check_free(struct check_report *report);

/* severity_name - "ok", "info", "warning", "critical". */
const char *severity_name(enum severity s);

/* format_duration - "3d04h" or "5h07m" (negative: "-..."), for people. */
void format_duration(long seconds, char *buf, size_t size);

/* report_text, report_json, report_prometheus - write the report to `out`. */
void report_text(const struct check_report *r, FILE *out);
void report_json(const struct check_report *r, FILE *out);
void report_prometheus(const struct check_report *r, FILE *out);

#endif
