/*
 * source.h - one response file the store reads (an entry's `response`, or a file of
 * response_dir), with what its entry says of it and the last HISTORY versions of its content
 * that parsed; and the list of every source, in the order they were made. Sources live as
 * long as the process.
 *
 * Why keep old versions: a replacement that fails validation must not stop a good response
 * from being stapled until that response's own nextUpdate.
 *
 * Not thread-safe: called with the store's reload_lock held. A source's entry never changes
 * once it is in a snapshot (a changed entry is a new source), so handshakes read it without a
 * lock; its certificates (leaf_fp, issuers) change only with the store's bind_lock held too,
 * which every check holds. A source lives as long as a snapshot or the list holds it.
 */
#ifndef OCSPSTAPLE_SOURCE_H
#define OCSPSTAPLE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certpool.h"
#include "config.h"
#include "dir_handle.h"
#include "file_state.h"
#include "version.h"

#define HISTORY       3 /* parseable versions kept per source */
#define FORMER_LEAVES 2 /* certificates an entry named before its renewals, remembered */

/* A file an entry's certificates come from (its `certificate`, or its `issuer` file),
 * watched for a change: a renewal switches a symlink (certbot's live/ to archive/) or rewrites
 * the file. Looked at through its directory's handle, kept across a chroot, where one could be
 * opened for it (else by path). */
struct cert_file {
    const char *path;        /* the entry's string; NULL when the entry names none */
    struct dir_handle *dir;  /* NULL: looked at by path */
    const char *name;        /* in dir, or the path */
    uint64_t seen;           /* file_id_hash of the content indexed, when have_seen */
    uint64_t problem_hash;   /* of the last problem reported, to report each once */
    unsigned dir_generation; /* of dir when last looked at */
    bool have_seen;
    bool unsettled; /* modified within the last second: look again next pass */
};

struct source {
    _Atomic long refs; /* one for being listed, one per snapshot listing it */
    const char *path;  /* for messages: the entry's `response`, or made for a response_dir file */
    const char *name;  /* last component of path, relative to dir */
    char *owned_path;  /* path, when the source made it (a response_dir file) */
    struct dir_handle *dir;
    struct staple_entry *entry;   /* the source's own copy; NULL for a response_dir file */
    struct cert_file files[2];    /* the entry's certificate, then its issuer file */
    struct pooled_cert **issuers; /* entry's issuer, then the rest of its certificate file */
    size_t issuer_count;
    unsigned char leaf_fp[20]; /* of the entry's certificate, when has_leaf */
    bool has_leaf;
    /* The certificates the entry named before a renewal, newest first: their responses are
     * still this source's to give them while they are served. */
    unsigned char (*former_fp)[20]; /* FORMER_LEAVES of them, made at the first renewal */
    int former_count;
    bool retired;   /* no longer in the configuration: unlisted at the end of the pass */
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

/* changes_add - note a changed source (when out of memory, c->all is set instead). */
void changes_add(struct changes *c, struct source *src);

/* source_new - a source for the file `path` (kept as given: it must live as long as the
 * process), whose name in `dir` starts at name_offset; not listed anywhere yet. NULL when out
 * of memory. */
struct source *source_new(const char *path, struct dir_handle *dir, size_t name_offset);

/* source_add_issuer - append a pooled issuer candidate. Returns false when out of memory. */
bool source_add_issuer(struct source *src, struct pooled_cert *c);

/* source_list - list `src` among the sources and in its directory's name table. Returns false
 * (nothing listed; the caller frees it with source_free) when out of memory. */
bool source_list(struct source *src);

/* source_names - whether the entry of `src` names the certificate of fingerprint `fp` now
 * (*former false) or named it before a renewal (*former true). Caller holds the checks' lock. */
bool source_names(const struct source *src, const unsigned char fp[20], bool *former);

/* source_free - free a source that was never listed. */
void source_free(struct source *src);

/* source_ref, source_unref - reference counting, from any thread (the last snapshot holding a
 * retired source may be released by a handshake); the last unref frees. NULL is ignored. */
void source_ref(struct source *src);
void source_unref(struct source *src);

/* sources_unlist_retired - take every source marked `retired` off the list and out of its
 * directory's name table, dropping the list's reference. */
void sources_unlist_retired(void);

/* source_refresh - reread the file of `src` if it changed (always, the first time): a missing
 * or unreadable file is reported once per distinct problem, a rejected content once per
 * content. Returns true when a new version was added to the history. Call after
 * dir_handles_check() in the same pass. `initial`: during the initial load (logged at debug
 * level rather than as a replacement). */
bool source_refresh(struct source *src, bool initial);

/* sources_count, sources_at - the listed sources so far, in order. */
size_t sources_count(void);
struct source *sources_at(size_t i);

#endif
