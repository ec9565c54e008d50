/*
 * check_connect.c - check --connect: what a running server staples, judged as the shim judges
 * responses (see check_connect.h).
 *
 * The configuration is optional here: it brings verify, skew and fetch_timeout, and its
 * entries' issuer certificates for servers that do not send their chain. The connection
 * (net.c), the greeting (starttls.c) and the handshake (tls_probe.c) each have their file;
 * this one puts them in order and fills the report.
 */
#include "check_connect.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cert_facts.h"
#include "check_summary.h"
#include "config.h"
#include "files.h"
#include "log.h"
#include "net.h"
#include "tls_probe.h"

/* config_issuers - every issuer certificate the configuration's entries name (never NULL
 * unless out of memory). */
static STACK_OF(X509) * config_issuers(const struct config *cfg)
{
    STACK_OF(X509) *all = sk_X509_new_null();

    for (size_t i = 0; all != NULL && i < cfg->entry_count; i++) {
        X509 *leaf = NULL;
        STACK_OF(X509) *issuers = NULL;
        if (entry_load_certs(cfg->path, &cfg->entries[i], &leaf, &issuers) != 0)
            continue;
        X509_free(leaf);
        while (sk_X509_num(issuers) > 0) {
            X509 *x = sk_X509_shift(issuers);
            if (!sk_X509_push(all, x))
                X509_free(x);
        }
        sk_X509_free(issuers);
    }
    return all;
}

/* judge_staple - the staple's verdict for the served leaf, into *out. */
static void judge_staple(const struct tls_probe *p, STACK_OF(X509) * cfg_issuers,
                         const struct validation_policy *policy, struct checked_response *out)
{
    struct response_facts facts;

    memset(out, 0, sizeof(*out));
    OCSP_BASICRESP *basic = response_parse(p->staple, p->staple_len, &facts);
    if (basic != NULL) {
        /* The served chain first: the CertID must be that of what the server serves. */
        X509 *issuer = entry_find_issuer(p->leaf, p->chain, cfg_issuers, basic);
        response_validate(basic, p->leaf, issuer, policy, time(NULL), &facts);
        OCSP_BASICRESP_free(basic);
    }
    report_set_verdict(out, &facts, policy);
    ERR_clear_error();
}

/* load_config - the configuration the options name, or defaults. Returns 0, or -1 when it must
 * be read and cannot be. */
static int load_config(const struct connect_options *opt, struct check_report *report,
                       struct config *cfg)
{
    if (opt->config_path != NULL &&
        (opt->config_required || access(opt->config_path, F_OK) == 0 || errno != ENOENT)) {
        report->config_path = strdup(opt->config_path);
        return config_load(opt->config_path, cfg);
    }
    config_defaults(cfg);
    return 0;
}

/* probe - connect, greet, handshake; 0 with *p filled, or -1 with report->connect_error. */
static int probe(const struct connect_options *opt, const struct endpoint *ep, long timeout,
                 struct check_report *report, struct tls_probe *p)
{
    char why[400], msg[1000];
    deadline_t deadline = deadline_in(timeout);
    int fd = net_connect(ep, deadline, why, sizeof(why));
    int rc = -1;

    if (fd < 0) {
        snprintf(msg, sizeof(msg), "%s: cannot connect: %.400s", ep->target, why);
        goto out;
    }
    if (starttls_negotiate(fd, opt->starttls, deadline, why, sizeof(why)) != 0) {
        snprintf(msg, sizeof(msg), "%s: STARTTLS (%s): %.400s", ep->target,
                 starttls_name(opt->starttls), why);
        goto out;
    }
    if (tls_probe_run(fd, report->servername, deadline, p, why, sizeof(why)) != 0) {
        snprintf(msg, sizeof(msg), "%s: %.400s", ep->target, why);
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        if (strstr(msg, "no answer within the timeout") != NULL) {
            size_t n = strlen(msg);
            snprintf(msg + n, sizeof(msg) - n, " (%ld s)", timeout);
        }
        report->connect_error = strdup(msg);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int check_connect_run(const struct connect_options *opt, struct check_report *report)
{
    struct config cfg;
    struct validation_policy policy;
    struct endpoint ep;
    struct tls_probe p = {0};
    STACK_OF(X509) *issuers = NULL;
    char why[300];

    memset(report, 0, sizeof(*report));
    report->checked_at = time(NULL);
    report->warn_seconds = opt->warn_seconds;
    report->starttls = starttls_name(opt->starttls);
    report->severity = SEVERITY_CRITICAL;
    report->exit_code = 2;
    if (endpoint_parse(opt->target, &ep, why, sizeof(why)) != 0) {
        report->target = strdup(opt->target);
        report->connect_error = strdup(why);
        report->exit_code = 3;
        return report->exit_code;
    }
    report->target = strdup(ep.target);
    if (opt->servername != NULL)
        report->servername = strdup(opt->servername);
    else if (!ep.host_is_ip)
        report->servername = strdup(ep.host);
    log_set_capture(report_capture_problem, report);
    if (load_config(opt, report, &cfg) != 0) {
        log_set_capture(NULL, NULL);
        report->config_unreadable = true;
        report->exit_code = 3;
        config_free(&cfg);
        return report->exit_code;
    }
    policy.verify = cfg.verify;
    policy.skew = cfg.skew;
    policy.serve_revoked = cfg.serve_revoked;
    issuers = config_issuers(&cfg);
    log_set_capture(NULL, NULL);

    /* A server that closes in the middle of the handshake must get a reason, not a SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (probe(opt, &ep, opt->timeout >= 0 ? opt->timeout : cfg.fetch_timeout, report, &p) != 0)
        goto done;
    snprintf(report->protocol, sizeof(report->protocol), "%s", p.protocol);
    struct checked_certificate *c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto done;
    report->certificates = c;
    report->certificate_count = 1;
    unsigned char sha[32];
    cert_facts_describe(p.leaf, c, sha);
    if (p.staple != NULL && (c->responses = calloc(1, sizeof(*c->responses))) != NULL) {
        c->response_count = 1;
        judge_staple(&p, issuers, &policy, c->responses);
    }
    check_summarize(report, c, time(NULL));
    report->severity = c->severity;
    if (report->problem_count > 0 && report->severity < SEVERITY_WARNING)
        report->severity = SEVERITY_WARNING;
    report->exit_code = severity_exit_code(report->severity);
done:
    tls_probe_free(&p);
    sk_X509_pop_free(issuers, X509_free);
    config_free(&cfg);
    return report->exit_code;
}
