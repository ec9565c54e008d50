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

#include <stddef.h>

#include "config.h"
#include "source.h"

/* leaf_read_fn - told of each entry's leaf as its certificate file is read (DER borrowed). */
typedef void (*leaf_read_fn)(const unsigned char fp[20], const unsigned char *der, size_t len);

/* entry_source_add - the source of entry `e` of the configuration at `conf_path`, with its
 * certificates indexed, listed among the sources; its leaf handed to `leaf_read` (may be
 * NULL). NULL when the entry is unusable (logged, with "skipped": nothing is left behind). */
struct source *entry_source_add(const char *conf_path, const struct staple_entry *e,
                                leaf_read_fn leaf_read);

#endif
