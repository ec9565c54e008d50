/*
 * check.c - judge every configured certificate's responses as the shim would, and decide
 * what an operator or a monitoring system must hear about it.
 *
 * Severity per certificate: critical when it would be served without a stapleable response
 * (said in so many words for OCSP Must-Staple certificates: their clients refuse the
 * connection), or when a validly signed response says it is revoked, whatever serve_revoked
 * says; warning when its best response's nextUpdate is near; info when it names no OCSP
 * responder and has no response (nothing to staple, nothing wrong); ok otherwise.
 */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "files.h"
#include "log.h"

#define TLS_FEATURE_STATUS_REQUEST 5

/* The certificates being checked, with what is needed to judge responses for them. */
struct subject_cert {
    X509 *leaf;
    STACK_OF(X509) * issuers;
    unsigned char sha256[32];
};

struct run {
    struct check_report *report;
    struct config cfg;
    struct validation_policy policy;
    struct subject_cert *subjects; /* parallel to report->certificates */
};

const char *severity_name(enum severity s)
{
    static const char *const names[] = {"ok", "info", "warning", "critical"};
    return s <= SEVERITY_CRITICAL ? names[s] : "unknown";
}

/* capture_problem - configuration problems go into the report, not to a log. */
static void capture_problem(enum log_level level, const char *text, void *arg)
{
    struct check_report *r = arg;
    if (level > LOG_LEVEL_WARNING)
        return;
    char **grown = realloc(r->problems, (r->problem_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    r->problems = grown;
    if ((r->problems[r->problem_count] = strdup(text)) != NULL)
        r->problem_count++;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
    out[2 * n] = '\0';
}

static bool is_must_staple(X509 *cert)
{
    bool found = false;
    STACK_OF(ASN1_INTEGER) *features = X509_get_ext_d2i(cert, NID_tlsfeature, NULL, NULL);
    for (int i = 0; features != NULL && i < sk_ASN1_INTEGER_num(features); i++)
        if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == TLS_FEATURE_STATUS_REQUEST)
            found = true;
    sk_ASN1_INTEGER_pop_free(features, ASN1_INTEGER_free);
    ERR_clear_error();
    return found;
}

static void describe(X509 *cert, struct checked_certificate *c, unsigned char sha256[32])
{
    BIO *mem = BIO_new(BIO_s_mem());
    char *p = NULL;
    unsigned int len = 0;

    if (mem != NULL &&
        X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        long n = BIO_get_mem_data(mem, &p);
        snprintf(c->subject, sizeof(c->subject), "%.*s", (int)n, p);
    }
    BIO_free(mem);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *serial = bn ? BN_bn2hex(bn) : NULL;
    snprintf(c->serial, sizeof(c->serial), "%s", serial ? serial : "?");
    OPENSSL_free(serial);
    BN_free(bn);
    if (X509_digest(cert, EVP_sha256(), sha256, &len) == 1 && len == 32)
        hex(sha256, 32, c->sha256);
    c->must_staple = is_must_staple(cert);
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
        c->ocsp_url = strdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
}

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
        snprintf(out->reason, sizeof(out->reason), "%s", facts.reason);
        out->this_update = facts.this_update;
        out->next_update = facts.next_update;
        out->stapleable = verdict_stapleable(facts.verdict, &run->policy);
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
    struct checked_certificate *c =
        realloc(r->certificates, (r->certificate_count + 1) * sizeof(*c));
    struct subject_cert *s = realloc(run->subjects, (r->certificate_count + 1) * sizeof(*s));
    if (c != NULL)
        r->certificates = c;
    if (s != NULL)
        run->subjects = s;
    if (c == NULL || s == NULL) {
        X509_free(leaf);
        sk_X509_pop_free(issuers, X509_free);
        return (size_t)-1;
    }
    size_t i = r->certificate_count++;
    memset(&r->certificates[i], 0, sizeof(r->certificates[i]));
    r->certificates[i].file = strdup(file);
    describe(leaf, &r->certificates[i], run->subjects[i].sha256);
    run->subjects[i].leaf = leaf;
    run->subjects[i].issuers = issuers;
    return i;
}

/* judge_unbound - a response not tied to a certificate: judged for every configured
 * certificate it mentions, or listed as unmatched. */
static void judge_unbound(struct run *run, const char *file, STACK_OF(X509) * extra_issuers)
{
    struct check_report *r = run->report;
    struct response_facts facts;
    char why[256];
    size_t len = 0;
    bool matched = false;

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

static void summarize(struct run *run, struct checked_certificate *c, time_t now)
{
    const struct checked_response *best = NULL;
    bool revoked = false, all_missing = c->response_count > 0;

    for (size_t i = 0; i < c->response_count; i++) {
        const struct checked_response *x = &c->responses[i];
        revoked |= x->verdict == VERDICT_REVOKED;
        all_missing &= x->missing;
        if (x->stapleable && x->verdict == VERDICT_GOOD &&
            (best == NULL || x->next_update > best->next_update))
            best = x;
    }
    if (revoked) {
        c->severity = SEVERITY_CRITICAL;
        snprintf(c->summary, sizeof(c->summary),
                 "the certificate is REVOKED (a validly signed response says so): replace it");
    } else if (best == NULL && c->must_staple) {
        c->severity = SEVERITY_CRITICAL;
        snprintf(c->summary, sizeof(c->summary),
                 "OCSP Must-Staple certificate without a stapleable response: its clients will "
                 "refuse the connection");
    } else if (best == NULL && c->ocsp_url == NULL && all_missing) {
        c->severity = SEVERITY_INFO;
        snprintf(c->summary, sizeof(c->summary),
                 "names no OCSP responder and has no response: nothing to staple");
    } else if (best == NULL) {
        c->severity = SEVERITY_CRITICAL;
        snprintf(c->summary, sizeof(c->summary), "no stapleable response: served without a staple");
    } else {
        long window = (long)(best->next_update - best->this_update);
        long threshold = run->report->warn_seconds >= 0 ? run->report->warn_seconds : window / 4;
        long left = (long)(best->next_update - now);
        char d[32];
        format_duration(left, d, sizeof(d));
        if (left < threshold) {
            c->severity = SEVERITY_WARNING;
            snprintf(c->summary, sizeof(c->summary),
                     "stapled, but its response expires in %s: refresh it (ocspstaple fetch)", d);
        } else {
            c->severity = SEVERITY_OK;
            snprintf(c->summary, sizeof(c->summary), "stapled: good for %s", d);
        }
    }
}

int check_run(const char *config_path, long warn_seconds, struct check_report *report)
{
    struct run run = {.report = report};

    memset(report, 0, sizeof(*report));
    report->config_path = strdup(config_path);
    report->checked_at = time(NULL);
    report->warn_seconds = warn_seconds;
    log_set_capture(capture_problem, report);
    if (config_load(config_path, &run.cfg) != 0) {
        report->config_unreadable = true;
        report->severity = SEVERITY_CRITICAL;
        report->exit_code = 3;
        log_set_capture(NULL, NULL);
        config_free(&run.cfg);
        return report->exit_code;
    }
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
        summarize(&run, &report->certificates[i], now);
        if (report->certificates[i].severity > report->severity)
            report->severity = report->certificates[i].severity;
    }
    if (skipped > 0)
        report->severity = SEVERITY_CRITICAL; /* a configured certificate gets nothing */
    else if (report->problem_count > 0 && report->severity < SEVERITY_WARNING)
        report->severity = SEVERITY_WARNING;
    report->exit_code = report->severity == SEVERITY_CRITICAL  ? 2
                        : report->severity == SEVERITY_WARNING ? 1
                                                               : 0;
    for (size_t i = 0; i < report->certificate_count; i++) {
        X509_free(run.subjects[i].leaf);
        sk_X509_pop_free(run.subjects[i].issuers, X509_free);
    }
    free(run.subjects);
    config_free(&run.cfg);
    return report->exit_code;
}

static void free_responses(struct checked_response *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].file);
    free(list);
}

void check_free(struct check_report *r)
{
    for (size_t i = 0; i < r->problem_count; i++)
        free(r->problems[i]);
    free(r->problems);
    for (size_t i = 0; i < r->certificate_count; i++) {
        free(r->certificates[i].file);
        free(r->certificates[i].ocsp_url);
        free_responses(r->certificates[i].responses, r->certificates[i].response_count);
    }
    free(r->certificates);
    free_responses(r->unmatched, r->unmatched_count);
    free(r->config_path);
    memset(r, 0, sizeof(*r));
}
