/*
 * fetch.c - `ocspstaple fetch`: keep every configured response fresh.
 *
 * For each entry that names its certificate: judge the current file exactly as the shim
 * would; when it is missing, not stapleable, or past the middle of its validity window (plus
 * a random jitter, so that many hosts do not ask at the same second), ask the responder named
 * by the entry (`responder`) or by the certificate (Authority Information Access), judge the
 * answer the same way, and replace the file atomically when the answer is better
 * (atomic_write.c; the directories' fsyncs once at the end of the run). The requests of all
 * entries are made together (fetch_pool.c: concurrently, over kept-alive connections), each
 * answer judged and written as soon as it is in, while other requests go on. A worse
 * answer (invalid, older) never replaces a stapleable response; a revocation is written only
 * when its signature verifies, and said loudly.
 */
#include "fetch.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "atomic_write.h"
#include "config.h"
#include "fetch_pool.h"
#include "files.h"
#include "log.h"
#include "ocsp_http.h"
#include "patterns.h"
#include "validate.h"

/* What an entry's file says now. */
struct current {
    bool readable;
    bool stapleable;
    unsigned char *der;
    size_t len;
    struct response_facts facts;
};

static void judge_file(const char *path, X509 *leaf, STACK_OF(X509) * issuers,
                       const struct validation_policy *policy, struct current *cur, X509 **issuer)
{
    memset(cur, 0, sizeof(*cur));
    cur->der = response_file_judge(path, leaf, issuers, policy, time(NULL), &cur->facts, &cur->len,
                                   issuer);
    cur->readable = cur->der != NULL;
    cur->stapleable = verdict_stapleable(cur->facts.verdict, policy);
}

/* refresh_due - a good current response is refreshed once more than half of its validity
 * window has passed, plus up to a tenth of the window at random. */
static bool refresh_due(const struct current *cur, time_t now, time_t *when)
{
    if (!cur->stapleable || cur->facts.verdict != VERDICT_GOOD)
        return true;
    double window = difftime(cur->facts.next_update, cur->facts.this_update);
    unsigned int r = 0;
    RAND_bytes((unsigned char *)&r, sizeof(r));
    double jitter = window * 0.1 * ((double)r / 4294967296.0);
    *when = cur->facts.this_update + (time_t)(window / 2 + jitter);
    return now >= *when;
}

static char *responder_url(const struct staple_entry *e, X509 *leaf)
{
    if (e->responder != NULL)
        return strdup(e->responder);
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(leaf);
    char *url = NULL;
    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0)
        url = strdup(sk_OPENSSL_STRING_value(urls, 0));
    X509_email_free(urls);
    return url;
}

enum outcome { OUTCOME_OK, OUTCOME_FAILED };

/* One entry's fetch, from its judgement before the request to its judgement after. */
struct entry_work {
    const struct staple_entry *e;
    X509 *leaf, *issuer;
    STACK_OF(X509) * issuers;
    struct current cur;
    char *url;
    OCSP_REQUEST *req; /* non-NULL: a request is to be made */
    enum outcome result;
    bool counts;           /* whether the entry counts towards exit status 2 */
    bool stapleable_after; /* whether its file is stapleable once done (or would be) */
};

/* prepare_entry - judge the entry's current file and decide: nothing to do (w->result set and
 * logged), or a request to make (w->req and w->url set). */
static void prepare_entry(const struct config *cfg, const struct staple_entry *e,
                          const struct fetch_options *opt, struct entry_work *w)
{
    struct validation_policy policy = {cfg->verify, cfg->skew, cfg->serve_revoked};
    char when[32];
    time_t due = 0;

    memset(w, 0, sizeof(*w));
    w->e = e;
    w->counts = true;
    w->result = OUTCOME_FAILED;
    if (entry_load_certs(cfg->path, e, &w->leaf, &w->issuers) != 0 || w->leaf == NULL)
        return; /* logged */
    judge_file(e->response, w->leaf, w->issuers, &policy, &w->cur, &w->issuer);
    w->stapleable_after = w->cur.stapleable;
    w->url = responder_url(e, w->leaf);
    if (w->url == NULL) {
        log_info("%s: %s names no OCSP responder; nothing to fetch (skipped)", e->response,
                 e->certificate);
        w->counts = false;
        w->result = OUTCOME_OK;
        return;
    }
    if (!opt->force && !refresh_due(&w->cur, time(NULL), &due)) {
        format_utc(due, when, sizeof(when));
        log_info("%s: fresh (%s); next refresh after %s", e->response, w->cur.facts.reason, when);
        w->result = OUTCOME_OK;
        return;
    }
    if (w->issuer == NULL) {
        log_error("%s: cannot build a request for %s: its issuer certificate was not found (set "
                  "`issuer`, or put the chain in the certificate file)",
                  e->response, e->certificate);
        return;
    }
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), w->leaf, w->issuer);
    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
        OCSP_CERTID_free(id);
        OCSP_REQUEST_free(req);
        log_error("%s: cannot build the OCSP request", e->response);
        return;
    }
    w->req = req;
}

/* conclude_entry - judge the answer in `job` and write it when it is better than the file. */
static void conclude_entry(const struct config *cfg, const struct fetch_options *opt,
                           struct dir_syncs *syncs, struct entry_work *w,
                           const struct fetch_job *job)
{
    struct validation_policy policy = {cfg->verify, cfg->skew, cfg->serve_revoked};
    const struct staple_entry *e = w->e;
    const struct current *cur = &w->cur;
    const char *url = w->url;
    const unsigned char *der = job->der;
    size_t len = job->len;
    struct response_facts facts;
    OCSP_BASICRESP *basic = NULL;
    char why[512];
    time_t now = time(NULL);

    w->result = OUTCOME_FAILED;
    if (der == NULL) {
        log_error("%s: asking %s failed: %s; the current file is left as it is", e->response, url,
                  job->failure.why);
        goto out;
    }
    basic = response_parse(der, len, &facts);
    if (basic != NULL) {
        X509 *resp_issuer = entry_find_issuer(w->leaf, w->issuers, NULL, basic);
        struct validation_policy strict = policy;
        response_validate(basic, w->leaf, resp_issuer, &policy, now, &facts);
        /* A revocation is written only when its signature verifies, whatever `verify` says. */
        if (facts.verdict == VERDICT_REVOKED && !policy.verify) {
            strict.verify = true;
            response_validate(basic, w->leaf, resp_issuer, &strict, now, &facts);
        }
    }
    if (facts.verdict != VERDICT_GOOD && facts.verdict != VERDICT_REVOKED) {
        log_error("%s: %s answered with an unusable response: %s: %s; the current file is left "
                  "as it is",
                  e->response, url, verdict_name(facts.verdict), facts.reason);
        goto out;
    }
    if (facts.verdict == VERDICT_GOOD && cur->stapleable && cur->facts.verdict == VERDICT_GOOD &&
        facts.this_update < cur->facts.this_update) {
        log_info("%s: %s answered with a response older than the current one; kept the current",
                 e->response, url);
        w->result = OUTCOME_OK;
        goto out;
    }
    if (cur->readable && cur->len == len && memcmp(cur->der, der, len) == 0) {
        log_info("%s: %s answered with the same response; nothing to write", e->response, url);
        w->result = OUTCOME_OK;
        goto out;
    }
    if (facts.verdict == VERDICT_REVOKED)
        log_error("%s: %s says %s is REVOKED: %s", e->response, url, e->certificate, facts.reason);
    if (opt->dry_run) {
        printf("%s: would write %zu bytes from %s: %s: %s\n", e->response, len, url,
               verdict_name(facts.verdict), facts.reason);
    } else if (atomic_write(syncs, e->response, der, len, 0644, why, sizeof(why)) != 0) {
        log_error("%s: %s", e->response, why);
        goto out;
    } else {
        log_info("%s: written from %s: %s", e->response, url, facts.reason);
    }
    w->stapleable_after = verdict_stapleable(facts.verdict, &policy);
    w->result = OUTCOME_OK;
out:
    OCSP_BASICRESP_free(basic);
    ERR_clear_error();
}

static void entry_work_free(struct entry_work *w)
{
    OPENSSL_free(w->cur.der);
    OCSP_REQUEST_free(w->req);
    X509_free(w->leaf);
    X509_free(w->issuer);
    sk_X509_pop_free(w->issuers, X509_free);
    free(w->url);
}

/* What every entry's conclusion needs. */
struct concluding {
    const struct config *cfg;
    const struct fetch_options *opt;
    struct dir_syncs *syncs; /* the directories written into, synced once at the end */
};

/* conclude_answered - fetch_answered_fn: the job's entry (its owner) is concluded and the
 * answer freed. Entries are distinct and logging is thread-safe, so workers may run it at
 * once. */
static void conclude_answered(struct fetch_job *job, void *arg)
{
    const struct concluding *c = arg;

    conclude_entry(c->cfg, c->opt, c->syncs, job->owner, job);
    OPENSSL_free(job->der);
    job->der = NULL;
}

/* log_dead_responders - one line per responder that gave no answer within the timeout, with the
 * number of its requests that were then not made. */
static void log_dead_responders(const struct fetch_job *jobs, size_t count, long timeout)
{
    for (size_t i = 0; i < count; i++) {
        if (jobs[i].der != NULL || !jobs[i].failure.no_answer)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = jobs[k].failure.no_answer && strcmp(jobs[k].url, jobs[i].url) == 0;
        if (seen)
            continue;
        size_t skipped = 0;
        for (size_t k = i; k < count; k++)
            skipped += strcmp(jobs[k].url, jobs[i].url) == 0 &&
                       strncmp(jobs[k].failure.why, "not asked: ", 11) == 0;
        log_error("%s gave no answer within %ld s; %zu more request(s) to it were not made in "
                  "this run",
                  jobs[i].url, timeout, skipped);
    }
}

int fetch_run(const char *config_path, const struct fetch_options *opt)
{
    struct config cfg;
    bool failed = false, unstapleable = false;
    struct entry_work *work = NULL;
    struct fetch_job *jobs = NULL;
    size_t with_cert = 0, asked = 0;

    if (config_load(config_path, &cfg) != 0) {
        config_free(&cfg);
        return 3;
    }
    log_configure(cfg.log_level, LOG_TARGET_STDERR);
    patterns_expand(&cfg);
    work = calloc(cfg.entry_count + 1, sizeof(*work));
    jobs = calloc(cfg.entry_count + 1, sizeof(*jobs));
    if (work == NULL || jobs == NULL) {
        log_error("%s: out of memory", config_path);
        free(work);
        free(jobs);
        config_free(&cfg);
        return 1;
    }
    for (size_t i = 0; i < cfg.entry_count; i++) {
        const struct staple_entry *e = &cfg.entries[i];
        if (e->certificate == NULL)
            continue;
        prepare_entry(&cfg, e, opt, &work[with_cert]);
        if (work[with_cert].req != NULL) {
            jobs[asked].url = work[with_cert].url;
            jobs[asked].owner = &work[with_cert];
            jobs[asked++].req = work[with_cert].req;
        }
        with_cert++;
    }
    struct fetch_limits lim = {(int)cfg.fetch_timeout, (int)cfg.fetch_concurrency,
                               (int)cfg.fetch_per_responder};
    struct concluding c = {&cfg, opt, dir_syncs_new()};
    if (fetch_pool_run(jobs, asked, &lim, conclude_answered, &c) != 0)
        log_error("%s: the requests could not be started", config_path);
    if (dir_syncs_flush(c.syncs) > 0)
        failed = true; /* logged */
    dir_syncs_free(c.syncs);
    log_dead_responders(jobs, asked, cfg.fetch_timeout);
    for (size_t i = 0; i < with_cert; i++) {
        struct entry_work *w = &work[i];
        if (w->result != OUTCOME_OK)
            failed = true;
        if (w->counts && !w->stapleable_after)
            unstapleable = true;
        entry_work_free(w);
    }
    free(work);
    free(jobs);
    if (with_cert == 0)
        log_info("%s: no staples entry names a certificate: nothing to fetch", config_path);
    if (cfg.skipped_entries > 0)
        failed = true;
    config_free(&cfg);
    return unstapleable ? 2 : failed ? 1 : 0;
}
