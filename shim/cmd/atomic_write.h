/*
 * atomic_write.h - replacing a response file so that a crash never leaves it truncated or
 * empty, with the directories' fsyncs gathered: one per directory per batch, not one per file.
 */
#ifndef OCSPSTAPLE_ATOMIC_WRITE_H
#define OCSPSTAPLE_ATOMIC_WRITE_H

#include <stddef.h>
#include <sys/types.h>

/* The directories whose renames are not yet durable (opaque). */
struct dir_syncs;

/* dir_syncs_new - an empty set, or NULL when out of memory (atomic_write then syncs each
 * directory at once, as if every file were a batch of its own). */
struct dir_syncs *dir_syncs_new(void);

/* atomic_write - `data` to a temporary file beside `path`, fsync'ed, then renamed over `path`;
 * the old file's permissions and owner are kept (a new file gets `new_mode`). A crash at any
 * point leaves either the old
 * file or the new one, whole. The rename itself is made durable by dir_syncs_flush (its
 * directory is noted in `syncs`; NULL: fsync'ed at once): until then a crash may bring the old
 * file back, never a torn one. Returns 0, or -1 with `why` (the old file untouched). Thread-safe
 * (the set has its own lock). */
int atomic_write(struct dir_syncs *syncs, const char *path, const void *data, size_t len,
                 mode_t new_mode, char *why, size_t whylen);

/* dir_syncs_flush - fsync every directory noted since the last flush, once each; a failure is
 * logged (the files are in place, but a crash may bring back their old versions). Returns the
 * number of directories that could not be synced. Thread-safe. */
size_t dir_syncs_flush(struct dir_syncs *syncs);

/* dir_syncs_free - flush what is left, then free the set (NULL is fine). */
void dir_syncs_free(struct dir_syncs *syncs);

#endif
