/*
 * files.h - reading the files a configuration names: PEM certificate files and DER response
 * files. Shared by the shim's store and the ocspstaple command, so that both accept and
 * refuse exactly the same files for the same reasons.
 */
#ifndef OCSPSTAPLE_FILES_H
#define OCSPSTAPLE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

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

/* The largest certificate or issuer file read (a chain is a few KiB; a CA bundle a few hundred). */
#define CERT_FILE_MAX_BYTES ((size_t)1024 * 1024)

/* What entry_index_certs hands over (see there). */
struct entry_cert_ops {
    /* One certificate (DER, borrowed for the call) from `file`, the configuration's string
     * naming it; `leaf`: the entry's leaf. Returns 0, or -1 to give up (entry_index_certs then
     * fails). */
    int (*keep)(const unsigned char *der, size_t len, const char *file, bool leaf, void *arg);
    /* May be NULL. PEM text about to be decoded for issuer candidates (the whole `issuer` file,
     * or what follows the leaf in the `certificate` file): return true when the certificates
     * of identical text were kept before (they are then neither decoded nor handed to keep);
     * false to have them decoded, in which case the candidates handed to keep until the next
     * call of known_text, or until entry_index_certs returns 0, are exactly this text's. */
    bool (*known_text)(const unsigned char *text, size_t len, void *arg);
    /* May be NULL (then files are opened by path). Where to open `file` (a configuration
     * string): returns a directory descriptor and sets *name to the file's name in it, or
     * returns AT_FDCWD with *name = file. The shim reads through directories opened before a
     * chroot this way. */
    int (*locate)(const char *file, const char **name, void *arg);
};

/* entry_index_certs - what the shim keeps of the certificates a `staples` entry names, without
 * decoding them (OpenSSL 3.0 spends about 100 us per certificate on its public key; 10,000
 * entries would take seconds): *has_leaf and leaf_fp, the SHA-1 fingerprint of the DER of the
 * first certificate of `certificate` (what cert_fingerprint computes for the same certificate),
 * set before the leaf is handed to ops->keep, then every other certificate (the `issuer`
 * file's, then the rest of `certificate`, in that order), unless ops->known_text knew them.
 * The same files are read, and refused with the same messages, as by entry_load_certs, except
 * that a certificate's DER is not decoded here. Returns 0, or -1 when a named file is unusable
 * (logged). Thread-safe. */
int entry_index_certs(const char *conf_path, const struct staple_entry *e, bool *has_leaf,
                      unsigned char leaf_fp[20], const struct entry_cert_ops *ops, void *arg);

/* entry_find_issuer - the issuer of `leaf` as the shim looks for it: among `issuers` (the
 * entry's), else `host_chain` (may be NULL), else the certificates inside `basic` (may be
 * NULL). The result is borrowed from those stacks. */
X509 *entry_find_issuer(X509 *leaf, STACK_OF(X509) * issuers, STACK_OF(X509) * host_chain,
                        OCSP_BASICRESP *basic);

/* regular_file_read - the bytes of `name` relative to directory descriptor `dirfd` (or
 * AT_FDCWD), which must be a regular file of at most `max` bytes; FIFOs, devices and directories
 * are refused before being opened. `kind` ("an OCSP response") goes into the reasons. *st (may be
 * NULL) gets the file's status as found before opening it. Returns an OPENSSL_malloc'ed buffer
 * (possibly of length 0; the caller frees it with OPENSSL_free) or NULL with the reason in `why`.
 * Four system calls for a normal file. */
unsigned char *regular_file_read(int dirfd, const char *name, const char *kind, size_t max,
                                 size_t *len, struct stat *st, char *why, size_t whylen);

/* response_file_read - regular_file_read of a response file (at most RESPONSE_MAX_BYTES). */
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
