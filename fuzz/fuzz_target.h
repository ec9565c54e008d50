/*
 * fuzz_target.h - what the libFuzzer targets in fuzz/ share: libFuzzer's entry points, the
 * CHECK of an invariant (abort() with the file and line, which libFuzzer reports as a crash),
 * the input written to a memfd so that it can be read as a file, and a log capture that only
 * checks each line is a terminated string.
 */
#ifndef OCSPSTAPLE_FUZZ_TARGET_H
#define OCSPSTAPLE_FUZZ_TARGET_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s: invariant failed at line %d: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input as a file: a memfd (mode 0600, so that no "world-writable" rule refuses it), and
 * its path. */
struct fuzz_file {
    int fd;
    char path[64];
};

/* fuzz_file_open - make the memfd, or exit (in LLVMFuzzerInitialize). */
static inline void fuzz_file_open(struct fuzz_file *f, const char *name)
{
    f->fd = memfd_create(name, MFD_CLOEXEC);
    if (f->fd < 0 || fchmod(f->fd, 0600) != 0) {
        perror(name);
        exit(1);
    }
    snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

/* fuzz_file_write - the file's content becomes exactly `data`. */
static inline void fuzz_file_write(const struct fuzz_file *f, const uint8_t *data, size_t size)
{
    CHECK(ftruncate(f->fd, 0) == 0);
    CHECK(size == 0 || pwrite(f->fd, data, size, 0) == (ssize_t)size);
}

/* fuzz_log_checked - a log capture: every line a terminated string, nothing printed. */
static inline void fuzz_log_checked(enum log_level level, const char *text, void *arg)
{
    (void)level;
    (void)arg;
    CHECK(text != NULL && memchr(text, '\0', 2048) != NULL);
}

#endif
