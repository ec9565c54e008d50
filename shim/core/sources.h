/*
 * sources.h - the response files the configuration names or response_dir holds, and what the
 * configuration says of each (the certificate it is for, issuer candidates, SNI names): read
 * at start-up in steps, reread when they change. Part of the store (store.c schedules it).
 *
 *   source   one response file, with what its entry says and the last HISTORY versions of its
 *            content that parsed. Sources live as long as the process.
 *   version  one content of a file: its DER bytes, the times of its first SingleResponse and a
 *            hash of the serial number of each SingleResponse. Immutable, reference-counted,
 *            shared by every snapshot that lists it. Not kept decoded (a decoded response is
 *            four times its DER): it is decoded again for the rare check.
 *
 * Not thread-safe: every function but the version and hash helpers is called with the store's
 * reload_lock held. Directories are opened once, before any chroot, and files are reread
 * through openat(), so that chrooted daemons (Postfix smtpd, Dovecot's login processes) still
 * see replacements.
 */
#ifndef OCSPSTAPLE_SOURCES_H
#define OCSPSTAPLE_SOURCES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/asn1.h>

#include "certpool.h"
#include "config.h"

#define HISTORY 3 /* parseable versions kept per source */

struct version {
    _Atomic long refs;
    unsigned char *der;
    size_t len;
    time_t next_update; /* of its first SingleResponse, 0 when absent: for expiry messages */
    atomic_flag verdict_logged;
    _Atomic bool usable; /* passed every check for some certificate (set when bound) */
    bool expiry_logged;  /* reload_lock */
    size_t serial_count;
    uint64_t serials[]; /* serial_hash() of each SingleResponse's certificate */
};

/* What identifies one content of a file, for "has it changed". */
struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

struct dir_handle;

/* Written under reload_lock; a source's fields other than history and the file state never
 * change once it is in a snapshot, so checks read them without the lock. */
struct source {
    const char *path; /* for messages: the entry's `response`, or made for a response_dir file */
    const char *name; /* last component of path, relative to dir */
    struct dir_handle *dir;
    const struct staple_entry *entry; /* NULL for a response_dir file */
    struct pooled_cert **issuers;     /* entry's issuer, then the rest of its certificate file */
    size_t issuer_count;
    unsigned char leaf_fp[20]; /* of the entry's certificate, when has_leaf */
    bool has_leaf;
    bool have_seen; /* `seen` is the file whose content is known */
    bool unsettled; /* read while it was being written, perhaps: look again next pass */
    struct file_id seen;
    unsigned pass, listed;  /* the pass that last refreshed it, and last listed its name */
    uint64_t problem_hash;  /* of the last "cannot be read" reported, to report each once */
    uint64_t rejected_hash; /* of the last content rejected at parse time, to log it once */
    struct version *history[HISTORY]; /* newest first */
};

/* The sources that changed in one pass (a new version, or new in this pass). `all`: the list
 * is incomplete (out of memory, or an earlier publish failed): treat every source as changed. */
struct changes {
    struct source **list;
    size_t count, cap;
    bool all;
};

/* leaf_read_fn - told of each entry's leaf as its certificate file is read (DER borrowed). */
typedef void (*leaf_read_fn)(const unsigned char fp[20], const unsigned char *der, size_t len);

/* sources_setup - the configuration to read (kept: it must live as long as the process), and
 * who wants the leaves (may be NULL). Opens response_dir, unless it is world-writable (logged).
 * Call once, before any chroot. */
void sources_setup(const struct config *cfg, leaf_read_fn leaf_read);

/* sources_check_dirs - at the start of a pass: every directory's descriptor, checked once for
 * the whole pass (reopened when the host closed it or the directory was made anew). */
void sources_check_dirs(void);

/* sources_load_more - go on with the initial load until `deadline` (CLOCK_MONOTONIC; NULL: to
 * the end): the entries in the order of the configuration, then the files of response_dir.
 * What was read goes to *changed. Returns true when everything has been read. */
bool sources_load_more(const struct timespec *deadline, struct changes *changed);

/* sources_refresh - after the initial load, once a second: new response_dir files, and the
 * files that changed, reread; the sources with a new version go to *changed. A directory that
 * changed is listed (a file renamed over another shows as a new inode under its name); files
 * rewritten in place are found by a sweep of SWEEP_PER_PASS files a pass (every file, every
 * pass, in configurations of up to that many; within N/SWEEP_PER_PASS seconds beyond). */
void sources_refresh(struct changes *changed);

/* sources_log_expiries - one line when a response that was in use reaches its nextUpdate. */
void sources_log_expiries(void);

/* sources_count, sources_at - the sources so far, in order; sources_loaded - how many of
 * them had a response when first read. */
size_t sources_count(void);
struct source *sources_at(size_t i);
size_t sources_loaded(void);

/* changes_add - note a changed source (when out of memory, c->all is set instead). */
void changes_add(struct changes *c, struct source *src);

/* version_ref, version_unref - reference counting, from any thread. */
void version_ref(struct version *v);
void version_unref(struct version *v);

/* version_mentions - whether some SingleResponse of `v` may be about the certificate with
 * this serial_hash (a collision only costs a check that then fails). Thread-safe. */
bool version_mentions(const struct version *v, uint64_t serial);

/* serial_hash - of a certificate serial number (its sign and magnitude). Thread-safe. */
uint64_t serial_hash(const ASN1_INTEGER *serial);

#endif
