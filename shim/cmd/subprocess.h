/*
 * subprocess.h - run a program of the system (postconf, doveconf, dovecot) and collect what
 * it printed, for `ocspstaple enable`, which asks the daemons' own tools about their
 * configuration rather than parsing it itself.
 *
 * Single-threaded use; the child gets the caller's environment, no standard input.
 */
#ifndef OCSPSTAPLE_SUBPROCESS_H
#define OCSPSTAPLE_SUBPROCESS_H

#include <stddef.h>

/* What a program said and how it ended. */
struct subprocess_result {
    char *out;  /* its standard output, NUL-terminated (owned; subprocess_result_free) */
    char *err;  /* its standard error, NUL-terminated, trailing newlines removed (owned) */
    int status; /* its exit status; 127 when it could not be started, 128+N on signal N */
};

/* subprocess_run - run argv[0] (looked up in PATH) with argv, wait for it. Returns 0 with *r
 * filled (whatever the exit status), or -1 with the reason in `why` when it could not be run
 * at all (no pipe, no fork). Output beyond 1 MiB per stream is dropped. */
int subprocess_run(const char *const argv[], struct subprocess_result *r, char *why, size_t whylen);

/* subprocess_result_free - release what subprocess_run filled in. */
void subprocess_result_free(struct subprocess_result *r);

/* subprocess_describe - one line for messages: "`prog args` failed (exit N): the first line
 * of its stderr" ("warned" for a program that exited 0 but complained). */
void subprocess_describe(const char *const argv[], const struct subprocess_result *r, char *buf,
                         size_t size);

#endif
