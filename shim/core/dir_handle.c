/*
 * dir_handle.c - directory descriptors kept across a chroot (see dir_handle.h).
 */
#include "dir_handle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static struct {
    struct dir_handle **dirs;
    size_t count;
    dev_t root_dev; /* "/" when set up, to recognise a chroot */
    ino_t root_ino;
} D;

void dir_handles_setup(void)
{
    struct stat st;
    if (stat("/", &st) == 0) {
        D.root_dev = st.st_dev;
        D.root_ino = st.st_ino;
    }
}

struct dir_handle *dir_find(const char *path)
{
    for (size_t i = 0; i < D.count; i++)
        if (strcmp(D.dirs[i]->path, path) == 0)
            return D.dirs[i];
    return NULL;
}

struct dir_handle *dir_get(const char *path)
{
    struct dir_handle *known = dir_find(path);
    if (known != NULL)
        return known;
    struct dir_handle **grown = realloc(D.dirs, (D.count + 1) * sizeof(struct dir_handle *));
    struct dir_handle *d = calloc(1, sizeof(*d));
    if (grown != NULL)
        D.dirs = grown;
    if (grown == NULL || d == NULL || (d->path = strdup(path)) == NULL) {
        free(d);
        return NULL;
    }
    struct stat st;
    d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->fd < 0)
        d->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (d->fd >= 0 && fstat(d->fd, &st) == 0) {
        d->dev = st.st_dev;
        d->ino = st.st_ino;
    } else if (d->fd < 0) {
        log_error("%s: cannot open the directory: %s", path, strerror(errno));
    }
    d->pass_fd = d->fd;
    D.dirs[D.count++] = d;
    return d;
}

struct dir_handle *dir_of_file(const char *path, bool open, const char **name)
{
    const char *slash = strrchr(path, '/');
    *name = path;
    if (slash == NULL || slash[1] == '\0')
        return NULL;
    char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    struct dir_handle *d = dir == NULL ? NULL : open ? dir_get(dir) : dir_find(dir);
    free(dir);
    if (d != NULL)
        *name = slash + 1;
    return d;
}

/* same_root - whether this process still sees the file system root it had at start-up (it
 * has not entered a chroot since): only then do paths mean what the configuration meant. */
static bool same_root(void)
{
    struct stat st;
    return stat("/", &st) == 0 && st.st_dev == D.root_dev && st.st_ino == D.root_ino;
}

/* dir_fd - the directory's descriptor, valid for reading. Three cases: the handle is ours and
 * the path still leads to the same directory (or the process is chrooted, so the path means
 * nothing): use it; the directory was removed and made anew at its path: reopen it there; the
 * host closed our descriptor (a daemon closing every descriptor it does not know, the number
 * perhaps reused): reopen by path, never touching the old number. -1 when unreachable. */
static int dir_fd(struct dir_handle *d, bool unrooted)
{
    struct stat st, pst;
    bool ours = d->fd >= 0 && fstat(d->fd, &st) == 0 && S_ISDIR(st.st_mode) &&
                st.st_dev == d->dev && st.st_ino == d->ino;
    if (ours &&
        (unrooted || stat(d->path, &pst) != 0 || (pst.st_dev == d->dev && pst.st_ino == d->ino)))
        return d->fd;
    if (unrooted)
        return -1; /* lost, and its path leads nowhere from inside the chroot */
    int fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (ours)
        close(d->fd); /* the removed directory's handle, ours to close */
    else if (!d->lost_logged)
        log_warning("%s: lost the handle on this directory (the host closed it?); reopened by "
                    "path",
                    d->path);
    d->lost_logged = !ours;
    d->fd = fd;
    d->dev = st.st_dev;
    d->ino = st.st_ino;
    return fd;
}

void dir_handles_check(void)
{
    bool unrooted = !same_root();
    for (size_t i = 0; i < D.count; i++)
        D.dirs[i]->pass_fd = dir_fd(D.dirs[i], unrooted);
}

size_t dir_handle_count(void)
{
    return D.count;
}

struct dir_handle *dir_handle_at(size_t i)
{
    return i < D.count ? D.dirs[i] : NULL;
}
