/*
 * source.h - one response file the store reads (an entry's `response`, or a file of
 * response_dir), with what its entry says of it and the last HISTORY versions of its content
 * that parsed; and the list of every source, in the order they were made. Sources live as
 * long as the process.
 *
 * Why keep old versions: a replacement that fails validation must not stop a good response
 * from being stapled until that response's own nextUpdate.
 *
 * Not thread-safe: called with the store's reload_lock held. A source's fields other than its
 * history and file state never change once it is in a snapshot, so checks read them without
 * the lock.
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

#define HISTORY 3 /* parseable versions kept per source */

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

/* source_free - free a source that was never listed. */
void source_free(struct source *src);

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
