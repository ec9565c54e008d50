/*
 * check_summary.c - the severity and one-line summary of a checked certificate (see
 * check_summary.h).
 *
 * Critical when it would be served without a stapleable response (for a probed server: when it
 * sent no staple, or one that is not stapleable) (said in so many words for
 * OCSP Must-Staple certificates: their clients refuse the connection), or when a validly
 * signed response says it is revoked, whatever serve_revoked says; warning when its best
 * response's nextUpdate is near; info when it names no OCSP responder and has no response
 * (nothing to staple, nothing wrong); ok otherwise.
 */
#include "check_summary.h"

#include <stdio.h>

#include "timefmt.h"

void check_summarize(const struct check_report *r, struct checked_certificate *c, time_t now)
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
    if (r->target != NULL && c->response_count == 0) {
        c->severity = SEVERITY_CRITICAL;
        snprintf(c->summary, sizeof(c->summary), "no staple: %s sent no OCSP response%s", r->target,
                 c->must_staple ? " with an OCSP Must-Staple certificate: its clients will refuse "
                                  "the connection"
                                : "");
    } else if (revoked) {
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
    } else if (best == NULL && r->target != NULL) {
        c->severity = SEVERITY_CRITICAL;
        snprintf(c->summary, sizeof(c->summary),
                 "the staple is not usable (%s): strict clients refuse it, others ignore it",
                 verdict_name(c->responses[0].verdict));
    } else if (best == NULL) {
        c->severity = SEVERITY_CRITICAL;
        snprintf(c->summary, sizeof(c->summary), "no stapleable response: served without a staple");
    } else {
        long window = (long)(best->next_update - best->this_update);
        long threshold = r->warn_seconds >= 0 ? r->warn_seconds : window / 4;
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
