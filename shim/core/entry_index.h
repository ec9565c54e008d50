/*
 * entry_index.h - a `staples` entry made into a source: its response file, the SHA-1
 * fingerprint of its leaf's DER (taken without decoding the certificate), and its issuer
 * candidates in the certificate pool. PEM text repeated from entry to entry (the intermediate
 * of every fullchain file, an `issuer` file every entry names) is decoded once: a memo of the
 * texts already seen maps them to their pooled certificates.
 *
 * Not thread-safe: called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_ENTRY_INDEX_H
#define OCSPSTAPLE_ENTRY_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "source.h"
#include "source_hooks.h"

/* entry_source_add - the source of entry `e` of the configuration at `conf_path`, with its
 * certificates indexed, listed among the sources; its leaf handed to `leaf_read` (may be
 * NULL). The source takes what *e owns (*e is left zeroed: configurations of thousands of
 * entries are not kept twice). NULL when the entry is unusable (logged, with "skipped":
 * nothing is left behind, and *e is as it was). */
struct source *entry_source_add(const char *conf_path, struct staple_entry *e,
                                leaf_read_fn leaf_read);

/* What an entry's certificate files say now (entry_source_reindex). */
struct entry_certs {
    bool has_leaf;
    unsigned char leaf_fp[20];
    struct pooled_cert **issuers; /* malloc'ed array of pooled certificates */
    size_t issuer_count;
};

/* entry_source_reindex - read the certificate and issuer files of `src`'s entry again (through
 * the directory handles of src->files, so also from inside a chroot) into *out, without
 * changing `src`: the caller swaps them in under the lock the checks hold. The new leaf goes
 * to `leaf_read` (may be NULL) and its description ("subject (serial S)") into leaf_desc.
 * Returns 0, or -1 when a file is unusable (logged as at loading; *out then holds nothing). */
int entry_source_reindex(const char *conf_path, struct source *src, leaf_read_fn leaf_read,
                         struct entry_certs *out, char *leaf_desc, size_t leaf_desc_size);

#endif
