/*
 * render_prometheus.c - a check report in Prometheus text exposition format, for
 * node_exporter's textfile collector (see render.h).
 */
#include "render.h"

#include <stdbool.h>

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

/* target_label - `{target="..."}` after a report-wide sample's name when a server was probed
 * (so that the files of several probes can sit side by side in one collector), else nothing. */
static void target_label(FILE *out, const struct check_report *r)
{
    if (r->target == NULL)
        return;
    fputc('{', out);
    prom_label(out, "target", r->target, true);
    fputc('}', out);
}

void report_prometheus(const struct check_report *r, FILE *out)
{
    fprintf(out, "# HELP ocspstaple_check_timestamp_seconds When ocspstaple check last ran.\n"
                 "# TYPE ocspstaple_check_timestamp_seconds gauge\n"
                 "ocspstaple_check_timestamp_seconds");
    target_label(out, r);
    fprintf(out, " %ld\n", (long)r->checked_at);
    fprintf(out, "# HELP ocspstaple_check_status Overall result: 0 ok, 1 warning, 2 critical, "
                 "3 unknown (configuration unreadable).\n"
                 "# TYPE ocspstaple_check_status gauge\nocspstaple_check_status");
    target_label(out, r);
    fprintf(out, " %d\n", r->exit_code);
    fprintf(out, "# HELP ocspstaple_config_problems Configuration problems found.\n"
                 "# TYPE ocspstaple_config_problems gauge\nocspstaple_config_problems");
    target_label(out, r);
    fprintf(out, " %zu\n", r->problem_count);
    if (r->target != NULL) {
        fprintf(out, "# HELP ocspstaple_connect_success 1 when the TLS handshake with the "
                     "server succeeded (check --connect).\n"
                     "# TYPE ocspstaple_connect_success gauge\nocspstaple_connect_success");
        target_label(out, r);
        fprintf(out, " %d\n", r->connect_error == NULL && r->certificate_count > 0 ? 1 : 0);
    }
    fprintf(out, "# HELP ocspstaple_certificate_stapleable 1 when the certificate has a "
                 "stapleable response.\n# TYPE ocspstaple_certificate_stapleable gauge\n");
    for (size_t i = 0; i < r->certificate_count; i++) {
        const struct checked_certificate *c = &r->certificates[i];
        bool ok = false;
        for (size_t k = 0; k < c->response_count; k++)
            ok |= c->responses[k].stapleable;
        fprintf(out, "ocspstaple_certificate_stapleable{");
        if (r->target != NULL)
            prom_label(out, "target", r->target, false);
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
            if (r->target != NULL)
                prom_label(out, "target", r->target, false);
            prom_label(out, "subject", c->subject, false);
            prom_label(out, "serial", c->serial, false);
            prom_label(out, "file", x->file ? x->file : "staple", false);
            prom_label(out, "verdict", verdict_name(x->verdict), true);
            fprintf(out, "} %ld\n", (long)(x->next_update - r->checked_at));
        }
    }
}
