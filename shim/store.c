/*
 * store.c - OCSP responses in memory: loading, reloading, binding to certificates, lookup.
 *
 * Data model
 *   source   one response file (a `staples` entry, or a *.der file found in `response_dir`),
 *            with what its entry says (leaf, issuer candidates, SNI names) and the last few
 *            versions of its content that parsed. Sources live as long as the process and are
 *            changed only by the reloader, under reload_lock.
 *   version  one content of a file: DER bytes and the parsed basic response. Immutable,
 *            reference-counted, shared by every snapshot that lists it.
 *   snapshot what the handshakes see: every source with its versions, plus a table of
 *            bindings. Reference-counted: a handshake takes a reference (a mutex held for a
 *            pointer copy and an increment), looks up and copies without any lock, and drops
 *            it; a replaced snapshot is freed by whoever drops its last reference. (No rwlock:
 *            one cannot be handed safely across fork(), which the daemons do.)
 *   binding  for one served certificate (by SHA-1 fingerprint): the versions that passed every
 *            check for it, newest first, with their time windows. Computed once per snapshot,
 *            ahead of time in the reloader for entries that name their certificate, otherwise at
 *            the first handshake that serves the certificate (the only place that knows it).
 *
 * Why keep old versions: a replacement that fails validation must not stop a good response
 * from being stapled until that response's own nextUpdate. Why newest first: when the newest
 * validly signed answer says "revoked", an older "good" must not be served any more.
 *
 * Directories are opened once, before any chroot, and files are reread through openat(), so
 * that chrooted daemons (Postfix smtpd, Dovecot's login processes) still see replacements.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "config.h"
#include "files.h"
#include "log.h"
#include "sni.h"
#include "validate.h"

#define HISTORY             3      /* parseable versions kept per source */
#define RESPONSE_DIR_MAX    200000 /* files taken from response_dir */
#define RELOAD_INTERVAL_MS  1000
#define CERT_FILE_MAX_CERTS 64

struct dir_handle {
    char *path;
    int fd; /* opened before any chroot; -1 when it could not be opened */
    dev_t dev;
    ino_t ino;
    bool lost_logged;
};

struct version {
    _Atomic long refs;
    unsigned char *der;
    size_t len;
    OCSP_BASICRESP *basic;
    time_t next_update; /* of its first SingleResponse, 0 when absent: for expiry messages */
    atomic_flag verdict_logged;
    _Atomic bool usable; /* passed every check for some certificate (set when bound) */
    bool expiry_logged;  /* reloader only */
};

struct source {
    char *path; /* for messages */
    struct dir_handle *dir;
    char *name;                       /* relative to dir */
    const struct staple_entry *entry; /* NULL for a response_dir file */
    X509 *leaf;                       /* from the entry's certificate file, or NULL */
    unsigned char leaf_fp[20];
    STACK_OF(X509) * issuers; /* entry's issuer, then the rest of its certificate file */
    struct stat seen;
    bool have_seen;
    uint64_t problem_hash;  /* of the last "cannot be read" reported, to report each once */
    bool changed;           /* a new version in the last reload pass (reload_lock) */
    uint64_t rejected_hash; /* of the last content rejected at parse time, to log it once */
    struct version *history[HISTORY]; /* newest first */
};

struct bound {
    struct version *version;
    const struct source *source;
    time_t this_update, next_update;
    bool revoked;
};

struct binding {
    unsigned char fp[20];
    size_t count;
    struct bound list[];
};

struct snap_item {
    const struct source *source;
    struct version *history[HISTORY];
};

struct snapshot {
    _Atomic long refs; /* one for being current, one per handshake using it */
    size_t count;
    struct snap_item *items;
    size_t mask, used;
    _Atomic(struct binding *) *table;
};

static struct {
    pthread_once_t once;
    struct config cfg;
    struct validation_policy policy;
    struct dir_handle **dirs;
    size_t dir_count;
    struct dir_handle *response_dir;
    struct source **sources;
    size_t source_count, source_cap;
    pthread_mutex_t current_lock; /* guards `current` (held for a pointer copy and a count) */
    struct snapshot *current;
    pthread_mutex_t bind_lock;   /* one binder at a time; taken before current_lock */
    pthread_mutex_t reload_lock; /* sources and their histories */
    _Atomic bool reloader_running;
    pthread_mutex_t reloader_start_lock;
    bool table_full_logged, dir_limit_logged;
    bool thread_failed, thread_failed_logged; /* under reloader_start_lock */
    time_t last_inline_check;                 /* under reload_lock */
    dev_t root_dev; /* "/" when the store was initialised, to recognise a chroot */
    ino_t root_ino;
} S = {
    .once = PTHREAD_ONCE_INIT,
    .current_lock = PTHREAD_MUTEX_INITIALIZER,
    .bind_lock = PTHREAD_MUTEX_INITIALIZER,
    .reload_lock = PTHREAD_MUTEX_INITIALIZER,
    .reloader_start_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- versions ------------------------------------------------------------------------- */

static void version_ref(struct version *v)
{
    if (v != NULL)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void version_unref(struct version *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    OCSP_BASICRESP_free(v->basic);
    OPENSSL_free(v->der);
    free(v);
}

/* version_new - take ownership of `der` (OPENSSL_malloc'ed); parse it. Returns NULL (and the
 * reason in *facts) when it is not a stapleable kind of response at all. */
static struct version *version_new(unsigned char *der, size_t len, struct response_facts *facts)
{
    OCSP_BASICRESP *basic = response_parse(der, len, facts);
    if (basic == NULL) {
        OPENSSL_free(der);
        return NULL;
    }
    struct version *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        OCSP_BASICRESP_free(basic);
        OPENSSL_free(der);
        snprintf(facts->reason, sizeof(facts->reason), "out of memory");
        return NULL;
    }
    atomic_init(&v->refs, 1);
    atomic_flag_clear(&v->verdict_logged);
    v->der = der;
    v->len = len;
    v->basic = basic;
    response_first_times(basic, NULL, &v->next_update);
    return v;
}

/* ---- files and directories ------------------------------------------------------------ */

/* split_path - directory part and last component of `path` (which must not end in '/'). */
static int split_path(const char *path, char **dir, char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        *dir = strdup(".");
        *base = strdup(path);
    } else {
        size_t dlen = slash == path ? 1 : (size_t)(slash - path);
        *dir = strndup(path, dlen);
        *base = strdup(slash + 1);
    }
    if (*dir == NULL || *base == NULL || (*base)[0] == '\0') {
        free(*dir);
        free(*base);
        *dir = *base = NULL; /* the caller frees them too, on every path */
        return -1;
    }
    return 0;
}

/* dir_get - the handle for directory `path`, opened once and shared. */
static struct dir_handle *dir_get(const char *path)
{
    for (size_t i = 0; i < S.dir_count; i++)
        if (strcmp(S.dirs[i]->path, path) == 0)
            return S.dirs[i];
    struct dir_handle **grown = realloc(S.dirs, (S.dir_count + 1) * sizeof(struct dir_handle *));
    struct dir_handle *d = calloc(1, sizeof(*d));
    if (grown != NULL)
        S.dirs = grown;
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
    S.dirs[S.dir_count++] = d;
    return d;
}

/* same_root - whether this process still sees the file system root it had at start-up (it
 * has not entered a chroot since): only then do paths mean what the configuration meant. */
static bool same_root(void)
{
    struct stat st;
    return stat("/", &st) == 0 && st.st_dev == S.root_dev && st.st_ino == S.root_ino;
}

/* dir_fd - the directory's descriptor, valid for reading. Three cases: the handle is ours and
 * the path still leads to the same directory (or the process is chrooted, so the path means
 * nothing): use it; the directory was removed and made anew at its path: reopen it there; the
 * host closed our descriptor (a daemon closing every descriptor it does not know, the number
 * perhaps reused): reopen by path, never touching the old number. -1 when unreachable. */
static int dir_fd(struct dir_handle *d)
{
    struct stat st, pst;
    bool ours = d->fd >= 0 && fstat(d->fd, &st) == 0 && S_ISDIR(st.st_mode) &&
                st.st_dev == d->dev && st.st_ino == d->ino;
    bool unrooted = !same_root();
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

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* content_hash - FNV-1a of a file's bytes, to recognise content seen before. */
static uint64_t content_hash(const unsigned char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h | 1; /* never 0, which means "nothing rejected" */
}

/* history_push - make `v` the newest version. When the history is full, the oldest version
 * that never passed the checks goes first: a run of bad replacements must not push out the
 * last good response while it is still valid. */
static void history_push(struct source *src, struct version *v)
{
    int evict = HISTORY - 1;
    if (src->history[HISTORY - 1] != NULL) {
        for (int h = HISTORY - 1; h >= 0; h--)
            if (!atomic_load(&src->history[h]->usable)) {
                evict = h;
                break;
            }
    }
    version_unref(src->history[evict]);
    memmove(&src->history[1], &src->history[0], (size_t)evict * sizeof(struct version *));
    src->history[0] = v;
}

/* source_refresh - reread the file if it changed. Returns true when a new version was added
 * to the history. Called by store_init and the reloader, under reload_lock. */
static bool source_refresh(struct source *src, bool initial)
{
    struct stat st;
    struct response_facts facts;
    char why[256];
    size_t len = 0;
    int dfd = dir_fd(src->dir);

    if (dfd < 0 || fstatat(dfd, src->name, &st, 0) != 0) {
        snprintf(why, sizeof(why), "%s",
                 dfd < 0 ? "its directory cannot be opened" : strerror(errno));
        uint64_t h = content_hash((const unsigned char *)why, strlen(why));
        if (h != src->problem_hash)
            log_warning("%s: cannot be read: %s%s", src->path, why,
                        src->history[0] ? "; the last good response stays in use until its "
                                          "nextUpdate"
                                        : "; nothing to staple from it");
        src->problem_hash = h;
        src->have_seen = false;
        return false;
    }
    if (src->have_seen && same_file(&st, &src->seen))
        return false;
    /* A file modified within the last second may still be being written: look again later. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    bool settled = now.tv_sec - st.st_mtim.tv_sec > 1 ||
                   (now.tv_sec - st.st_mtim.tv_sec == 1 && now.tv_nsec >= st.st_mtim.tv_nsec);
    unsigned char *der = response_file_read(dfd, src->name, &len, why, sizeof(why));
    if (der == NULL) {
        /* The same problem with the same file is reported once; a new file or reason again. */
        char key[300];
        snprintf(key, sizeof(key), "%s|%llu|%o", why, (unsigned long long)st.st_ino,
                 (unsigned)st.st_mode);
        uint64_t h = content_hash((const unsigned char *)key, strlen(key));
        if (h != src->problem_hash)
            log_error("%s: cannot be read: %s%s", src->path, why,
                      src->history[0] ? "; the last good response stays in use" : "");
        src->problem_hash = h;
        src->seen = st;
        src->have_seen = settled;
        return false;
    }
    src->problem_hash = 0;
    if (src->history[0] != NULL && src->history[0]->len == len &&
        memcmp(src->history[0]->der, der, len) == 0) {
        OPENSSL_free(der); /* touched, same bytes */
        src->seen = st;
        src->have_seen = settled;
        return false;
    }
    uint64_t hash = content_hash(der, len);
    struct version *v = version_new(der, len, &facts);
    src->seen = st;
    src->have_seen = settled;
    if (v == NULL) {
        if (hash != src->rejected_hash)
            log_error("%s: rejected: %s: %s%s", src->path, verdict_name(facts.verdict),
                      facts.reason, src->history[0] ? "; the last good response stays in use" : "");
        src->rejected_hash = hash;
        return false;
    }
    src->rejected_hash = 0;
    history_push(src, v);
    if (initial)
        log_debug("%s: loaded (%zu bytes)", src->path, len);
    else
        log_info("%s: replaced (%zu bytes); checking it", src->path, len);
    return true;
}

/* ---- configuration to sources --------------------------------------------------------- */

static struct source *add_source(const char *path, struct dir_handle *dir, const char *name)
{
    if (S.source_count == S.source_cap) {
        size_t cap = S.source_cap ? S.source_cap * 2 : 16;
        struct source **grown = realloc(S.sources, cap * sizeof(struct source *));
        if (grown == NULL)
            return NULL;
        S.sources = grown;
        S.source_cap = cap;
    }
    struct source *src = calloc(1, sizeof(*src));
    if (src == NULL || (src->path = strdup(path)) == NULL || (src->name = strdup(name)) == NULL) {
        if (src != NULL) {
            free(src->path);
            free(src);
        }
        return NULL;
    }
    src->dir = dir;
    S.sources[S.source_count++] = src;
    return src;
}

/* add_entry_source - one `staples` entry: its certificates, then the source for its file. */
static void add_entry_source(const struct staple_entry *e)
{
    STACK_OF(X509) *issuers = NULL;
    X509 *leaf = NULL;
    char *dirpath = NULL, *base = NULL;

    if (entry_load_certs(S.cfg.path, e, &leaf, &issuers) != 0)
        goto skip;
    if (split_path(e->response, &dirpath, &base) != 0) {
        log_error("%s:%d: response %s: not a file name", S.cfg.path, e->line, e->response);
        goto skip;
    }
    struct dir_handle *dir = dir_get(dirpath);
    struct source *src = dir ? add_source(e->response, dir, base) : NULL;
    if (src == NULL)
        goto skip;
    src->entry = e;
    src->leaf = leaf;
    src->issuers = issuers;
    if (leaf != NULL && !cert_fingerprint(leaf, src->leaf_fp)) {
        log_error("%s:%d: certificate %s: cannot compute its fingerprint", S.cfg.path, e->line,
                  e->certificate);
        src->leaf = NULL;
        X509_free(leaf);
    }
    free(dirpath);
    free(base);
    return;
skip:
    log_error("%s:%d: staples entry for %s skipped: nothing will be stapled for it", S.cfg.path,
              e->line, e->response);
    free(dirpath);
    free(base);
    X509_free(leaf);
    sk_X509_pop_free(issuers, X509_free);
}

/* scan_response_dir - add a source for every *.der file not seen before. Returns how many. */
static size_t scan_response_dir(void)
{
    struct dir_handle *d = S.response_dir;
    size_t added = 0;
    if (d == NULL)
        return 0;
    int dfd = dir_fd(d);
    if (dfd < 0)
        return 0;
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (dh == NULL) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (!is_response_file_name(de->d_name))
            continue;
        bool known = false;
        for (size_t i = 0; i < S.source_count && !known; i++)
            known = S.sources[i]->dir == d && S.sources[i]->entry == NULL &&
                    strcmp(S.sources[i]->name, de->d_name) == 0;
        if (known)
            continue;
        if (S.source_count >= RESPONSE_DIR_MAX) {
            if (!S.dir_limit_logged)
                log_error("%s: more than %d files; the rest are ignored", d->path,
                          RESPONSE_DIR_MAX);
            S.dir_limit_logged = true;
            break;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", d->path, de->d_name);
        if (add_source(path, d, de->d_name) != NULL)
            added++;
    }
    closedir(dh);
    return added;
}

/* ---- snapshots and bindings ------------------------------------------------------------ */

static void snapshot_free(struct snapshot *snap)
{
    if (snap == NULL)
        return;
    for (size_t i = 0; i < snap->count; i++)
        for (int h = 0; h < HISTORY; h++)
            version_unref(snap->items[i].history[h]);
    for (size_t i = 0; snap->table != NULL && i <= snap->mask; i++)
        free(atomic_load_explicit(&snap->table[i], memory_order_relaxed));
    free(snap->table);
    free(snap->items);
    free(snap);
}

/* snapshot_build - the sources as they are now (under reload_lock). */
static struct snapshot *snapshot_build(void)
{
    struct snapshot *snap = calloc(1, sizeof(*snap));
    if (snap == NULL)
        return NULL;
    size_t slots = 64;
    while (slots < 4 * (S.source_count + 16))
        slots *= 2;
    snap->mask = slots - 1;
    snap->table = calloc(slots, sizeof(*snap->table));
    snap->items = calloc(S.source_count ? S.source_count : 1, sizeof(*snap->items));
    if (snap->table == NULL || snap->items == NULL) {
        snapshot_free(snap);
        return NULL;
    }
    for (size_t i = 0; i < S.source_count; i++) {
        struct source *src = S.sources[i];
        if (src->history[0] == NULL)
            continue;
        struct snap_item *it = &snap->items[snap->count++];
        it->source = src;
        for (int h = 0; h < HISTORY; h++) {
            it->history[h] = src->history[h];
            version_ref(it->history[h]);
        }
    }
    return snap;
}

static size_t slot_of(const unsigned char fp[20], size_t mask)
{
    uint64_t h;
    memcpy(&h, fp, sizeof(h));
    return (size_t)h & mask;
}

/* binding_find - lock-free lookup (the table only ever gains entries while published). */
static struct binding *binding_find(struct snapshot *snap, const unsigned char fp[20])
{
    for (size_t i = slot_of(fp, snap->mask), n = 0; n <= snap->mask;
         i = (i + 1) & snap->mask, n++) {
        struct binding *b = atomic_load_explicit(&snap->table[i], memory_order_acquire);
        if (b == NULL)
            return NULL;
        if (memcmp(b->fp, fp, 20) == 0)
            return b;
    }
    return NULL;
}

/* binding_insert - add `b` unless the table is three quarters full. Caller holds bind_lock (or
 * owns an unpublished snapshot). Returns false when not inserted (the caller keeps `b`). */
static bool binding_insert(struct snapshot *snap, struct binding *b)
{
    if (4 * (snap->used + 1) > 3 * (snap->mask + 1)) {
        if (!S.table_full_logged)
            log_warning("more distinct certificates served than expected (%zu); the ones beyond "
                        "are checked at every handshake until the next reload",
                        snap->used);
        S.table_full_logged = true;
        return false;
    }
    for (size_t i = slot_of(b->fp, snap->mask);; i = (i + 1) & snap->mask) {
        if (atomic_load_explicit(&snap->table[i], memory_order_relaxed) == NULL) {
            atomic_store_explicit(&snap->table[i], b, memory_order_release);
            snap->used++;
            return true;
        }
    }
}

static int by_this_update_desc(const void *a, const void *b)
{
    const struct bound *x = a, *y = b;
    return (x->this_update < y->this_update) - (x->this_update > y->this_update);
}

/* log_verdict_once - one line per version about what was decided for it. */
static void log_verdict_once(struct version *v, const struct source *src, const char *leaf_desc,
                             const struct response_facts *f)
{
    if (atomic_flag_test_and_set(&v->verdict_logged))
        return;
    if (f->verdict == VERDICT_GOOD)
        log_info("%s: stapling for %s: %s", src->path, leaf_desc, f->reason);
    else if (f->verdict == VERDICT_REVOKED)
        log_error("%s: %s: %s%s", src->path, leaf_desc, f->reason,
                  S.policy.serve_revoked ? "; stapled because serve_revoked is set"
                                         : "; not stapled (serve_revoked is off)");
    else if (f->verdict == VERDICT_NOT_YET_VALID)
        log_warning("%s: not stapled yet for %s: %s", src->path, leaf_desc, f->reason);
    else
        log_error("%s: rejected for %s: %s: %s", src->path, leaf_desc, verdict_name(f->verdict),
                  f->reason);
}

/* host_chain - the certificates the host configured for what it serves on `ssl`. */
static STACK_OF(X509) * host_chain(SSL *ssl)
{
    STACK_OF(X509) *all = sk_X509_new_null(), *chain = NULL, *extra = NULL;
    if (all == NULL || ssl == NULL)
        return all;
    if (SSL_get0_chain_certs(ssl, &chain) && chain != NULL)
        for (int i = 0; i < sk_X509_num(chain); i++)
            sk_X509_push(all, sk_X509_value(chain, i));
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    if (ctx != NULL && SSL_CTX_get_extra_chain_certs(ctx, &extra) && extra != NULL)
        for (int i = 0; i < sk_X509_num(extra); i++)
            sk_X509_push(all, sk_X509_value(extra, i));
    return all;
}

/* bind_leaf - check every candidate response for `leaf` and keep the stapleable ones, newest
 * first. With ssl == NULL (ahead of time) the host's chain is unknown: returns NULL and sets
 * *incomplete when a candidate's issuer could only come from there. Caller holds bind_lock
 * (versions' parsed responses are not shared between concurrent checks) and keeps `snap`
 * alive. */
static struct binding *bind_leaf(struct snapshot *snap, SSL *ssl, X509 *leaf,
                                 const unsigned char fp[20], bool *incomplete)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(leaf);
    STACK_OF(X509) *chain = NULL;
    size_t cap = 4, n = 0;
    struct bound *found = malloc(cap * sizeof(*found));
    char leaf_desc[300];
    time_t now = time(NULL);
    bool any_candidate = false, newest_revoked = false;

    *incomplete = false;
    if (found == NULL)
        return NULL;
    describe_cert(leaf, leaf_desc, sizeof(leaf_desc));
    for (size_t i = 0; i < snap->count; i++) {
        const struct source *src = snap->items[i].source;
        if (src->leaf != NULL && memcmp(src->leaf_fp, fp, 20) != 0)
            continue; /* the entry names another certificate */
        for (int h = 0; h < HISTORY; h++) {
            struct version *v = snap->items[i].history[h];
            struct response_facts facts;
            /* An entry that names this certificate has every version judged (and a wrong
             * file reported); other responses only when they mention the serial at all. */
            if (v == NULL || (src->leaf == NULL && !response_mentions_serial(v->basic, serial)))
                continue;
            any_candidate = true;
            if (chain == NULL && ssl != NULL)
                chain = host_chain(ssl);
            X509 *issuer = entry_find_issuer(leaf, src->issuers, chain, v->basic);
            if (issuer == NULL && ssl == NULL) {
                *incomplete = true;
                goto out;
            }
            response_validate(v->basic, leaf, issuer, &S.policy, now, &facts);
            /* Only the newest version's verdict is news; older ones were reported before. */
            if (h == 0 || facts.verdict == VERDICT_GOOD)
                log_verdict_once(v, src, leaf_desc, &facts);
            bool usable = facts.verdict == VERDICT_GOOD || facts.verdict == VERDICT_REVOKED ||
                          facts.verdict == VERDICT_NOT_YET_VALID;
            if (!usable)
                continue;
            atomic_store(&v->usable, true);
            if (n == cap) {
                struct bound *grown = realloc(found, 2 * cap * sizeof(*found));
                if (grown == NULL)
                    continue;
                found = grown;
                cap *= 2;
            }
            found[n].version = v;
            found[n].source = src;
            found[n].this_update = facts.this_update;
            found[n].next_update = facts.next_update;
            found[n].revoked = facts.cert_status == V_OCSP_CERTSTATUS_REVOKED;
            n++;
        }
    }
    qsort(found, n, sizeof(*found), by_this_update_desc);
    newest_revoked = n > 0 && found[0].revoked;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        /* Newest says revoked: an older "good" must not go out; revoked answers only with
         * serve_revoked. */
        if (found[i].revoked != newest_revoked || (found[i].revoked && !S.policy.serve_revoked))
            continue;
        found[kept++] = found[i];
    }
    n = kept;
    if (!any_candidate)
        log_debug("no configured response mentions %s", leaf_desc);
    else if (n == 0)
        log_warning("nothing stapleable for %s (see the messages above)", leaf_desc);
out:;
    struct binding *b = NULL;
    if (!*incomplete && (b = malloc(sizeof(*b) + n * sizeof(b->list[0]))) != NULL) {
        memcpy(b->fp, fp, 20);
        b->count = n;
        if (n > 0)
            memcpy(b->list, found, n * sizeof(found[0]));
    }
    free(found);
    sk_X509_free(chain);
    ERR_clear_error();
    return b;
}

/* prebind - bindings for the certificates named by entries (all of them, or those of the entries
 * whose file just changed), ahead of the first handshake, into a snapshot not yet published.
 * After a reload the other certificates are bound at their next handshake: re-checking 10,000
 * unchanged entries because one file changed would delay the new response by seconds. */
static void prebind(struct snapshot *snap, bool only_changed)
{
    for (size_t i = 0; i < S.source_count; i++) {
        struct source *src = S.sources[i];
        bool incomplete;
        if (src->leaf == NULL || (only_changed && !src->changed) ||
            binding_find(snap, src->leaf_fp) != NULL)
            continue;
        struct binding *b = bind_leaf(snap, NULL, src->leaf, src->leaf_fp, &incomplete);
        if (b != NULL && !binding_insert(snap, b))
            free(b);
    }
}

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

/* snapshot_release - drop a reference; the last one frees the snapshot. */
static void snapshot_release(struct snapshot *snap)
{
    if (snap != NULL && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(snap);
}

/* publish - make `snap` current. The previous one goes when its last handshake is done. */
static void publish(struct snapshot *snap)
{
    atomic_store(&snap->refs, 1);
    pthread_mutex_lock(&S.current_lock);
    struct snapshot *old = S.current;
    S.current = snap;
    pthread_mutex_unlock(&S.current_lock);
    snapshot_release(old);
}

/* ---- the handshake path ---------------------------------------------------------------- */

/* copy_choice - the first bound response that fits this handshake, copied. */
static size_t copy_choice(const struct binding *b, const char *servername, unsigned char **der)
{
    time_t now = time(NULL);
    for (size_t i = 0; i < b->count; i++) {
        const struct bound *c = &b->list[i];
        const struct staple_entry *e = c->source->entry;
        if (c->this_update > now + S.policy.skew || now >= c->next_update)
            continue;
        if (e != NULL && !sni_matches(e->sni, e->sni_count, servername))
            continue;
        unsigned char *copy = OPENSSL_malloc(c->version->len);
        if (copy == NULL)
            return 0;
        memcpy(copy, c->version->der, c->version->len);
        *der = copy;
        return c->version->len;
    }
    return 0;
}

size_t store_staple(SSL *ssl, X509 *leaf, const char *servername, unsigned char **der)
{
    unsigned char fp[20];
    size_t len = 0;

    if (leaf == NULL || !cert_fingerprint(leaf, fp))
        return 0;
    struct snapshot *snap = snapshot_acquire();
    if (snap == NULL)
        return 0;
    struct binding *b = binding_find(snap, fp);
    if (b != NULL) {
        len = copy_choice(b, servername, der);
        snapshot_release(snap);
        return len;
    }
    snapshot_release(snap);

    /* First handshake for this certificate since the last reload: check its candidates. */
    pthread_mutex_lock(&S.bind_lock);
    snap = snapshot_acquire();
    if (snap != NULL && (b = binding_find(snap, fp)) == NULL) {
        bool incomplete;
        b = bind_leaf(snap, ssl, leaf, fp, &incomplete);
        if (b != NULL && !binding_insert(snap, b)) {
            len = copy_choice(b, servername, der);
            free(b);
            b = NULL;
        }
    }
    if (b != NULL)
        len = copy_choice(b, servername, der);
    pthread_mutex_unlock(&S.bind_lock);
    snapshot_release(snap);
    return len;
}

/* ---- reloading ------------------------------------------------------------------------- */

/* log_expiries - one line when a response that was in use reaches its nextUpdate. */
static void log_expiries(void)
{
    time_t now = time(NULL);
    char when[32];
    for (size_t i = 0; i < S.source_count; i++)
        for (int h = 0; h < HISTORY; h++) {
            struct version *v = S.sources[i]->history[h];
            if (v == NULL || v->expiry_logged || !atomic_load(&v->usable) || v->next_update == 0 ||
                now < v->next_update)
                continue;
            format_utc(v->next_update, when, sizeof(when));
            log_warning("%s: the response in use expired at %s: no longer stapled; fetch a "
                        "fresh one (ocspstaple fetch)",
                        S.sources[i]->path, when);
            v->expiry_logged = true;
        }
}

/* reload_once_locked - one pass under reload_lock, held by the caller: new response_dir files,
 * changed files; publish a new snapshot if anything changed. */
static void reload_once_locked(void)
{
    bool changed = false;
    size_t before = S.source_count;
    scan_response_dir();
    for (size_t i = 0; i < S.source_count; i++) {
        S.sources[i]->changed = source_refresh(S.sources[i], i >= before);
        changed |= S.sources[i]->changed;
    }
    log_expiries();
    if (changed) {
        struct snapshot *snap = snapshot_build();
        if (snap != NULL) {
            pthread_mutex_lock(&S.bind_lock);
            prebind(snap, true);
            pthread_mutex_unlock(&S.bind_lock);
            publish(snap);
        }
    }
}

static void reload_once(void)
{
    pthread_mutex_lock(&S.reload_lock);
    reload_once_locked();
    pthread_mutex_unlock(&S.reload_lock);
}

static void *reloader_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec delay = {RELOAD_INTERVAL_MS / 1000, (RELOAD_INTERVAL_MS % 1000) * 1000000L};
        while (nanosleep(&delay, &delay) != 0 && errno == EINTR)
            ;
        reload_once();
    }
    return NULL;
}

/* fork handlers - the reloader thread does not survive fork(): the child starts its own at
 * its first handshake. Taking every lock in prepare means no lock is held mid-change when the
 * child's copy of memory is made. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&S.reloader_start_lock);
    pthread_mutex_lock(&S.reload_lock);
    pthread_mutex_lock(&S.bind_lock);
    pthread_mutex_lock(&S.current_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&S.current_lock);
    pthread_mutex_unlock(&S.bind_lock);
    pthread_mutex_unlock(&S.reload_lock);
    pthread_mutex_unlock(&S.reloader_start_lock);
}

static void fork_child(void)
{
    fork_parent(); /* the mutexes carry no owner: the child's only thread releases them */
    atomic_store(&S.reloader_running, false);
    S.thread_failed = false;
    S.last_inline_check = 0;
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

void store_start_reloader(void)
{
    if (atomic_load_explicit(&S.reloader_running, memory_order_acquire))
        return;
    pthread_mutex_lock(&S.reloader_start_lock);
    if (!atomic_load(&S.reloader_running) && !S.thread_failed && S.cfg.path != NULL) {
        if (start_thread())
            atomic_store_explicit(&S.reloader_running, true, memory_order_release);
        else
            S.thread_failed = true;
    }
    pthread_mutex_unlock(&S.reloader_start_lock);
}

void store_before_handshake(void)
{
    if (atomic_load_explicit(&S.reloader_running, memory_order_acquire))
        return;
    /* No reloader in this process: the first handshake after a fork (the parent may never have
     * handshaken, so what was inherited may be old), or a process that may not start threads.
     * Look at the files now, at most once a second and by one thread at a time, then try to
     * hand the job to a thread. */
    if (S.cfg.path != NULL && pthread_mutex_trylock(&S.reload_lock) == 0) {
        time_t now = time(NULL);
        if (now != S.last_inline_check) {
            S.last_inline_check = now;
            reload_once_locked();
        }
        pthread_mutex_unlock(&S.reload_lock);
    }
    store_start_reloader();
}

static void init_once(void)
{
    struct stat root;
    if (stat("/", &root) == 0) {
        S.root_dev = root.st_dev;
        S.root_ino = root.st_ino;
    }
    log_open_syslog();
    log_set_ratelimit(50);
    log_configure(LOG_LEVEL_INFO, LOG_TARGET_SYSLOG);
    const char *path = config_path();
    if (config_load(path, &S.cfg) != 0)
        return; /* logged; nothing to staple, the host carries on */
    S.policy.verify = S.cfg.verify;
    S.policy.skew = S.cfg.skew;
    S.policy.serve_revoked = S.cfg.serve_revoked;
    if (!S.cfg.verify)
        log_warning("%s: verify is off: response signatures are not checked", path);

    pthread_mutex_lock(&S.reload_lock);
    for (size_t i = 0; i < S.cfg.entry_count; i++)
        add_entry_source(&S.cfg.entries[i]);
    if (S.cfg.response_dir != NULL) {
        struct stat st;
        S.response_dir = dir_get(S.cfg.response_dir);
        if (S.response_dir != NULL && S.response_dir->fd >= 0 &&
            fstat(S.response_dir->fd, &st) == 0 && (st.st_mode & S_IWOTH)) {
            log_error("%s: response_dir is world-writable, so any local user could choose what is "
                      "stapled; ignored (chmod o-w it)",
                      S.cfg.response_dir);
            S.response_dir = NULL;
        }
        scan_response_dir();
    }
    size_t loaded = 0;
    for (size_t i = 0; i < S.source_count; i++)
        loaded += source_refresh(S.sources[i], true);
    struct snapshot *snap = snapshot_build();
    if (snap != NULL) {
        prebind(snap, false);
        publish(snap);
    }
    pthread_mutex_unlock(&S.reload_lock);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    log_summary("%s: %zu response file(s) configured, %zu loaded", path, S.source_count, loaded);
}

void store_init(void)
{
    pthread_once(&S.once, init_once);
}
