/*
 * lock_reset.h - a mutex as a raw clone() copied it. A process made by the clone system call
 * itself (no fork handler runs) copies every lock in the state it was in; one held at that
 * moment is held by a thread that does not exist here, and would hang the first thread that
 * takes it. Header-only: the preload object's log.c uses it too (libc only).
 */
#ifndef OCSPSTAPLE_LOCK_RESET_H
#define OCSPSTAPLE_LOCK_RESET_H

#include <pthread.h>
#include <stdbool.h>

/* lock_reset_after_clone - whether `m` was free as copied; one that was held is made usable
 * again (the caller decides whether what it guards can still be trusted). Call only in a
 * process made by clone() before any of its threads use `m`. */
static inline bool lock_reset_after_clone(pthread_mutex_t *m)
{
    if (pthread_mutex_trylock(m) == 0) {
        pthread_mutex_unlock(m);
        return true;
    }
    pthread_mutex_init(m, NULL);
    return false;
}

#endif
