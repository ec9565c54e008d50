/*
 * fetch_pool.h - the requests of one `ocspstaple fetch` run, made concurrently: bounded in
 * total and per responder, over kept-alive connections, with one deadline per responder.
 */
#ifndef OCSPSTAPLE_FETCH_POOL_H
#define OCSPSTAPLE_FETCH_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ocsp.h>

#include "ocsp_http.h"

/* One request to make, and its outcome. */
struct fetch_job {
    const char *url;    /* the responder (the caller owns it) */
    OCSP_REQUEST *req;  /* the request (the caller owns it) */
    unsigned char *der; /* the answer (OPENSSL_malloc'ed; the caller frees it), or NULL */
    size_t len;
    struct ocsp_failure failure; /* why der is NULL */
    void *owner;                 /* the caller's, untouched */
};

struct fetch_limits {
    int timeout;       /* seconds one exchange may take (fetch_timeout) */
    int total;         /* requests in flight at once, all responders together */
    int per_responder; /* requests in flight at once to one responder (one URL) */
};

/* fetch_answered_fn - called with each job once its outcome is in (der, or failure), on a
 * worker thread, concurrently with other calls and in no particular order: it must be
 * thread-safe for distinct jobs. It may take the job's der (and set it to NULL). */
typedef void (*fetch_answered_fn)(struct fetch_job *job, void *arg);

/* fetch_pool_run - make every job's request, at most `total` at once and `per_responder` at
 * once to one responder URL, over at most `per_responder` kept-alive connections to it, reused
 * from one request to the next, and hand each job to `answered` as above. Once a request to a
 * responder got no answer within the timeout, that responder's remaining jobs fail at once
 * (failure.why says so; failure.no_answer is set) instead of each waiting again; other
 * responders go on. Returns 0, or -1 when no worker could be started (every job then failed,
 * with its reason, and was handed to `answered` on the calling thread). Logs nothing itself.
 * One run at a time. */
int fetch_pool_run(struct fetch_job *jobs, size_t count, const struct fetch_limits *lim,
                   fetch_answered_fn answered, void *arg);

#endif
