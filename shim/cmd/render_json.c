/*
 * render_json.c - a check report as JSON, for scripts (see render.h).
 */
#include "render.h"

#include <string.h>

#include "timefmt.h"

/* json_string - a JSON string literal, escaped. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* json_nullable - a JSON string literal, or null for NULL. */
static void json_nullable(FILE *out, const char *s)
{
    if (s == NULL)
        fprintf(out, "null");
    else
        json_string(out, s);
}

static void json_response(const struct checked_response *x, time_t now, FILE *out)
{
    char a[32], b[32];
    format_time_cell(x->this_update, a, sizeof(a));
    format_time_cell(x->next_update, b, sizeof(b));
    fprintf(out, "{\"file\": ");
    json_nullable(out, x->file);
    fprintf(out, ", \"verdict\": ");
    json_string(out, verdict_name(x->verdict));
    fprintf(out, ", \"stapleable\": %s, \"reason\": ", x->stapleable ? "true" : "false");
    json_string(out, x->reason);
    if (x->next_update != 0)
        fprintf(out, ", \"this_update\": \"%s\", \"next_update\": \"%s\", \"seconds_left\": %ld}",
                a, b, (long)(x->next_update - now));
    else
        fprintf(out, ", \"this_update\": null, \"next_update\": null, \"seconds_left\": null}");
}

void report_json(const struct check_report *r, FILE *out)
{
    char when[32];
    format_time_cell(r->checked_at, when, sizeof(when));
    fprintf(out, "{\n  \"config\": ");
    json_nullable(out, r->config_path);
    if (r->target != NULL) {
        fprintf(out, ",\n  \"target\": ");
        json_string(out, r->target);
        fprintf(out, ",\n  \"starttls\": ");
        json_nullable(out, r->starttls);
        fprintf(out, ",\n  \"servername\": ");
        json_nullable(out, r->servername);
        fprintf(out, ",\n  \"protocol\": ");
        json_nullable(out, r->protocol[0] ? r->protocol : NULL);
        fprintf(out, ",\n  \"connect_error\": ");
        json_nullable(out, r->connect_error);
    }
    fprintf(out, ",\n  \"checked_at\": \"%s\",\n  \"status\": \"%s\",\n  \"exit_code\": %d,\n",
            when, r->config_unreadable ? "unknown" : severity_name(r->severity), r->exit_code);
    fprintf(out, "  \"problems\": [");
    for (size_t i = 0; i < r->problem_count; i++) {
        fprintf(out, "%s\n    ", i ? "," : "");
        json_string(out, r->problems[i]);
    }
    fprintf(out, "%s],\n  \"certificates\": [", r->problem_count ? "\n  " : "");
    for (size_t i = 0; i < r->certificate_count; i++) {
        const struct checked_certificate *c = &r->certificates[i];
        char until[32];
        format_time_cell(c->not_after, until, sizeof(until));
        fprintf(out, "%s\n    {\"file\": ", i ? "," : "");
        json_nullable(out, c->file);
        fprintf(out, ", \"subject\": ");
        json_nullable(out, c->from_response ? NULL : c->subject);
        fprintf(out, ", \"serial\": \"%s\", \"sha256\": ", c->serial);
        json_nullable(out, c->from_response ? NULL : c->sha256);
        fprintf(out, ", \"not_after\": ");
        json_nullable(out, c->not_after ? until : NULL);
        fprintf(out, ", \"must_staple\": %s, \"responder\": ", c->must_staple ? "true" : "false");
        if (c->ocsp_url)
            json_string(out, c->ocsp_url);
        else
            fprintf(out, "null");
        fprintf(out, ", \"status\": \"%s\", \"summary\": ", severity_name(c->severity));
        json_string(out, c->summary);
        fprintf(out, ",\n     \"responses\": [");
        for (size_t k = 0; k < c->response_count; k++) {
            fprintf(out, "%s\n       ", k ? "," : "");
            json_response(&c->responses[k], r->checked_at, out);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "%s],\n  \"unmatched_responses\": [", r->certificate_count ? "\n  " : "");
    for (size_t k = 0; k < r->unmatched_count; k++) {
        fprintf(out, "%s\n    ", k ? "," : "");
        json_response(&r->unmatched[k], r->checked_at, out);
    }
    fprintf(out, "%s]\n}\n", r->unmatched_count ? "\n  " : "");
}
