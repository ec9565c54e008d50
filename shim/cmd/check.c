/*
 * check.c - judge every configured certificate's responses as the shim would: entries that
 * name their certificate first, then responses matched by CertID (entries without a
 * certificate, response_dir's files); check_summary.c then says what each result means.
 * A configuration that names no certificate staples whatever its responses are about: each
 * response is then judged on its own, under the certificate its CertID names, and a
 * configuration with nothing to staple at all is critical, never OK.
 */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "cert_facts.h"
#include "check_summary.h"
#include "config.h"
#include "files.h"
#include "log.h"
#include "patterns.h"

/* The certificates being checked, with what is needed to judge responses for them. */
struct subject_cert {
    X509 *leaf; /* NULL for a certificate known only by a response's CertID */
    STACK_OF(X509) * issuers;
    unsigned char sha256[32];
    OCSP_CERTID *cid; /* that CertID, or NULL */
};

struct run {
    struct check_report *report;
    struct config cfg;
    struct validation_policy policy;
    struct subject_cert *subjects; /* parallel to report->certificates */
    bool names_certificates;       /* some entry names its certificate */
};

/* judge - one response file for one certificate (leaf may be NULL: judged on its own). */
static void judge(struct run *run, const char *file, X509 *leaf, STACK_OF(X509) * issuers,
                  struct checked_response *out)
{
    struct response_facts facts;
    size_t len = 0;

    memset(out, 0, sizeof(*out));
    out->file = strdup(file);
    if (leaf != NULL) {
        unsigned char *der =
            response_file_judge(file, leaf, issuers, &run->policy, time(NULL), &facts, &len, NULL);
        OPENSSL_free(der);
        out->verdict = facts.verdict;
        if (der == NULL) {
            out->missing = strcmp(facts.reason, strerror(ENOENT)) == 0;
            snprintf(out->reason, sizeof(out->reason), "cannot be read: %.300s", facts.reason);
            return;
        }
        report_set_verdict(out, &facts, &run->policy);
        return;
    }
    char why[256];
    unsigned char *der = response_file_read(AT_FDCWD, file, &len, why, sizeof(why));
    if (der == NULL) {
        out->missing = strcmp(why, strerror(ENOENT)) == 0;
        out->verdict = VERDICT_UNREADABLE;
        snprintf(out->reason, sizeof(out->reason), "cannot be read: %s", why);
        return;
    }
    OCSP_BASICRESP *basic = response_parse(der, len, &facts);
    OPENSSL_free(der);
    if (basic == NULL) {
        out->verdict = facts.verdict;
        snprintf(out->reason, sizeof(out->reason), "%s", facts.reason);
        return;
    }
    response_first_times(basic, &out->this_update, &out->next_update);
    out->verdict = VERDICT_WRONG_CERTIFICATE;
    snprintf(out->reason, sizeof(out->reason),
             "about no configured certificate; the shim uses it for any served certificate "
             "whose CertID it carries");
    OCSP_BASICRESP_free(basic);
    ERR_clear_error();
}

static struct checked_response *add_response(struct checked_response **list, size_t *count)
{
    struct checked_response *grown = realloc(*list, (*count + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    *list = grown;
    return &grown[(*count)++];
}

/* grow - one more certificate in the report and its subject; its index, or (size_t)-1. */
static size_t grow(struct run *run)
{
    struct check_report *r = run->report;
    struct checked_certificate *c =
        realloc(r->certificates, (r->certificate_count + 1) * sizeof(*c));
    if (c != NULL)
        r->certificates = c;
    struct subject_cert *s = realloc(run->subjects, (r->certificate_count + 1) * sizeof(*s));
    if (s != NULL)
        run->subjects = s;
    if (c == NULL || s == NULL)
        return (size_t)-1;
    size_t i = r->certificate_count++;
    memset(&r->certificates[i], 0, sizeof(r->certificates[i]));
    memset(&run->subjects[i], 0, sizeof(run->subjects[i]));
    return i;
}

/* certificate_for - the report's entry for `leaf`, created on first sight (takes ownership of
 * leaf and issuers either way). */
static size_t certificate_for(struct run *run, const char *file, X509 *leaf,
                              STACK_OF(X509) * issuers)
{
    struct check_report *r = run->report;
    unsigned char sha[32];
    unsigned int len = 0;

    X509_digest(leaf, EVP_sha256(), sha, &len);
    for (size_t i = 0; i < r->certificate_count; i++)
        if (memcmp(run->subjects[i].sha256, sha, 32) == 0) {
            /* Same certificate in several entries: keep the issuers of all of them. */
            while (sk_X509_num(issuers) > 0)
                sk_X509_push(run->subjects[i].issuers, sk_X509_shift(issuers));
            sk_X509_free(issuers);
            X509_free(leaf);
            return i;
        }
    size_t i = grow(run);
    if (i == (size_t)-1) {
        X509_free(leaf);
        sk_X509_pop_free(issuers, X509_free);
        return i;
    }
    r->certificates[i].file = strdup(file);
    cert_facts_describe(leaf, &r->certificates[i], run->subjects[i].sha256);
    run->subjects[i].leaf = leaf;
    run->subjects[i].issuers = issuers;
    return i;
}

/* certificate_by_certid - the report's entry for the certificate a CertID names, created on
 * first sight (serial only: nothing else of it is known). */
static size_t certificate_by_certid(struct run *run, const OCSP_CERTID *cid)
{
    ASN1_INTEGER *serial = NULL;

    for (size_t i = 0; i < run->report->certificate_count; i++)
        if (run->subjects[i].cid != NULL && OCSP_id_cmp(run->subjects[i].cid, cid) == 0)
            return i;
    size_t i = grow(run);
    if (i == (size_t)-1)
        return i;
    struct checked_certificate *c = &run->report->certificates[i];
    c->from_response = true;
    run->subjects[i].cid = OCSP_CERTID_dup((OCSP_CERTID *)cid);
    OCSP_id_get0_info(NULL, NULL, NULL, &serial, (OCSP_CERTID *)cid);
    BIGNUM *bn = serial ? ASN1_INTEGER_to_BN(serial, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(c->serial, sizeof(c->serial), "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    return i;
}

/* judge_alone - in a configuration that names no certificate, what the shim staples is decided
 * by the responses alone: each SingleResponse of `file` is judged on its own (validate.c's
 * response_validate_alone) under the certificate its CertID names. A file that cannot be read
 * or parsed, or names none, is listed as unmatched. */
static void judge_alone(struct run *run, const char *file, STACK_OF(X509) * issuers)
{
    struct check_report *r = run->report;
    struct response_facts facts;
    char why[256];
    size_t len = 0;

    unsigned char *der = response_file_read(AT_FDCWD, file, &len, why, sizeof(why));
    OCSP_BASICRESP *basic = der ? response_parse(der, len, &facts) : NULL;
    OPENSSL_free(der);
    int n = basic ? OCSP_resp_count(basic) : 0;
    if (n <= 0) {
        struct checked_response *cr = add_response(&r->unmatched, &r->unmatched_count);
        if (cr != NULL)
            judge(run, file, NULL, NULL, cr);
    }
    for (int i = 0; i < n; i++) {
        const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic, i));
        size_t k = cid ? certificate_by_certid(run, cid) : (size_t)-1;
        if (k == (size_t)-1)
            continue;
        struct checked_certificate *c = &r->certificates[k];
        struct checked_response *cr = add_response(&c->responses, &c->response_count);
        if (cr == NULL)
            continue;
        memset(cr, 0, sizeof(*cr));
        cr->file = strdup(file);
        response_validate_alone(basic, i, issuers, &run->policy, time(NULL), &facts);
        report_set_verdict(cr, &facts, &run->policy);
    }
    OCSP_BASICRESP_free(basic);
    ERR_clear_error();
}

/* judge_unbound - a response not tied to a certificate: judged for every configured
 * certificate it mentions, or listed as unmatched; judged alone when no entry names a
 * certificate. */
static void judge_unbound(struct run *run, const char *file, STACK_OF(X509) * extra_issuers)
{
    struct check_report *r = run->report;
    struct response_facts facts;
    char why[256];
    size_t len = 0;
    bool matched = false;

    if (!run->names_certificates) {
        judge_alone(run, file, extra_issuers);
        return;
    }
    unsigned char *der = response_file_read(AT_FDCWD, file, &len, why, sizeof(why));
    OCSP_BASICRESP *basic = der ? response_parse(der, len, &facts) : NULL;
    OPENSSL_free(der);
    for (size_t i = 0; basic != NULL && i < r->certificate_count; i++) {
        struct subject_cert *s = &run->subjects[i];
        if (!response_mentions_serial(basic, X509_get0_serialNumber(s->leaf)))
            continue;
        struct checked_certificate *c = &r->certificates[i];
        struct checked_response *cr = add_response(&c->responses, &c->response_count);
        STACK_OF(X509) *all = sk_X509_dup(s->issuers);
        for (int k = 0; all != NULL && extra_issuers && k < sk_X509_num(extra_issuers); k++)
            sk_X509_push(all, sk_X509_value(extra_issuers, k));
        if (cr != NULL)
            judge(run, file, s->leaf, all, cr);
        sk_X509_free(all);
        matched = true;
    }
    OCSP_BASICRESP_free(basic);
    if (!matched) {
        struct checked_response *cr = add_response(&r->unmatched, &r->unmatched_count);
        if (cr != NULL)
            judge(run, file, NULL, NULL, cr);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* scan_dir - response_dir's *.der files, sorted, judged as unbound responses. */
static void scan_dir(struct run *run, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;

    if (d == NULL) {
        log_error("%s: response_dir cannot be read: %s", dir, strerror(errno));
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (!is_response_file_name(de->d_name))
            continue;
        char **grown = realloc(names, (n + 1) * sizeof(*grown));
        if (grown == NULL)
            break;
        names = grown;
        if (asprintf(&names[n], "%s/%s", dir, de->d_name) >= 0)
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(char *), by_name);
    for (size_t i = 0; i < n; i++) {
        judge_unbound(run, names[i], NULL);
        free(names[i]);
    }
    free(names);
}

int check_run(const char *config_path, long warn_seconds, struct check_report *report)
{
    struct run run = {.report = report};

    memset(report, 0, sizeof(*report));
    report->config_path = strdup(config_path);
    report->checked_at = time(NULL);
    report->warn_seconds = warn_seconds;
    log_set_capture(report_capture_problem, report);
    if (config_load(config_path, &run.cfg) != 0) {
        report->config_unreadable = true;
        report->severity = SEVERITY_CRITICAL;
        report->exit_code = 3;
        log_set_capture(NULL, NULL);
        config_free(&run.cfg);
        return report->exit_code;
    }
    size_t patterns = 0;
    for (size_t i = 0; i < run.cfg.entry_count; i++)
        patterns += run.cfg.entries[i].is_pattern;
    patterns_expand(&run.cfg); /* each certificate a pattern matches is checked as an entry */
    run.policy.verify = run.cfg.verify;
    run.policy.skew = run.cfg.skew;
    run.policy.serve_revoked = run.cfg.serve_revoked;
    unsigned skipped = run.cfg.skipped_entries;

    /* Entries that name their certificate first, then responses to match by CertID. */
    for (size_t i = 0; i < run.cfg.entry_count; i++) {
        const struct staple_entry *e = &run.cfg.entries[i];
        X509 *leaf = NULL;
        STACK_OF(X509) *issuers = NULL;
        if (entry_load_certs(run.cfg.path, e, &leaf, &issuers) != 0) {
            skipped++;
            continue;
        }
        if (leaf == NULL) {
            sk_X509_pop_free(issuers, X509_free);
            continue;
        }
        size_t k = certificate_for(&run, e->certificate, leaf, issuers);
        if (k == (size_t)-1)
            continue;
        struct checked_certificate *c = &report->certificates[k];
        struct checked_response *cr = add_response(&c->responses, &c->response_count);
        if (cr != NULL)
            judge(&run, e->response, run.subjects[k].leaf, run.subjects[k].issuers, cr);
    }
    run.names_certificates = report->certificate_count > 0;
    for (size_t i = 0; i < run.cfg.entry_count; i++) {
        const struct staple_entry *e = &run.cfg.entries[i];
        if (e->certificate != NULL)
            continue;
        X509 *leaf = NULL;
        STACK_OF(X509) *issuers = NULL;
        if (entry_load_certs(run.cfg.path, e, &leaf, &issuers) != 0)
            continue;
        judge_unbound(&run, e->response, issuers);
        sk_X509_pop_free(issuers, X509_free);
    }
    if (run.cfg.response_dir != NULL)
        scan_dir(&run, run.cfg.response_dir);
    log_set_capture(NULL, NULL);

    time_t now = time(NULL);
    report->severity = SEVERITY_OK;
    for (size_t i = 0; i < report->certificate_count; i++) {
        check_summarize(report, &report->certificates[i], now);
        if (report->certificates[i].severity > report->severity)
            report->severity = report->certificates[i].severity;
    }
    if (skipped > 0)
        report->severity = SEVERITY_CRITICAL; /* a configured certificate gets nothing */
    else if (report->problem_count > 0 && report->severity < SEVERITY_WARNING)
        report->severity = SEVERITY_WARNING;
    if (report->certificate_count == 0 && skipped == 0) {
        /* Nothing the shim could staple for any certificate: never OK. */
        char what[600];
        if (run.cfg.entry_count == 0 && run.cfg.response_dir == NULL && patterns > 0)
            snprintf(what, sizeof(what),
                     "nothing to staple: the configuration's patterns match no certificate, "
                     "and it has no other entries and no response_dir");
        else if (run.cfg.entry_count == 0 && run.cfg.response_dir == NULL)
            snprintf(what, sizeof(what),
                     "nothing to staple: the configuration has no `staples` "
                     "entries and no response_dir");
        else
            snprintf(what, sizeof(what),
                     "nothing to staple: no entry names a certificate, and no response%s%.400s "
                     "is about one",
                     run.cfg.response_dir ? " of the entries or in response_dir "
                                          : " of the entries",
                     run.cfg.response_dir ? run.cfg.response_dir : "");
        report_capture_problem(LOG_LEVEL_ERROR, what, report);
        report->severity = SEVERITY_CRITICAL;
    }
    report->exit_code = severity_exit_code(report->severity);
    for (size_t i = 0; i < report->certificate_count; i++) {
        X509_free(run.subjects[i].leaf);
        sk_X509_pop_free(run.subjects[i].issuers, X509_free);
        OCSP_CERTID_free(run.subjects[i].cid);
    }
    free(run.subjects);
    config_free(&run.cfg);
    return report->exit_code;
}
