/*
 * check_summary.h - what an operator or a monitoring system must hear about one certificate.
 */
#ifndef OCSPSTAPLE_CHECK_SUMMARY_H
#define OCSPSTAPLE_CHECK_SUMMARY_H

#include <time.h>

#include "report.h"

/* check_summarize - set c->severity and c->summary from its judged responses at `now`; the
 * warning threshold is r->warn_seconds (< 0: a quarter of the best response's window). */
void check_summarize(const struct check_report *r, struct checked_certificate *c, time_t now);

#endif
