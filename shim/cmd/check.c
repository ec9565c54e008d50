/*
 * check.c - judge every configured certificate's responses as the shim would: entries that
 * name their certificate first, then responses matched by CertID (entries without a
 * certificate, response_dir's files); check_summary.c then says what each result means.
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
    cert_facts_describe(leaf, &r->certificates[i], run->subjects[i].sha256);
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
        check_summarize(report, &report->certificates[i], now);
        if (report->certificates[i].severity > report->severity)
            report->severity = report->certificates[i].severity;
    }
    if (skipped > 0)
        report->severity = SEVERITY_CRITICAL; /* a configured certificate gets nothing */
    else if (report->problem_count > 0 && report->severity < SEVERITY_WARNING)
        report->severity = SEVERITY_WARNING;
    report->exit_code = severity_exit_code(report->severity);
    for (size_t i = 0; i < report->certificate_count; i++) {
        X509_free(run.subjects[i].leaf);
        sk_X509_pop_free(run.subjects[i].issuers, X509_free);
    }
    free(run.subjects);
    config_free(&run.cfg);
    return report->exit_code;
}
