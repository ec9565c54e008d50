/*
 * check_connect.h - `ocspstaple check --connect`: probe a running server end to end and judge
 * the staple it sends as a strict client would, into the same report as a check of the files
 * (report.h), rendered by the same renderers, with the same exit codes.
 */
#ifndef OCSPSTAPLE_CHECK_CONNECT_H
#define OCSPSTAPLE_CHECK_CONNECT_H

#include <stdbool.h>

#include "report.h"
#include "starttls.h"

struct connect_options {
    const char *target; /* HOST:PORT or [IPV6]:PORT */
    enum starttls_proto starttls;
    const char *servername;  /* SNI; NULL: HOST when it is a name, none for an address */
    long timeout;            /* seconds for the whole probe but DNS; < 0: fetch_timeout */
    const char *config_path; /* the configuration (its verify, skew, issuers), or NULL */
    bool config_required;    /* given with -c: must be readable; else used if it exists */
    long warn_seconds;       /* as for check_run */
};

/* check_connect_run - connect, STARTTLS if asked, handshake asking for status, and judge the
 * staple for the certificate served (validate.c, as the shim judges responses): its CertID
 * with the issuer from the served chain (else the configuration's issuers, else the
 * response's certificates), signature, time window with the configured skew, status.
 * Returns report->exit_code: 0 ok, 1 warning, 2 critical (also: no connection, no
 * handshake, no staple), 3 unknown (the configuration cannot be read). */
int check_connect_run(const struct connect_options *opt, struct check_report *report);

#endif
