/*
 * dovecot_env.h - Dovecot's import_environment, extended by a conf.d file of ours and checked
 * with Dovecot's own doveconf. Dovecot's master starts its processes with only the variables
 * of that list: the shim has to be in it. Dovecot 2.3 writes the list as one line
 * (`import_environment = $import_environment NAME=value`), 2.4 as a block of NAME = value
 * lines that adds to the defaults; `dovecot --version` tells which.
 *
 * conf is the path of dovecot.conf (doveconf -c); the conf.d file goes into the conf.d
 * directory beside it, which Debian's dovecot.conf includes. Errors are returned as a
 * sentence in `why`. Single-threaded use.
 */
#ifndef OCSPSTAPLE_DOVECOT_ENV_H
#define OCSPSTAPLE_DOVECOT_ENV_H

#include <stdbool.h>
#include <stddef.h>

/* dovecot_speaks_24 - `dovecot --version` is 2.4 or later: 1; earlier: 0; -1 with why when it
 * cannot be run or says something else. The version is copied into `version`. */
int dovecot_speaks_24(char *version, size_t vsize, char *why, size_t whylen);

/* dovecot_env_read - `doveconf -c CONF -h import_environment`, owned by the caller; NULL with
 * doveconf's message when it rejects the configuration. */
char *dovecot_env_read(const char *conf, char *why, size_t whylen);

/* dovecot_confd_path - DIR/conf.d/99-ocspstaple.conf for CONF = DIR/dovecot.conf. Returns 0,
 * or -1 with why (no conf.d directory there). */
int dovecot_confd_path(const char *conf, char *path, size_t size, char *why, size_t whylen);

/* dovecot_confd_text - the conf.d file adding LD_PRELOAD=shim (and OCSPSTAPLE_CONF=conf when
 * conf is not NULL), in 2.4's syntax when v24. Owned by the caller; NULL when out of memory. */
char *dovecot_confd_text(bool v24, const char *service, const char *shim, const char *conf);

#endif
