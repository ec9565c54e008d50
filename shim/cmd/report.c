/*
 * report.c - the three renderings of a check report: text for people, JSON for scripts,
 * Prometheus text exposition for node_exporter's textfile collector.
 */
#include <string.h>

#include "check.h"

/* iso_time - format_utc, with "-" for an absent time (a table cell). */
static void iso_time(time_t t, char *buf, size_t size)
{
    if (t == 0)
        snprintf(buf, size, "-");
    else
        format_utc(t, buf, size);
}

void format_duration(long s, char *buf, size_t size)
{
    const char *sign = s < 0 ? "-" : "";
    if (s < 0)
        s = -s;
    if (s >= 86400)
        snprintf(buf, size, "%s%ldd%02ldh", sign, s / 86400, s % 86400 / 3600);
    else
        snprintf(buf, size, "%s%ldh%02ldm", sign, s / 3600, s % 3600 / 60);
}

static const char *upper(enum severity s)
{
    static const char *const names[] = {"OK", "INFO", "WARNING", "CRITICAL"};
    return s <= SEVERITY_CRITICAL ? names[s] : "UNKNOWN";
}

static void text_response(const struct checked_response *x, time_t now, FILE *out)
{
    char a[32], b[32], left[32];
    iso_time(x->this_update, a, sizeof(a));
    iso_time(x->next_update, b, sizeof(b));
    format_duration((long)(x->next_update - now), left, sizeof(left));
    fprintf(out, "    %s\n      verdict: %s%s\n      reason: %s\n", x->file,
            verdict_name(x->verdict), x->stapleable ? " (stapled)" : "", x->reason);
    if (x->next_update != 0)
        fprintf(out, "      thisUpdate %s  nextUpdate %s  (%s left)\n", a, b, left);
}

void report_text(const struct check_report *r, FILE *out)
{
    char when[32];
    iso_time(r->checked_at, when, sizeof(when));
    fprintf(out, "ocspstaple check of %s at %s: %s\n", r->config_path, when,
            r->config_unreadable ? "UNKNOWN" : upper(r->severity));
    if (r->problem_count > 0) {
        fprintf(out, "\nConfiguration problems:\n");
        for (size_t i = 0; i < r->problem_count; i++)
            fprintf(out, "  %s\n", r->problems[i]);
    }
    for (size_t i = 0; i < r->certificate_count; i++) {
        const struct checked_certificate *c = &r->certificates[i];
        fprintf(out, "\n%s: %s\n  %s%s\n", upper(c->severity), c->summary, c->subject,
                c->must_staple ? "  [OCSP Must-Staple]" : "");
        fprintf(out, "  file %s\n  serial %s\n  sha256 %s\n  responder %s\n", c->file, c->serial,
                c->sha256, c->ocsp_url ? c->ocsp_url : "(none named)");
        if (c->response_count == 0)
            fprintf(out, "  no response configured\n");
        for (size_t k = 0; k < c->response_count; k++)
            text_response(&c->responses[k], r->checked_at, out);
    }
    if (r->unmatched_count > 0) {
        fprintf(out, "\nResponses for no configured certificate:\n");
        for (size_t k = 0; k < r->unmatched_count; k++)
            text_response(&r->unmatched[k], r->checked_at, out);
    }
}

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

static void json_response(const struct checked_response *x, time_t now, FILE *out)
{
    char a[32], b[32];
    iso_time(x->this_update, a, sizeof(a));
    iso_time(x->next_update, b, sizeof(b));
    fprintf(out, "{\"file\": ");
    json_string(out, x->file);
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
    iso_time(r->checked_at, when, sizeof(when));
    fprintf(out, "{\n  \"config\": ");
    json_string(out, r->config_path);
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
        fprintf(out, "%s\n    {\"file\": ", i ? "," : "");
        json_string(out, c->file);
        fprintf(out, ", \"subject\": ");
        json_string(out, c->subject);
        fprintf(out,
                ", \"serial\": \"%s\", \"sha256\": \"%s\", \"must_staple\": %s, \"responder\": ",
                c->serial, c->sha256, c->must_staple ? "true" : "false");
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

/* prom_label - a Prometheus label value, escaped. */
static void prom_label(FILE *out, const char *name, const char *value, bool last)
{
    fprintf(out, "%s=\"", name);
    for (; value != NULL && *value; value++) {
        if (*value == '\\' || *value == '"')
            fprintf(out, "\\%c", *value);
        else if (*value == '\n')
            fprintf(out, "\\n");
        else
            fputc(*value, out);
    }
    fprintf(out, "\"%s", last ? "" : ",");
}

void report_prometheus(const struct check_report *r, FILE *out)
{
    fprintf(out,
            "# HELP ocspstaple_check_timestamp_seconds When ocspstaple check last ran.\n"
            "# TYPE ocspstaple_check_timestamp_seconds gauge\n"
            "ocspstaple_check_timestamp_seconds %ld\n",
            (long)r->checked_at);
    fprintf(out,
            "# HELP ocspstaple_check_status Overall result: 0 ok, 1 warning, 2 critical, "
            "3 unknown (configuration unreadable).\n"
            "# TYPE ocspstaple_check_status gauge\nocspstaple_check_status %d\n",
            r->exit_code);
    fprintf(out,
            "# HELP ocspstaple_config_problems Configuration problems found.\n"
            "# TYPE ocspstaple_config_problems gauge\nocspstaple_config_problems %zu\n",
            r->problem_count);
    fprintf(out, "# HELP ocspstaple_certificate_stapleable 1 when the certificate has a "
                 "stapleable response.\n# TYPE ocspstaple_certificate_stapleable gauge\n");
    for (size_t i = 0; i < r->certificate_count; i++) {
        const struct checked_certificate *c = &r->certificates[i];
        bool ok = false;
        for (size_t k = 0; k < c->response_count; k++)
            ok |= c->responses[k].stapleable;
        fprintf(out, "ocspstaple_certificate_stapleable{");
        prom_label(out, "subject", c->subject, false);
        prom_label(out, "serial", c->serial, false);
        prom_label(out, "status", severity_name(c->severity), true);
        fprintf(out, "} %d\n", ok ? 1 : 0);
    }
    fprintf(out, "# HELP ocspstaple_response_seconds_until_next_update Seconds until the "
                 "response's nextUpdate (negative: expired); the verdict label says what the "
                 "shim decides.\n"
                 "# TYPE ocspstaple_response_seconds_until_next_update gauge\n");
    for (size_t i = 0; i < r->certificate_count; i++) {
        const struct checked_certificate *c = &r->certificates[i];
        for (size_t k = 0; k < c->response_count; k++) {
            const struct checked_response *x = &c->responses[k];
            if (x->next_update == 0)
                continue;
            fprintf(out, "ocspstaple_response_seconds_until_next_update{");
            prom_label(out, "subject", c->subject, false);
            prom_label(out, "serial", c->serial, false);
            prom_label(out, "file", x->file, false);
            prom_label(out, "verdict", verdict_name(x->verdict), true);
            fprintf(out, "} %ld\n", (long)(x->next_update - r->checked_at));
        }
    }
}
