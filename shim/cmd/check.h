/*
 * check.h - `ocspstaple check`: judge every configured certificate's responses exactly as the
 * shim would, into a report (report.h).
 *
 * check_run() reads the configuration and every response as the shim does (config.c,
 * files.c, validate.c: the same code, linked into both). Single-threaded; the report owns
 * everything it holds until report_free().
 */
#ifndef OCSPSTAPLE_CHECK_H
#define OCSPSTAPLE_CHECK_H

#include "report.h"

/* check_run - fill *report for the configuration at `config_path`. `warn_seconds` < 0 means
 * the default (a quarter of each response's validity window). Returns report->exit_code. */
int check_run(const char *config_path, long warn_seconds, struct check_report *report);

#endif
