/*
 * postfix_env.h - Postfix's import_environment, read and written with Postfix's own postconf
 * (so that main.cf is parsed, and edited, as Postfix does it). Postfix starts its daemons
 * with only the variables of that list: the shim has to be in it.
 *
 * config_dir is the directory of main.cf (postconf -c). Errors are returned as a sentence in
 * `why` (postconf's own message, when postconf failed). Single-threaded use.
 */
#ifndef OCSPSTAPLE_POSTFIX_ENV_H
#define OCSPSTAPLE_POSTFIX_ENV_H

#include <stddef.h>

/* postfix_env_read - the current value (`postconf -c DIR -h import_environment`: main.cf's,
 * or Postfix's default when main.cf has none), owned by the caller. NULL when postconf
 * failed or warned about main.cf (a configuration it cannot parse). */
char *postfix_env_read(const char *config_dir, char *why, size_t whylen);

/* postfix_env_write - set it (`postconf -c DIR -e import_environment=VALUE`) and read it back.
 * Returns 0 when Postfix now reads exactly value, -1 otherwise. */
int postfix_env_write(const char *config_dir, const char *value, char *why, size_t whylen);

#endif
