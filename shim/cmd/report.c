/*
 * report.c - the life of a check report's data (see report.h).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *severity_name(enum severity s)
{
    static const char *const names[] = {"ok", "info", "warning", "critical"};
    return s <= SEVERITY_CRITICAL ? names[s] : "unknown";
}

void report_capture_problem(enum log_level level, const char *text, void *arg)
{
    struct check_report *r = arg;
    if (level > LOG_LEVEL_WARNING)
        return;
    char **grown = realloc(r->problems, (r->problem_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return;
    r->problems = grown;
    if ((r->problems[r->problem_count] = strdup(text)) != NULL)
        r->problem_count++;
}

void report_set_verdict(struct checked_response *out, const struct response_facts *facts,
                        const struct validation_policy *policy)
{
    out->verdict = facts->verdict;
    snprintf(out->reason, sizeof(out->reason), "%s", facts->reason);
    out->this_update = facts->this_update;
    out->next_update = facts->next_update;
    out->stapleable = verdict_stapleable(facts->verdict, policy);
}

int severity_exit_code(enum severity s)
{
    return s == SEVERITY_CRITICAL ? 2 : s == SEVERITY_WARNING ? 1 : 0;
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
    free(r->target);
    free(r->servername);
    free(r->connect_error);
    memset(r, 0, sizeof(*r));
}
