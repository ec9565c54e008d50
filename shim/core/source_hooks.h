/*
 * source_hooks.h - what the store gives the parts of its sources (sources.c, entry_set.c,
 * pattern_watch.c, cert_files.c): where entries' leaves go, and the lock every check holds.
 * Data only, so that those parts depend on it and not on each other.
 */
#ifndef OCSPSTAPLE_SOURCE_HOOKS_H
#define OCSPSTAPLE_SOURCE_HOOKS_H

#include <stddef.h>

/* leaf_read_fn - told of each entry's leaf as its certificate file is read (DER borrowed). */
typedef void (*leaf_read_fn)(const unsigned char fp[20], const unsigned char *der, size_t len);

struct sources_hooks {
    leaf_read_fn leaf_read;      /* who wants the entries' leaves; may be NULL */
    void (*lock_checks)(void);   /* the lock every check holds: entries' certificates change */
    void (*unlock_checks)(void); /* only under it */
};

#endif
