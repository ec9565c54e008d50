/*
 * dir_handle.h - the directories the store reads files from, each opened once, before any
 * chroot, and read through openat() afterwards: chrooted daemons (Postfix smtpd, Dovecot's
 * login processes) still see the files replaced in them. A handle the host closed (daemons
 * that close every descriptor they do not know) or a directory made anew at its path is
 * reopened by path while the process still sees its original root.
 *
 * Not thread-safe: called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_DIR_HANDLE_H
#define OCSPSTAPLE_DIR_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "file_state.h"
#include "ptrtable.h"

struct dir_handle {
    char *path;
    int fd; /* opened before any chroot; -1 when it could not be opened */
    dev_t dev;
    ino_t ino;
    int pass_fd; /* the descriptor to read through in the current pass; -1: unreachable */
    bool lost_logged;
    bool listed;           /* listed since it last changed, and it had been still */
    struct file_id seen;   /* the directory as of its last listing */
    struct ptrtable names; /* the sources of files in it, by name_hash (a name may repeat) */
    bool names_filtered;   /* scratch of sources_unlist_retired */
    unsigned generation;   /* counts the listings that found it changed */
};

/* dir_handles_setup - remember the file system root as it is now (to recognise a chroot).
 * Once, before any dir_get. */
void dir_handles_setup(void);

/* dir_get - the handle for directory `path`, opened now the first time (a failure to open is
 * logged; the handle then has fd -1) and shared afterwards. NULL when out of memory. */
struct dir_handle *dir_get(const char *path);

/* dir_find - the handle for directory `path` if one was opened, else NULL (nothing is opened:
 * after a chroot the path may lead nowhere). */
struct dir_handle *dir_find(const char *path);

/* dir_of_file - the handle of the directory that holds file `path`, with *name set to the
 * file's name in it: opened now the first time when `open` (dir_get), else only one opened
 * before (dir_find: after a chroot the path may lead nowhere). NULL, with *name = path, when
 * path has no directory part, ends in '/', or has no such handle (the file is then read by
 * path). */
struct dir_handle *dir_of_file(const char *path, bool open, const char **name);

/* dir_handles_check - at the start of a pass: every directory's pass_fd, checked once for the
 * whole pass (three system calls per directory) rather than once per file. */
void dir_handles_check(void);

/* dir_handle_count, dir_handle_at - the directories, in the order they were first used. */
size_t dir_handle_count(void);
struct dir_handle *dir_handle_at(size_t i);

#endif
