/*
 * textfile.c - whole-file reads, atomic replacement and directory creation for the
 * configuration files `ocspstaple enable` edits. Files are small (a drop-in, main.cf): they
 * are read and written in one piece.
 */
#include "textfile.h"

#include "atomic_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEXTFILE_MAX ((off_t)16 * 1024 * 1024)

char *textfile_read(const char *path, size_t *len, bool *missing, char *why, size_t whylen)
{
    char *buf = NULL;
    struct stat st;
    if (missing != NULL)
        *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (missing != NULL)
            *missing = errno == ENOENT;
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TEXTFILE_MAX) {
        snprintf(why, whylen, "%s: not a regular file of at most 16 MiB", path);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(why, whylen, "%s: out of memory", path);
        goto done;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, whylen, "%s: %s", path, n < 0 ? strerror(errno) : "shorter than it was");
            free(buf);
            buf = NULL;
            goto done;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
done:
    close(fd);
    return buf;
}

bool textfile_same(const char *path, const char *data, size_t len)
{
    char why[64];
    size_t have_len = 0;
    char *have = textfile_read(path, &have_len, NULL, why, sizeof(why));
    bool same = have != NULL && have_len == len && memcmp(have, data, len) == 0;
    free(have);
    return same;
}

int textfile_write(const char *path, const char *data, size_t len, mode_t mode, char *why,
                   size_t whylen)
{
    return atomic_write(NULL, path, data, len, mode, why, whylen);
}

/* append_line - add "line\n" to *list. */
static int append_line(char **list, const char *line)
{
    size_t old = *list != NULL ? strlen(*list) : 0;
    char *grown = realloc(*list, old + strlen(line) + 2);
    if (grown == NULL)
        return -1;
    memcpy(grown + old, line, strlen(line));
    grown[old + strlen(line)] = '\n';
    grown[old + strlen(line) + 1] = '\0';
    *list = grown;
    return 0;
}

int textfile_make_dirs(const char *dir, char **created, char *why, size_t whylen)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        snprintf(why, whylen, "%s: path too long", dir);
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        if (stat(path, &st) != 0) {
            if (mkdir(path, 0755) != 0) {
                snprintf(why, whylen, "%s: %s", path, strerror(errno));
                return -1;
            }
            if (created != NULL && append_line(created, path) != 0) {
                snprintf(why, whylen, "out of memory");
                return -1;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            snprintf(why, whylen, "%s: not a directory", path);
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    return 0;
}

int textfile_under_root(const char *root, const char *rel, char *buf, size_t size)
{
    bool plain = root == NULL || root[0] == '\0' || strcmp(root, "/") == 0;
    size_t rlen = plain ? 0 : strlen(root);
    while (rlen > 1 && root[rlen - 1] == '/')
        rlen--;
    int n = snprintf(buf, size, "%.*s%s", (int)rlen, plain ? "" : root, rel);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
