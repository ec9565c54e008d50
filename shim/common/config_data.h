/*
 * config_data.h - the ocspstaple configuration as a plain struct: what config.c fills from the
 * file, and what everything else reads. Data only, so that the parts of the parser
 * (config_entry.c, config_setting.c) and its users depend on it and not on each other.
 */
#ifndef OCSPSTAPLE_CONFIG_DATA_H
#define OCSPSTAPLE_CONFIG_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

#ifndef OCSPSTAPLE_SYSCONFDIR
#define OCSPSTAPLE_SYSCONFDIR "/etc"
#endif
#define OCSPSTAPLE_DEFAULT_CONF OCSPSTAPLE_SYSCONFDIR "/ocspstaple.conf"

/* One group of the `staples` list. Strings are owned by the struct.
 *
 * A pattern entry (is_pattern: its `certificate` holds a `*`, see cert_pattern.h) stands for
 * every certificate file that matches; its `response` (and `issuer`, when it has a `*`) are
 * templates, not paths. Consumers must not read its files: they expand it into concrete
 * entries (cert_pattern_expand), each with from_pattern set, and use those. */
struct staple_entry {
    char *response;    /* path of the DER OCSP response (required) */
    char *certificate; /* PEM file: leaf first, chain may follow (optional) */
    char *issuer;      /* PEM file with the issuer certificate (optional) */
    char *responder;   /* OCSP responder URL overriding the certificate's AIA (optional) */
    char **sni;        /* host names or "*.domain" wildcards; NULL when absent */
    size_t sni_count;
    int line;           /* line of the group in the configuration file */
    bool is_pattern;    /* certificate is a pattern: expand before use (see above) */
    char *from_pattern; /* in an entry made from a pattern: that pattern (the pattern entry's
                         * `certificate`); NULL otherwise */
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
    unsigned bad_settings;    /* top-level settings with a problem (config_setting_bad) */
};

#endif
