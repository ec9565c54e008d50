/*
 * host_errors.h - the host's OpenSSL error queue, kept as it was across the core's work in a
 * host thread. The core reads files and checks responses in the host's thread (its first
 * SSL_CTX_new, a chroot, a handshake), and OpenSSL's error queue is per thread: without this,
 * the errors it clears after its own failures would take with them those the host had queued
 * and not read yet (its own diagnostics).
 *
 * Usage: host_errors_save(&saved) on entry, host_errors_restore(&saved) before returning to
 * the host: the queue then holds exactly what it held on entry. Cheap when it was empty (one
 * look at the queue). OpenSSL 3.0 has no call to save a queue: the errors are read out and
 * raised again with their library, reason, file, line, function and text.
 */
#ifndef OCSPSTAPLE_HOST_ERRORS_H
#define OCSPSTAPLE_HOST_ERRORS_H

#include <stddef.h>

#define HOST_ERRORS_MAX 16 /* OpenSSL's queue holds as many */

struct saved_error {
    unsigned long code;
    char file[64], func[64], data[192];
    int line;
    int has_data;
};

struct host_errors {
    size_t count;
    struct saved_error e[HOST_ERRORS_MAX];
};

/* host_errors_save - move the errors queued in this thread into *saved (the queue is then
 * empty). */
void host_errors_save(struct host_errors *saved);

/* host_errors_restore - drop what the core left in this thread's queue and put back what
 * host_errors_save took, in order. */
void host_errors_restore(const struct host_errors *saved);

#endif
