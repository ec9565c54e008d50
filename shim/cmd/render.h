/*
 * render.h - the three renderings of a check report: text for people (render_text.c), JSON
 * for scripts (render_json.c), Prometheus text exposition for node_exporter's textfile
 * collector (render_prometheus.c). Each writes the whole report to `out`.
 */
#ifndef OCSPSTAPLE_RENDER_H
#define OCSPSTAPLE_RENDER_H

#include <stdio.h>

#include "report.h"

void report_text(const struct check_report *r, FILE *out);
void report_json(const struct check_report *r, FILE *out);
void report_prometheus(const struct check_report *r, FILE *out);

#endif
