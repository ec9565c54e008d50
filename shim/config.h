/*
 * config.h - the ocspstaple configuration file (libconfig syntax) as a plain struct.
 *
 * Shared by the shim's core and the ocspstaple command, so that both read the same settings
 * with the same rules. Problems are logged with the file, the line and the setting; a broken
 * entry is skipped, a broken file yields no entries at all (the host keeps running either way).
 */
#ifndef OCSPSTAPLE_CONFIG_H
#define OCSPSTAPLE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#ifndef OCSPSTAPLE_SYSCONFDIR
#define OCSPSTAPLE_SYSCONFDIR "/etc"
#endif
#define OCSPSTAPLE_DEFAULT_CONF OCSPSTAPLE_SYSCONFDIR "/ocspstaple.conf"

/* One group of the `staples` list. Strings are owned by the struct. */
struct staple_entry {
    char *response;    /* path of the DER OCSP response (required) */
    char *certificate; /* PEM file: leaf first, chain may follow (optional) */
    char *issuer;      /* PEM file with the issuer certificate (optional) */
    char *responder;   /* OCSP responder URL overriding the certificate's AIA (optional) */
    char **sni;        /* host names or "*.domain" wildcards; NULL when absent */
    size_t sni_count;
    int line; /* line of the group in the configuration file */
};

struct config {
    char *path;
    enum log_level log_level;
    enum log_target log_target;
    bool verify;
    long skew;
    bool serve_revoked;
    long fetch_timeout;       /* seconds, for the ocspstaple command */
    long fetch_concurrency;   /* requests in flight at once, in total (ocspstaple fetch) */
    long fetch_per_responder; /* requests in flight at once to one responder */
    char *response_dir;       /* optional */
    struct staple_entry *entries;
    size_t entry_count;
    unsigned problems;        /* settings or entries that were rejected (each one logged) */
    unsigned skipped_entries; /* `staples` groups dropped because of a problem */
};

/* config_path - the configuration file this process should read: $OCSPSTAPLE_CONF (read with
 * secure_getenv, so ignored in setuid/setgid processes), else the compiled-in default. */
const char *config_path(void);

/* config_defaults - fill *cfg with the documented defaults and no entries. */
void config_defaults(struct config *cfg);

/* config_load - parse `path` into *cfg (which is first reset to defaults). Returns 0 when the
 * file was read (individual problems are counted in cfg->problems and logged), -1 when it
 * could not be read or parsed at all (logged; *cfg then holds defaults and no entries).
 * Not thread-safe with itself on the same struct; uses no global state. */
int config_load(const char *path, struct config *cfg);

/* config_free - release everything config_load allocated; the struct may be reused. */
void config_free(struct config *cfg);

#endif
