/*
 * files.h - reading the files a configuration names: PEM certificate files and DER response
 * files. Shared by the shim's store and the ocspstaple command, so that both accept and
 * refuse exactly the same files for the same reasons.
 */
#ifndef OCSPSTAPLE_FILES_H
#define OCSPSTAPLE_FILES_H

#include <stddef.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "config.h"
#include "validate.h"

/* entry_load_certs - the certificates a `staples` entry names: *leaf (first certificate of
 * `certificate`, or NULL when the entry has none) and *issuers (the `issuer` file's
 * certificates, then the rest of the `certificate` file; never NULL on success). Problems are
 * logged as "CONF:LINE: setting FILE: reason". Returns 0, or -1 when a named file is unusable
 * (nothing is returned then). Thread-safe. */
int entry_load_certs(const char *conf_path, const struct staple_entry *e, X509 **leaf,
                     STACK_OF(X509) * *issuers);

/* entry_find_issuer - the issuer of `leaf` as the shim looks for it: among `issuers` (the
 * entry's), else `host_chain` (may be NULL), else the certificates inside `basic` (may be
 * NULL). The result is borrowed from those stacks. */
X509 *entry_find_issuer(X509 *leaf, STACK_OF(X509) * issuers, STACK_OF(X509) * host_chain,
                        OCSP_BASICRESP *basic);

/* response_file_read - the bytes of `name` relative to directory descriptor `dirfd` (or
 * AT_FDCWD), which must be a regular file of at most RESPONSE_MAX_BYTES; FIFOs, devices and
 * directories are refused before being opened. Returns an OPENSSL_malloc'ed buffer (possibly
 * of length 0; the caller frees it with OPENSSL_free) or NULL with the reason in `why`. */
unsigned char *response_file_read(int dirfd, const char *name, size_t *len, char *why,
                                  size_t whylen);

/* is_response_file_name - a name response_dir takes: "*.der", not hidden (a fetcher's
 * temporary ".NAME.XXXXXX" never qualifies). */
bool is_response_file_name(const char *name);

/* response_file_judge - read `path` and judge it for `leaf` exactly as the shim would, with
 * the issuer found as the shim finds it (the entry's `issuers`, else inside the response).
 * *facts gets the verdict (VERDICT_UNREADABLE with the reason when the file cannot be read).
 * Returns the file's bytes (OPENSSL_malloc'ed, length in *len; the caller frees them) or NULL
 * when unreadable. *issuer (may be NULL) gets the issuer with a reference the caller drops
 * with X509_free, or NULL when none was found. */
unsigned char *response_file_judge(const char *path, X509 *leaf, STACK_OF(X509) * issuers,
                                   const struct validation_policy *policy, time_t now,
                                   struct response_facts *facts, size_t *len, X509 **issuer);

#endif
