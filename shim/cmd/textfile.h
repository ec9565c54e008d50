/*
 * textfile.h - the small file operations `ocspstaple enable` and `disable` are made of: read a
 * file whole, compare it, replace it atomically keeping its mode and owner, create the
 * directories above a path (saying which were new, so that disable can remove exactly those).
 *
 * Errors are returned as a sentence in `why`, naming the path.
 */
#ifndef OCSPSTAPLE_TEXTFILE_H
#define OCSPSTAPLE_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* textfile_read - the whole of path, NUL-terminated (owned by the caller), its length in
 * *len. NULL on error; *missing (when not NULL) says whether the file did not exist. */
char *textfile_read(const char *path, size_t *len, bool *missing, char *why, size_t whylen);

/* textfile_same - path exists and holds exactly these bytes. */
bool textfile_same(const char *path, const char *data, size_t len);

/* textfile_write - replace (or create) path with these bytes, as atomic_write does (a
 * temporary file beside it, fsync'ed, renamed over it, the directory fsync'ed): readers see
 * the old or the new file, never a part. An existing file keeps its mode and owner; a new one
 * gets `mode`. Returns 0, or -1 (path unchanged). */
int textfile_write(const char *path, const char *data, size_t len, mode_t mode, char *why,
                   size_t whylen);

/* textfile_make_dirs - create the missing directories of dir (mode 0755), outermost first;
 * the ones created are appended to *created (newline-separated, owned, may start NULL;
 * created itself may be NULL).
 * Returns 0, or -1 (the ones created before the failure are in `created`). */
int textfile_make_dirs(const char *dir, char **created, char *why, size_t whylen);

/* textfile_under_root - "ROOT/REL" into buf (REL absolute; ROOT "/" or "" leaves it as it
 * is). Returns 0, or -1 when it does not fit. */
int textfile_under_root(const char *root, const char *rel, char *buf, size_t size);

#endif
