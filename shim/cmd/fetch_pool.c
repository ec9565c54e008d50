/*
 * fetch_pool.c - worker threads making the requests of one fetch run (see fetch_pool.h).
 *
 * The command is a short-lived process, so plain threads: up to twice `total` workers, one
 * mutex and one condition variable over the jobs grouped by responder. A worker takes the next
 * pending job of a responder that is below its own bound, while fewer than `total` requests are
 * in flight, with one of that responder's idle kept-alive connections if there is one, makes
 * the exchange without the lock, gives the connection back to the responder when it may be
 * reused (a responder never has more connections than its bound, whichever workers use them),
 * and hands the job to the caller's function, still without the lock. The bound is on requests
 * in flight, not on workers: while some workers check and write answers (a file's fsync takes
 * milliseconds, as long as a loopback answer), the others keep `total` requests going, so the
 * writing overlaps with the network instead of taking turns with it. OpenSSL's error queue is
 * per thread.
 */
#include "fetch_pool.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The jobs of one responder URL, in the order given. */
struct responder {
    const char *url;
    size_t *jobs; /* indexes into the job array */
    size_t count, next;
    int active;              /* requests in flight */
    struct ocsp_conn **idle; /* kept-alive connections not in use (at most per_responder) */
    int idle_count;
    bool dead; /* a request got no answer within the timeout */
    char dead_why[256];
};

struct pool {
    struct fetch_job *jobs;
    const struct fetch_limits *lim;
    struct responder *responders;
    size_t responder_count, pending;
    int in_flight, max_in_flight; /* requests being made, all responders together; lim->total */
    fetch_answered_fn answered;
    void *arg;
    pthread_mutex_t lock;
    pthread_cond_t changed;
};

/* group - the responders of `jobs`, each with its jobs in order. Returns 0 or -1 (memory). */
static int group(struct pool *p, size_t count)
{
    size_t *which = calloc(count, sizeof(*which));

    p->responders = calloc(count, sizeof(*p->responders));
    if (which == NULL || p->responders == NULL) {
        free(which);
        return -1;
    }
    size_t n = 0; /* responders so far */
    for (size_t i = 0; i < count; i++) {
        const char *url = p->jobs[i].url;
        size_t r = 0;
        while (r < n && strcmp(p->responders[r].url, url) != 0)
            r++;
        if (r == n)
            p->responders[n++].url = url;
        p->responders[r].count++;
        which[i] = r;
    }
    p->responder_count = n;
    for (size_t r = 0; r < p->responder_count; r++) {
        p->responders[r].jobs = calloc(p->responders[r].count, sizeof(size_t));
        p->responders[r].idle = calloc((size_t)p->lim->per_responder, sizeof(struct ocsp_conn *));
        if (p->responders[r].jobs == NULL || p->responders[r].idle == NULL) {
            free(which);
            return -1;
        }
        p->responders[r].count = 0;
    }
    for (size_t i = 0; i < count; i++) {
        struct responder *r = &p->responders[which[i]];
        r->jobs[r->count++] = i;
    }
    free(which);
    p->pending = count;
    return 0;
}

/* take - the next job: of the first responder that is dead (the job then fails without
 * asking: *dead is set) or may have one more request in flight, when fewer than `total` are.
 * Waits while every pending job is held back by a bound. Returns the job's index and its
 * responder, or false when none is left. Under the lock. */
static bool take(struct pool *p, size_t *job, struct responder **resp, bool *dead)
{
    for (;;) {
        bool room = p->in_flight < p->max_in_flight;
        for (size_t k = 0; k < p->responder_count; k++) {
            struct responder *r = &p->responders[k];
            if (r->next < r->count && (r->dead || (room && r->active < p->lim->per_responder))) {
                *job = r->jobs[r->next++];
                *resp = r;
                *dead = r->dead;
                if (!r->dead) {
                    r->active++;
                    p->in_flight++;
                }
                p->pending--;
                return true;
            }
        }
        if (p->pending == 0)
            return false;
        pthread_cond_wait(&p->changed, &p->lock);
    }
}

/* worker - take jobs until none is left, over the responders' kept-alive connections, and hand
 * each to the caller's function as soon as its outcome is in. */
static void *worker(void *arg)
{
    struct pool *p = arg;
    struct responder *r = NULL;
    size_t i = 0;
    bool dead = false;

    pthread_mutex_lock(&p->lock);
    while (take(p, &i, &r, &dead)) {
        struct fetch_job *j = &p->jobs[i];
        if (dead) {
            memset(&j->failure, 0, sizeof(j->failure));
            j->failure.no_answer = true;
            snprintf(j->failure.why, sizeof(j->failure.why), "not asked: %s", r->dead_why);
            pthread_mutex_unlock(&p->lock);
            p->answered(j, p->arg);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        struct ocsp_conn *conn = r->idle_count > 0 ? r->idle[--r->idle_count] : NULL;
        pthread_mutex_unlock(&p->lock);
        j->der = ocsp_exchange(&conn, j->url, j->req, p->lim->timeout, &j->len, &j->failure);
        pthread_mutex_lock(&p->lock);
        r->active--;
        p->in_flight--;
        if (conn != NULL && r->idle_count < p->lim->per_responder)
            r->idle[r->idle_count++] = conn;
        else
            ocsp_conn_close(conn);
        if (j->der == NULL && j->failure.no_answer && !r->dead) {
            r->dead = true;
            snprintf(r->dead_why, sizeof(r->dead_why),
                     "the responder gave no answer within %d s earlier in this run",
                     p->lim->timeout);
        }
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        p->answered(j, p->arg);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int fetch_pool_run(struct fetch_job *jobs, size_t count, const struct fetch_limits *lim,
                   fetch_answered_fn answered, void *arg)
{
    struct pool p = {.jobs = jobs, .lim = lim, .answered = answered, .arg = arg};
    pthread_t *threads = NULL;
    size_t started = 0;
    bool have_lock = false, have_cond = false;
    int rc = -1;

    for (size_t i = 0; i < count; i++) {
        jobs[i].der = NULL;
        jobs[i].len = 0;
        memset(&jobs[i].failure, 0, sizeof(jobs[i].failure));
        snprintf(jobs[i].failure.why, sizeof(jobs[i].failure.why), "not asked: out of memory");
    }
    if (count == 0)
        return 0;
    /* `total` requests in flight, and as many workers again to check and write the answers
     * meanwhile (see above). */
    p.max_in_flight = lim->total > 0 ? lim->total : 1;
    int workers = p.max_in_flight > INT_MAX / 2 ? INT_MAX : 2 * p.max_in_flight;
    size_t want = (size_t)workers < count ? (size_t)workers : count;
    have_lock = pthread_mutex_init(&p.lock, NULL) == 0;
    have_cond = have_lock && pthread_cond_init(&p.changed, NULL) == 0;
    if (have_cond && group(&p, count) == 0 && (threads = calloc(want, sizeof(*threads))) != NULL)
        while (started < want && pthread_create(&threads[started], NULL, worker, &p) == 0)
            started++;
    if (threads != NULL && started == 0)
        for (size_t i = 0; i < count; i++)
            snprintf(jobs[i].failure.why, sizeof(jobs[i].failure.why),
                     "not asked: no thread could be started");
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (started > 0)
        rc = 0;
    else /* nothing was asked: every job still goes to the caller, with its reason */
        for (size_t i = 0; i < count; i++)
            answered(&jobs[i], arg);
    free(threads);
    for (size_t r = 0; r < p.responder_count; r++) {
        while (p.responders[r].idle_count > 0)
            ocsp_conn_close(p.responders[r].idle[--p.responders[r].idle_count]);
        free(p.responders[r].idle);
        free(p.responders[r].jobs);
    }
    free(p.responders);
    if (have_cond)
        pthread_cond_destroy(&p.changed);
    if (have_lock)
        pthread_mutex_destroy(&p.lock);
    return rc;
}
