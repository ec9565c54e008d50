/*
 * file_state.h - what identifies one content of a file or directory, for "has it changed",
 * and whether a modification can be taken as finished. Pure functions.
 */
#ifndef OCSPSTAPLE_FILE_STATE_H
#define OCSPSTAPLE_FILE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
};

/* file_id_of - the identity of what `st` describes. */
struct file_id file_id_of(const struct stat *st);

/* same_file - whether two identities are of the same content (inode, size, both times). */
bool same_file(const struct file_id *a, const struct file_id *b);

/* file_id_hash - a 64-bit digest of an identity, for records kept per file where the whole
 * identity would cost too much memory (a change is missed only on a digest collision). */
uint64_t file_id_hash(const struct file_id *id);

/* settled - whether a file modified at `mtime` can be taken as finished: more than a second
 * ago (time stamps are coarse, and a writer may still be at it). */
bool settled(const struct timespec *mtime);

#endif
