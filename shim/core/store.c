/*
 * store.c - OCSP responses in memory for the handshakes: snapshots, the handshake lookup, and
 * the schedule of loading and reloading (the reloader thread, or the handshakes where no
 * thread may run). The files themselves are sources.c's concern, the snapshots' memory
 * snapshot.c's, the checks binding.c's.
 *
 * A snapshot is what the handshakes see: every source with its versions, and a table of
 * bindings. A handshake takes a reference (a mutex held for a pointer copy and an increment),
 * looks up and copies without any lock, and drops it; a replaced snapshot is freed by whoever
 * drops its last reference. (No rwlock: one cannot be handed safely across fork(), which the
 * daemons do.)
 *
 * Loading. At the first server context the configuration is read, then as many of its files
 * as INLINE_LOAD_MS allows (all of them, up to a few hundred entries); the reloader thread
 * reads the rest, about 20 us an entry, publishing every LOAD_STEP_MS, so that a large
 * configuration delays neither the host's start nor the certificates already read. Before a
 * chroot the rest is read at once (certificate files are read by path). In a configuration of
 * at most PREBIND_MAX entries, the entries' certificates are decoded too and their responses
 * checked right after loading (the log tells at start-up what will be stapled, and children
 * forked before any handshake inherit the verdicts); in a larger one that would cost about
 * 200 us per entry in every process, and responses are checked at the first handshake that
 * serves their certificate.
 *
 * Locks, always taken in this order: reloader_start_lock, reload_lock (the sources, the
 * initial load), bind_lock (one binder at a time, the served certificates), current_lock,
 * then the certificate pool's and the log's (leaves).
 */
#include "store.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "binding.h"
#include "certpool.h"
#include "config.h"
#include "config_reload.h"
#include "lock_reset.h"
#include "log.h"
#include "served.h"
#include "snapshot.h"
#include "sources.h"
#include "validate.h"

#define RELOAD_INTERVAL_MS 1000
#define INLINE_LOAD_MS     5    /* reading files at the first server context, at most */
#define LOAD_STEP_MS       5    /* the reloader publishes what it read this often */
#define INLINE_PASS_MS     2    /* per handshake, where no thread may run (see below) */
#define PREBIND_MAX        256  /* entries whose certificates are checked when loaded */
#define EXIT_WAIT_MS       2000 /* at exit, for the reloader's pass in progress, at most */

static struct {
    pthread_once_t once;
    struct config cfg;
    bool configured; /* cfg holds a configuration that was read */
    _Atomic bool loaded;
    struct timespec load_start;
    pthread_mutex_t current_lock; /* guards `current` (held for a pointer copy and a count) */
    struct snapshot *current;
    pthread_mutex_t bind_lock;
    pthread_mutex_t reload_lock;
    _Atomic bool reloader_running;
    _Atomic bool exiting;     /* stop_at_exit ran: reload_lock is kept, fork handlers stand aside */
    _Atomic pid_t owner_pid;  /* the process this state is for (init, fork_child, adopt_clone) */
    _Atomic bool torn;        /* a raw clone copied a lock held mid-update: nothing to staple */
    _Atomic bool new_process; /* forked or cloned, and no handshake has looked at its data */
    _Atomic long long last_pass_ms; /* CLOCK_MONOTONIC, when the last pass ended */
    pthread_mutex_t reloader_start_lock;
    bool thread_failed, thread_failed_logged; /* under reloader_start_lock */
    time_t last_inline_check;                 /* under reload_lock */
    bool republish;                           /* the last publish failed (reload_lock) */
} S = {
    .once = PTHREAD_ONCE_INIT,
    .current_lock = PTHREAD_MUTEX_INITIALIZER,
    .bind_lock = PTHREAD_MUTEX_INITIALIZER,
    .reload_lock = PTHREAD_MUTEX_INITIALIZER,
    .reloader_start_lock = PTHREAD_MUTEX_INITIALIZER,
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* deadline_in - CLOCK_MONOTONIC `ms` from now. */
static struct timespec deadline_in(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += (ms % 1000) * 1000000L;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

/* ---- snapshots ------------------------------------------------------------------------ */

/* snapshot_acquire - the current snapshot with a reference held, or NULL. Thread-safe. */
static struct snapshot *snapshot_acquire(void)
{
    pthread_mutex_lock(&S.current_lock);
    struct snapshot *snap = S.current;
    if (snap != NULL)
        atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&S.current_lock);
    return snap;
}

/* publish - make a snapshot of the sources as they are now current. The bindings of the current
 * snapshot go over, except those that `changed` sources can affect: these are checked again
 * now (their verdicts logged now, and the next handshake finds them ready), or left to their
 * next handshake when that is not possible. With `ahead`, the certificates read from a small
 * configuration are checked too (not while the host waits in its first SSL_CTX_new). Caller
 * holds reload_lock. */
static void publish(const struct changes *changed, bool ahead)
{
    pthread_mutex_lock(&S.bind_lock);
    struct snapshot *snap = snapshot_build(binding_table_size());
    S.republish = snap == NULL; /* out of memory: the next pass publishes everything */
    if (snap == NULL) {
        pthread_mutex_unlock(&S.bind_lock);
        return;
    }
    snapshot_table_reset();
    /* `current` changes only here, under reload_lock: it stays alive while read. */
    struct snapshot *old = S.current;
    binding_carry(snap, old, changed, ahead, &S.exiting);
    atomic_store(&snap->refs, 1);
    pthread_mutex_lock(&S.current_lock);
    S.current = snap;
    pthread_mutex_unlock(&S.current_lock);
    snapshot_release(old); /* no longer current: freed when its last handshake is done */
    pthread_mutex_unlock(&S.bind_lock);
}

/* ---- the handshake path ---------------------------------------------------------------- */

size_t store_staple(SSL *ssl, X509 *leaf, const char *servername, unsigned char **der)
{
    unsigned char fp[20];
    size_t len = 0;

    if (leaf == NULL || atomic_load(&S.torn) || !cert_fingerprint(leaf, fp))
        return 0;
    struct snapshot *snap = snapshot_acquire();
    if (snap == NULL)
        return 0;
    struct binding *b = snapshot_find(snap, fp);
    if (b != NULL) {
        len = binding_choose(b, servername, der);
        snapshot_release(snap);
        return len;
    }
    snapshot_release(snap);

    /* First handshake for this certificate (or its binding is being redone): check it. */
    pthread_mutex_lock(&S.bind_lock);
    snap = snapshot_acquire();
    if (snap != NULL) {
        bool transient = false;
        if ((b = snapshot_find(snap, fp)) == NULL)
            b = binding_for_handshake(snap, ssl, leaf, fp, &transient);
        if (b != NULL)
            len = binding_choose(b, servername, der);
        if (transient)
            free(b);
    }
    pthread_mutex_unlock(&S.bind_lock);
    snapshot_release(snap);
    return len;
}

/* ---- loading and reloading ------------------------------------------------------------- */

/* lock_checks, unlock_checks - the lock every check holds (sources change an entry's
 * certificates under it). */
static void lock_checks(void)
{
    pthread_mutex_lock(&S.bind_lock);
}

static void unlock_checks(void)
{
    pthread_mutex_unlock(&S.bind_lock);
}

/* set_policy - a reloaded configuration changed the checks' policy. Caller holds reload_lock. */
static void set_policy(const struct validation_policy *policy)
{
    pthread_mutex_lock(&S.bind_lock);
    binding_setup(policy);
    pthread_mutex_unlock(&S.bind_lock);
}

static const struct config_reload_hooks reload_hooks = {set_policy};

/* reload_pass_locked - one pass under reload_lock, held by the caller: while the initial load
 * is not complete, go on with it until `deadline`; after it, new response_dir files and changed
 * files. Publishes a new snapshot if anything changed; `ahead`: see publish. */
static void reload_pass_locked(const struct timespec *deadline, bool ahead)
{
    struct changes changed = {NULL, 0, 0, false};
    sources_check_dirs();
    if (!atomic_load(&S.loaded)) {
        if (sources_load_more(deadline, &changed)) {
            atomic_store(&S.loaded, true);
            config_drop_entries(&S.cfg); /* the sources hold theirs */
            log_summary("%s: %zu response file(s) configured, %zu loaded (%.0f ms)", S.cfg.path,
                        sources_count(), sources_loaded(), ms_since(&S.load_start));
        }
    } else {
        config_reload_pass(&S.cfg, &reload_hooks, &changed);
        sources_refresh(&changed);
        sources_log_expiries();
    }
    changed.all |= S.republish;
    if (changed.count > 0 || changed.all || snapshot_table_full() || S.current == NULL ||
        (ahead && binding_pending() > 0))
        publish(&changed, ahead);
    free(changed.list);
    atomic_store(&S.last_pass_ms, now_ms());
}

static void reload_once(const struct timespec *deadline)
{
    pthread_mutex_lock(&S.reload_lock);
    reload_pass_locked(deadline, true);
    pthread_mutex_unlock(&S.reload_lock);
}

static void *reloader_main(void *arg)
{
    bool caught_up = false;
    (void)arg;
    for (;;) {
        if (!atomic_load(&S.loaded)) {
            /* The initial load, in steps: handshakes see each step's files, and a fork() or a
             * chroot() waits for one step at most. */
            struct timespec step = deadline_in(LOAD_STEP_MS);
            reload_once(&step);
            sched_yield();
            continue;
        }
        if (!caught_up) {
            /* Right after the initial load: files replaced while it ran, and what a small
             * configuration names, are checked at once. */
            caught_up = true;
            reload_once(NULL);
        }
        struct timespec delay = {RELOAD_INTERVAL_MS / 1000, (RELOAD_INTERVAL_MS % 1000) * 1000000L};
        while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
            ;
        reload_once(NULL);
    }
    return NULL;
}

/* fork handlers - the reloader thread does not survive fork(): the child starts its own at
 * its first handshake. Taking every lock in prepare means no lock is held mid-change when the
 * child's copy of memory is made. */
static _Atomic bool
    fork_locked; /* fork_prepare took the locks (only the forking thread reads it) */

static void fork_prepare(void)
{
    fork_locked = !atomic_load(&S.exiting);
    if (!fork_locked)
        return; /* a fork from a later exit handler: reload_lock is held for good */
    pthread_mutex_lock(&S.reloader_start_lock);
    pthread_mutex_lock(&S.reload_lock);
    pthread_mutex_lock(&S.bind_lock);
    pthread_mutex_lock(&S.current_lock);
    certpool_lock();
}

static void fork_parent(void)
{
    if (!fork_locked)
        return;
    certpool_unlock();
    pthread_mutex_unlock(&S.current_lock);
    pthread_mutex_unlock(&S.bind_lock);
    pthread_mutex_unlock(&S.reload_lock);
    pthread_mutex_unlock(&S.reloader_start_lock);
}

static void fork_child(void)
{
    if (!fork_locked)
        return;
    atomic_store(&S.owner_pid, getpid());
    atomic_store(&S.new_process, true);
    fork_parent(); /* the mutexes carry no owner: the child's only thread releases them */
    atomic_store(&S.reloader_running, false);
    S.thread_failed = false;
    S.last_inline_check = 0;
    /* Forked in the middle of the initial load (pre-forking servers fork right after their
     * first context): finish it now, not at the first handshake, which would find its
     * certificate not read yet. Later forks start their reloader at their first handshake. */
    if (!atomic_load(&S.loaded))
        store_start_reloader();
}

/* start_thread - try to start the reloader thread (caller holds reloader_start_lock). */
static bool start_thread(void)
{
    pthread_t tid;
    pthread_attr_t attr;
    sigset_t all, old;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, (size_t)256 * 1024);
    /* The host's signals belong to the host's threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&tid, &attr, reloader_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0 && !S.thread_failed_logged) {
        /* Dovecot's login processes set RLIMIT_NPROC to 1 before their first handshake. */
        log_info("cannot start a reloader thread (%s): response files are checked from the "
                 "handshakes instead, at most once a second",
                 strerror(rc));
        S.thread_failed_logged = true;
    }
    return rc == 0;
}

bool store_start_reloader(void)
{
    if (atomic_load_explicit(&S.reloader_running, memory_order_acquire))
        return true;
    pthread_mutex_lock(&S.reloader_start_lock);
    if (!atomic_load(&S.reloader_running) && !S.thread_failed && S.configured) {
        if (start_thread())
            atomic_store_explicit(&S.reloader_running, true, memory_order_release);
        else
            S.thread_failed = true;
    }
    pthread_mutex_unlock(&S.reloader_start_lock);
    return atomic_load(&S.reloader_running);
}

void store_finish_loading(void)
{
    if (!S.configured || (atomic_load(&S.loaded) && binding_pending() == 0))
        return;
    pthread_mutex_lock(&S.reload_lock);
    do /* the pass that ends the load, or the one after it, checks what is pending */
        reload_pass_locked(NULL, true);
    while (!atomic_load(&S.loaded));
    pthread_mutex_unlock(&S.reload_lock);
}

/* adopt_clone - this process is not the one the state was made for, and no fork handler told
 * it so: it was made by the clone system call itself (vsftpd starts its sessions that way;
 * clone3, vfork-like clones), so it has no reloader thread although the flag it copied says
 * otherwise. It starts its own, as a forked child does. A lock the clone copied while held
 * leaves what it guards in doubt: then this process staples nothing (logged), rather than
 * something stale or torn. Called at a handshake; the first thread of the process does it. */
static void adopt_clone(pid_t me)
{
    pid_t owner = atomic_load(&S.owner_pid);
    if (owner == me || !atomic_compare_exchange_strong(&S.owner_pid, &owner, me))
        return;
    log_reset_after_clone();
    bool intact = lock_reset_after_clone(&S.reloader_start_lock);
    intact &= lock_reset_after_clone(&S.reload_lock);
    intact &= lock_reset_after_clone(&S.bind_lock);
    intact &= lock_reset_after_clone(&S.current_lock);
    intact &= certpool_reset_after_clone();
    atomic_store(&S.reloader_running, false);
    atomic_store(&S.new_process, true);
    S.thread_failed = false;
    S.last_inline_check = 0;
    if (!intact) {
        atomic_store(&S.torn, true);
        log_error("process %ld was made by clone() while ocspstaple was updating its state; "
                  "nothing is stapled in this process",
                  (long)me);
    }
}

/* refresh_if_stale - the first handshake of a forked or cloned process: what it inherited may
 * be as old as the parent's last pass, or older (a parent that never handshakes, a worker made
 * long ago); when that is more than a reload interval ago, or a directory changed since,
 * look at the files now, before anything is stapled (a revoked replacement must end a good
 * staple in every process). */
static void refresh_if_stale(void)
{
    if (!atomic_exchange(&S.new_process, false))
        return;
    bool old = now_ms() - atomic_load(&S.last_pass_ms) > RELOAD_INTERVAL_MS;
    pthread_mutex_lock(&S.reload_lock);
    /* Younger than a reload interval, but a directory changed since the parent's last pass (a
     * response renamed over, a certificate's symlink switched: one fstat per directory): look
     * now too, or a child forked per connection could staple an older response after one
     * forked a moment before had looked and stapled the newer. */
    if (old || sources_dirs_changed()) {
        struct timespec deadline = deadline_in(INLINE_PASS_MS);
        reload_pass_locked(atomic_load(&S.loaded) ? NULL : &deadline, true);
    }
    pthread_mutex_unlock(&S.reload_lock);
}

void store_before_handshake(void)
{
    if (!S.configured)
        return;
    pid_t me = getpid();
    if (me != atomic_load_explicit(&S.owner_pid, memory_order_acquire))
        adopt_clone(me);
    if (atomic_load_explicit(&S.new_process, memory_order_relaxed))
        refresh_if_stale();
    if (atomic_load_explicit(&S.reloader_running, memory_order_acquire))
        return;
    /* No reloader in this process (the first handshake after a fork, or a process that may not
     * start threads): hand the job to a thread, or else do it here, by one thread at a time:
     * at most once a second, and while files are still to be read (a fork in the middle of the
     * initial load) INLINE_PASS_MS of reading at a handshake. */
    if (store_start_reloader())
        return;
    if (pthread_mutex_trylock(&S.reload_lock) == 0) {
        time_t now = time(NULL);
        if (now != S.last_inline_check || !atomic_load(&S.loaded)) {
            struct timespec deadline = deadline_in(INLINE_PASS_MS);
            S.last_inline_check = now;
            reload_pass_locked(&deadline, true);
        }
        pthread_mutex_unlock(&S.reload_lock);
    }
}

/* leaf_read - an entry's certificate, read from its file: in a small configuration, checked
 * as soon as the load is done. Called under reload_lock. */
static void leaf_read(const unsigned char fp[20], const unsigned char *der, size_t len)
{
    pthread_mutex_lock(&S.bind_lock);
    served_note_leaf(fp, der, len);
    pthread_mutex_unlock(&S.bind_lock);
}

/* stop_at_exit - the process is exiting: from now on the reloader must not touch OpenSSL,
 * whose own exit handler (libcrypto's OPENSSL_cleanup, registered when the host first used
 * it, so before this one, so run after it) frees what a pass uses: a host that exits soon after
 * its first server context (nginx's launcher forking to the background, a server refusing its
 * configuration) died of a signal in the middle of a pass. So: wait for the pass in progress,
 * at most EXIT_WAIT_MS, and keep reload_lock, which every pass takes, for good. A pass never
 * runs longer than a step of the initial load or one refresh pass, so the wait is short; the
 * bound keeps an exit from a signal handler that interrupted a pass from hanging. A pass that
 * checks responses (slow under a sanitizer) stops checking as soon as `exiting` is set. */
static void stop_at_exit(void)
{
    atomic_store(&S.exiting, true);
    for (int waited = 0; waited < EXIT_WAIT_MS; waited++) {
        if (pthread_mutex_trylock(&S.reload_lock) == 0)
            return; /* held until the process is gone */
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
}

static void init_once(void)
{
    atomic_store(&S.owner_pid, getpid());
    clock_gettime(CLOCK_MONOTONIC, &S.load_start);
    log_open_syslog();
    log_set_ratelimit(50);
    log_configure(LOG_LEVEL_INFO, LOG_TARGET_SYSLOG);
    const char *path = config_path();
    if (config_load(path, &S.cfg) != 0)
        return; /* logged; nothing to staple, the host carries on */
    struct validation_policy policy = {S.cfg.verify, S.cfg.skew, S.cfg.serve_revoked};
    binding_setup(&policy);
    S.configured = true;
    /* Entries' certificates are checked when loaded only in small configurations. */
    bool prebind = S.cfg.entry_count <= PREBIND_MAX;
    /* glibc keeps the memory libconfig freed (6 MB for a file of 10,000 entries) in the host's
     * heap, where the reloader thread's allocations never reuse it: give it back. */
    if (!prebind)
        malloc_trim(0);
    if (!S.cfg.verify)
        log_warning("%s: verify is off: response signatures are not checked", path);

    pthread_mutex_lock(&S.reload_lock);
    struct sources_hooks hooks = {prebind ? leaf_read : NULL, lock_checks, unlock_checks};
    sources_setup(&S.cfg, &hooks);
    config_reload_setup(path);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atexit(stop_at_exit);
    struct timespec deadline = deadline_in(INLINE_LOAD_MS);
    reload_pass_locked(&deadline, false);
    pthread_mutex_unlock(&S.reload_lock);
}

void store_init(void)
{
    pthread_once(&S.once, init_once);
}
