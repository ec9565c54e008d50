/*
 * report.c - the life of a check report's data (see report.h).
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

const char *severity_name(enum severity s)
{
    static const char *const names[] = {"ok", "info", "warning", "critical"};
    return s <= SEVERITY_CRITICAL ? names[s] : "unknown";
}

static void free_responses(struct checked_response *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].file);
    free(list);
}

void report_free(struct check_report *r)
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
