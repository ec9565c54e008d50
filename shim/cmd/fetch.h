/*
 * fetch.h - `ocspstaple fetch`: refresh the configured responses from their OCSP responders.
 */
#ifndef OCSPSTAPLE_FETCH_H
#define OCSPSTAPLE_FETCH_H

#include <stdbool.h>

struct fetch_options {
    bool force;   /* fetch even when the current response is fresh */
    bool dry_run; /* ask and judge, print what would be written, write nothing */
};

/* fetch_run - one pass over the configuration. Returns the exit status: 0 every response
 * fresh, 1 some fetch failed but every current response is still stapleable, 2 some
 * certificate has no stapleable response, 3 the configuration cannot be read. */
int fetch_run(const char *config_path, const struct fetch_options *opt);

#endif
