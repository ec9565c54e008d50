/*
 * enable.h - `ocspstaple enable SERVICE` and `ocspstaple disable SERVICE`: give a systemd
 * service the shim (a drop-in for its unit; for Postfix and Dovecot, which rebuild their
 * daemons' environment, the variables added to their own import_environment as well), and
 * take it away again, exactly. Everything is checked before anything is written; what is
 * written is recorded (enable_record.h) and printed, with the one command that applies it.
 */
#ifndef OCSPSTAPLE_ENABLE_H
#define OCSPSTAPLE_ENABLE_H

#include <stdbool.h>

struct enable_options {
    const char *service;        /* postfix, postfix@INST, dovecot, stunnel@NAME, any unit */
    const char *root;           /* where /etc, /lib, /var/lib are ("/") */
    const char *shim;           /* LD_PRELOAD value (install_shim_path()) */
    const char *config;         /* the shim's configuration (named only when not the default) */
    const char *postfix_config; /* main.cf's directory (ROOT/etc/postfix, ROOT/etc/postfix-INST) */
    const char *dovecot_config; /* dovecot.conf (ROOT/etc/dovecot/dovecot.conf) */
    bool dry_run;               /* print, change nothing */
};

/* enable_run - enable the shim for o->service. Returns the exit status: 0 done (or already
 * enabled: nothing changed), 1 refused or failed (nothing changed; the reason on stderr). */
int enable_run(const struct enable_options *o);

/* disable_run - undo what enable_run did for o->service (o->service and o->root only are
 * used, the rest comes from the record). Returns 0 done (or nothing to undo), 1 refused or
 * failed. */
int disable_run(const struct enable_options *o);

#endif
