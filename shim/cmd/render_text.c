/*
 * render_text.c - a check report for people (see render.h).
 */
#include "render.h"

#include <string.h>

#include "timefmt.h"

static const char *upper(enum severity s)
{
    static const char *const names[] = {"OK", "INFO", "WARNING", "CRITICAL"};
    return s <= SEVERITY_CRITICAL ? names[s] : "UNKNOWN";
}

static void text_response(const struct checked_response *x, time_t now, FILE *out)
{
    char a[32], b[32], left[32];
    format_time_cell(x->this_update, a, sizeof(a));
    format_time_cell(x->next_update, b, sizeof(b));
    format_duration((long)(x->next_update - now), left, sizeof(left));
    fprintf(out, "    %s\n      verdict: %s%s\n      reason: %s\n", x->file ? x->file : "staple",
            verdict_name(x->verdict), x->stapleable ? " (stapled)" : "", x->reason);
    if (x->next_update != 0)
        fprintf(out, "      thisUpdate %s  nextUpdate %s  (%s left)\n", a, b, left);
}

void report_text(const struct check_report *r, FILE *out)
{
    char when[32];
    format_time_cell(r->checked_at, when, sizeof(when));
    fprintf(out, "ocspstaple check of %s at %s: %s\n", r->target ? r->target : r->config_path, when,
            r->config_unreadable ? "UNKNOWN" : upper(r->severity));
    if (r->target != NULL) {
        fprintf(out, "  configuration %s\n", r->config_path ? r->config_path : "(none: defaults)");
        fprintf(out, "  %s%s, servername %s%s%s\n", r->starttls ? "STARTTLS " : "direct TLS",
                r->starttls ? r->starttls : "", r->servername ? r->servername : "(none)",
                r->protocol[0] ? ", " : "", r->protocol);
    }
    if (r->connect_error != NULL)
        fprintf(out, "\nCRITICAL: %s\n", r->connect_error);
    if (r->problem_count > 0) {
        fprintf(out, "\nConfiguration problems:\n");
        for (size_t i = 0; i < r->problem_count; i++)
            fprintf(out, "  %s\n", r->problems[i]);
    }
    for (size_t i = 0; i < r->certificate_count; i++) {
        const struct checked_certificate *c = &r->certificates[i];
        fprintf(out, "\n%s: %s\n  %s%s\n", upper(c->severity), c->summary,
                c->from_response ? "(certificate not configured)" : c->subject,
                c->must_staple ? "  [OCSP Must-Staple]" : "");
        if (c->file != NULL)
            fprintf(out, "  file %s\n", c->file);
        else if (r->target != NULL)
            fprintf(out, "  served by %s\n", r->target);
        else
            fprintf(out, "  not configured: known by the CertID of the responses below\n");
        fprintf(out, "  serial %s\n", c->serial);
        if (!c->from_response) {
            char until[32];
            format_time_cell(c->not_after, until, sizeof(until));
            fprintf(out, "  notAfter %s\n  sha256 %s\n  responder %s\n", until, c->sha256,
                    c->ocsp_url ? c->ocsp_url : "(none named)");
        }
        if (c->response_count == 0)
            fprintf(out, r->target ? "  no staple\n" : "  no response configured\n");
        for (size_t k = 0; k < c->response_count; k++)
            text_response(&c->responses[k], r->checked_at, out);
    }
    if (r->unmatched_count > 0) {
        fprintf(out, "\nResponses for no configured certificate:\n");
        for (size_t k = 0; k < r->unmatched_count; k++)
            text_response(&r->unmatched[k], r->checked_at, out);
    }
}
