/*
 * sources.c - the response files of the configuration and of response_dir, and what entries
 * say of them (see sources.h): the initial load in steps, rereading what changed, keeping the
 * last good versions.
 *
 * Why keep old versions: a replacement that fails validation must not stop a good response
 * from being stapled until that response's own nextUpdate. Entries are indexed by the SHA-1
 * of their leaf's DER without decoding it, and issuer candidates go to the certificate pool;
 * PEM text repeated from entry to entry (the intermediate of every fullchain file, an `issuer`
 * file every entry names) is decoded once.
 */
#include "sources.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ocsp.h>

#include "files.h"
#include "log.h"
#include "ptrtable.h"
#include "validate.h"

#define RESPONSE_DIR_MAX 200000 /* files taken from response_dir */
#define TEXT_MEMO_MAX    256    /* distinct chain texts remembered while loading */
#define SWEEP_PER_PASS   500    /* files looked at once a second whatever their directory says */

struct dir_handle {
    char *path;
    int fd; /* opened before any chroot; -1 when it could not be opened */
    dev_t dev;
    ino_t ino;
    int pass_fd; /* dir_fd() as of the current pass */
    bool lost_logged;
    bool listed;           /* listed since it last changed, and it had been still */
    struct file_id seen;   /* the directory as of its last listing */
    struct ptrtable names; /* the sources of files in it, by name (a name may repeat) */
};

/* Issuer candidates already decoded from identical PEM text. */
struct text_memo {
    uint64_t hash;
    unsigned char *text;
    size_t len;
    struct pooled_cert **certs;
    size_t count;
};

static struct {
    const struct config *cfg;
    leaf_read_fn leaf_read;
    struct dir_handle **dirs;
    size_t dir_count;
    struct dir_handle *response_dir;
    struct source **sources;
    size_t source_count, source_cap;
    size_t dir_file_count; /* sources taken from response_dir */
    struct text_memo *memos[TEXT_MEMO_MAX];
    size_t memo_count;
    /* The initial load: entries read so far, then response_dir's files. */
    size_t next_entry, next_dir_source, loaded_count;
    bool dir_scanned, dir_limit_logged;
    unsigned pass;       /* passes after the initial load, counted */
    size_t sweep_cursor; /* the next source the sweep looks at */
    dev_t root_dev;      /* "/" when set up, to recognise a chroot */
    ino_t root_ino;
} SRC;

/* ---- small helpers ---------------------------------------------------------------------- */

/* fnv1a - FNV-1a over bytes, continuing from `h`. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

#define FNV_OFFSET 1469598103934665603ULL

/* content_hash - of a file's bytes or a message, to recognise one seen before; never 0, which
 * means "nothing reported". */
static uint64_t content_hash(const unsigned char *p, size_t len)
{
    return fnv1a(FNV_OFFSET, p, len) | 1;
}

/* serial_hash - of a certificate serial number (its sign and magnitude), to tell cheaply which
 * responses may be about a certificate. Equal serials give equal hashes; a collision only costs
 * a check that then fails. */
uint64_t serial_hash(const ASN1_INTEGER *serial)
{
    if (serial == NULL)
        return 0;
    unsigned char negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
    uint64_t h = fnv1a(FNV_OFFSET, &negative, 1);
    return fnv1a(h, ASN1_STRING_get0_data(serial), (size_t)ASN1_STRING_length(serial));
}

/* past - whether `deadline` (NULL: none) has passed. */
static bool past(const struct timespec *deadline)
{
    struct timespec now;
    if (deadline == NULL)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

void changes_add(struct changes *c, struct source *src)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct source **grown = realloc(c->list, cap * sizeof(struct source *));
        if (grown == NULL) {
            c->all = true; /* a binding must not go over with versions no longer listed */
            return;
        }
        c->list = grown;
        c->cap = cap;
    }
    c->list[c->count++] = src;
}

/* ---- versions ------------------------------------------------------------------------- */

void version_ref(struct version *v)
{
    if (v != NULL)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void version_unref(struct version *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    OPENSSL_free(v->der);
    free(v);
}

/* version_new - take ownership of `der` (OPENSSL_malloc'ed) and check that it parses. Returns
 * NULL (and the reason in *facts) when it is not a stapleable kind of response at all. */
static struct version *version_new(unsigned char *der, size_t len, struct response_facts *facts)
{
    OCSP_BASICRESP *basic = response_parse(der, len, facts);
    if (basic == NULL) {
        OPENSSL_free(der);
        return NULL;
    }
    int n = OCSP_resp_count(basic);
    struct version *v = calloc(1, sizeof(*v) + (size_t)(n > 0 ? n : 0) * sizeof(v->serials[0]));
    if (v == NULL) {
        OCSP_BASICRESP_free(basic);
        OPENSSL_free(der);
        snprintf(facts->reason, sizeof(facts->reason), "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *cid = (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic, i));
        ASN1_INTEGER *serial = NULL;
        if (cid != NULL && OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid))
            v->serials[v->serial_count++] = serial_hash(serial);
    }
    atomic_init(&v->refs, 1);
    atomic_flag_clear(&v->verdict_logged);
    v->der = der;
    v->len = len;
    response_first_times(basic, NULL, &v->next_update);
    OCSP_BASICRESP_free(basic);
    return v;
}

bool version_mentions(const struct version *v, uint64_t serial)
{
    for (size_t i = 0; i < v->serial_count; i++)
        if (v->serials[i] == serial)
            return true;
    return false;
}

/* ---- files and directories ------------------------------------------------------------ */

/* split_path - directory part and last component of `path` (which must not end in '/'). */
static int split_path(const char *path, char **dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash == NULL ? path : slash + 1;
    if (slash == NULL)
        *dir = strdup(".");
    else
        *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (*dir == NULL || (*base)[0] == '\0') {
        free(*dir);
        *dir = NULL; /* the caller frees it too, on every path */
        return -1;
    }
    return 0;
}

/* dir_get - the handle for directory `path`, opened once and shared. */
static struct dir_handle *dir_get(const char *path)
{
    for (size_t i = 0; i < SRC.dir_count; i++)
        if (strcmp(SRC.dirs[i]->path, path) == 0)
            return SRC.dirs[i];
    struct dir_handle **grown =
        realloc(SRC.dirs, (SRC.dir_count + 1) * sizeof(struct dir_handle *));
    struct dir_handle *d = calloc(1, sizeof(*d));
    if (grown != NULL)
        SRC.dirs = grown;
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
    SRC.dirs[SRC.dir_count++] = d;
    return d;
}

/* same_root - whether this process still sees the file system root it had at start-up (it
 * has not entered a chroot since): only then do paths mean what the configuration meant. */
static bool same_root(void)
{
    struct stat st;
    return stat("/", &st) == 0 && st.st_dev == SRC.root_dev && st.st_ino == SRC.root_ino;
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

/* sources_check_dirs - checked once per pass rather than once per file (three system calls). */
void sources_check_dirs(void)
{
    bool unrooted = !same_root();
    for (size_t i = 0; i < SRC.dir_count; i++)
        SRC.dirs[i]->pass_fd = dir_fd(SRC.dirs[i], unrooted);
}

static struct file_id file_id_of(const struct stat *st)
{
    struct file_id id = {st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim};
    return id;
}

static bool same_file(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* settled - whether a file modified at `mtime` can be taken as finished: more than a second ago
 * (time stamps are coarse, and a writer may still be at it). */
static bool settled(const struct timespec *mtime)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec - mtime->tv_sec > 1 ||
           (now.tv_sec - mtime->tv_sec == 1 && now.tv_nsec >= mtime->tv_nsec);
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

/* report_unreadable - one line for a file that cannot be read, once per distinct problem.
 * `missing`: it could not even be looked at (gone, no permission on its directory). */
static void report_unreadable(struct source *src, const char *why, bool missing,
                              const struct stat *st)
{
    char key[300];
    snprintf(key, sizeof(key), "%s|%llu|%o", why, st ? (unsigned long long)st->st_ino : 0ULL,
             st ? (unsigned)st->st_mode : 0U);
    uint64_t h = content_hash((const unsigned char *)key, strlen(key));
    if (h == src->problem_hash)
        return;
    src->problem_hash = h;
    if (missing)
        log_warning("%s: cannot be read: %s%s", src->path, why,
                    src->history[0] ? "; the last good response stays in use until its "
                                      "nextUpdate"
                                    : "; nothing to staple from it");
    else
        log_error("%s: cannot be read: %s%s", src->path, why,
                  src->history[0] ? "; the last good response stays in use" : "");
}

/* source_refresh - reread the file if it changed (always, the first time). Returns true when
 * a new version was added to the history. Caller holds reload_lock, after sources_check_dirs(). */
static bool source_refresh(struct source *src, bool initial)
{
    struct stat st;
    struct response_facts facts;
    char why[256];
    size_t len = 0;
    int dfd = src->dir->pass_fd;

    /* Missing files need no polling: they can only come back by a change of their directory,
     * which is listed then. Files modified within the last second are looked at again. */
    src->unsettled = false;
    if (dfd < 0) {
        report_unreadable(src, "its directory cannot be opened", true, NULL);
        src->have_seen = false;
        return false;
    }
    if (src->have_seen) {
        if (fstatat(dfd, src->name, &st, 0) != 0) {
            report_unreadable(src, strerror(errno), true, NULL);
            src->have_seen = false;
            return false;
        }
        struct file_id id = file_id_of(&st);
        if (same_file(&id, &src->seen))
            return false;
    }
    memset(&st, 0, sizeof(st));
    unsigned char *der = regular_file_read(dfd, src->name, "an OCSP response", RESPONSE_MAX_BYTES,
                                           &len, &st, why, sizeof(why));
    if (der == NULL) {
        bool missing = st.st_mode == 0; /* not even its status could be read */
        report_unreadable(src, why, missing, missing ? NULL : &st);
        src->seen = file_id_of(&st);
        src->have_seen = !missing && settled(&st.st_mtim);
        src->unsettled = !missing && !src->have_seen;
        return false;
    }
    src->problem_hash = 0;
    src->seen = file_id_of(&st);
    src->have_seen = settled(&st.st_mtim);
    src->unsettled = !src->have_seen;
    if (src->history[0] != NULL && src->history[0]->len == len &&
        memcmp(src->history[0]->der, der, len) == 0) {
        OPENSSL_free(der); /* touched, same bytes */
        return false;
    }
    uint64_t hash = content_hash(der, len);
    struct version *v = version_new(der, len, &facts);
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

static size_t name_hash(const char *name)
{
    return (size_t)content_hash((const unsigned char *)name, strlen(name));
}

static size_t source_name_hash(const void *item)
{
    return name_hash(((const struct source *)item)->name);
}

/* source_new - a source for the file `path` (kept as given: it must live as long as the
 * process), whose name in `dir` starts at name_offset; not listed anywhere yet. */
static struct source *source_new(const char *path, struct dir_handle *dir, size_t name_offset)
{
    struct source *src = calloc(1, sizeof(*src));
    if (src == NULL)
        return NULL;
    src->path = path;
    src->name = src->path + name_offset;
    src->dir = dir;
    return src;
}

/* source_add - list `src` among the sources and in its directory's name table. Returns false
 * (nothing listed; the caller frees it) when out of memory. */
static bool source_add(struct source *src)
{
    struct dir_handle *dir = src->dir;
    if (SRC.source_count == SRC.source_cap) {
        size_t cap = SRC.source_cap ? SRC.source_cap * 2 : 16;
        struct source **grown = realloc(SRC.sources, cap * sizeof(struct source *));
        if (grown == NULL)
            return false;
        SRC.sources = grown;
        SRC.source_cap = cap;
    }
    if (!ptrtable_reserve(&dir->names, source_name_hash))
        return false;
    ptrtable_put(&dir->names, src, name_hash(src->name));
    SRC.sources[SRC.source_count++] = src;
    return true;
}

static void source_free(struct source *src)
{
    if (src != NULL) {
        free(src->issuers);
        free(src);
    }
}

/* What entry_index_certs's callbacks work on: the source being made, and the text whose
 * certificates are being decoded (remembered once complete). */
struct indexing {
    struct source *src;
    struct text_memo *filling;
};

static bool source_add_issuer(struct source *src, struct pooled_cert *c)
{
    struct pooled_cert **grown =
        realloc(src->issuers, (src->issuer_count + 1) * sizeof(struct pooled_cert *));
    if (grown == NULL)
        return false;
    src->issuers = grown;
    src->issuers[src->issuer_count++] = c;
    return true;
}

static void memo_free(struct text_memo *m)
{
    if (m != NULL) {
        free(m->text);
        free(m->certs);
        free(m);
    }
}

/* memo_commit - the text decoded last is complete: remember it (if there is room). */
static void memo_commit(struct indexing *ix)
{
    if (ix->filling != NULL && SRC.memo_count < TEXT_MEMO_MAX)
        SRC.memos[SRC.memo_count++] = ix->filling;
    else
        memo_free(ix->filling);
    ix->filling = NULL;
}

/* known_chain_text - entry_index_certs's callback: the certificates of identical text, when
 * some earlier entry had it; else start remembering what this text holds. */
static bool known_chain_text(const unsigned char *text, size_t len, void *arg)
{
    struct indexing *ix = arg;
    memo_commit(ix);
    if (len == 0)
        return true; /* nothing after the leaf */
    uint64_t h = content_hash(text, len);
    for (size_t i = 0; i < SRC.memo_count; i++) {
        const struct text_memo *m = SRC.memos[i];
        if (m->hash != h || m->len != len || memcmp(m->text, text, len) != 0)
            continue;
        for (size_t k = 0; k < m->count; k++)
            if (!source_add_issuer(ix->src, m->certs[k]))
                return false; /* decoded again; fails there the same way if memory is short */
        return true;
    }
    if (SRC.memo_count < TEXT_MEMO_MAX && (ix->filling = calloc(1, sizeof(*ix->filling))) != NULL) {
        if ((ix->filling->text = malloc(len)) == NULL) {
            memo_free(ix->filling);
            ix->filling = NULL;
            return false;
        }
        memcpy(ix->filling->text, text, len);
        ix->filling->len = len;
        ix->filling->hash = h;
    }
    return false;
}

/* keep_cert - entry_index_certs's callback: an issuer candidate goes to the pool and onto the
 * source's list; the leaf to whoever wants it (sources_setup). */
static int keep_cert(const unsigned char *der, size_t len, const char *file, bool leaf, void *arg)
{
    struct indexing *ix = arg;
    if (leaf) {
        if (SRC.leaf_read != NULL)
            SRC.leaf_read(ix->src->leaf_fp, der, len);
        return 0;
    }
    struct pooled_cert *c = certpool_add(der, len, file);
    if (c == NULL || !source_add_issuer(ix->src, c))
        return -1;
    struct text_memo *m = ix->filling;
    struct pooled_cert **grown =
        m ? realloc(m->certs, (m->count + 1) * sizeof(struct pooled_cert *)) : NULL;
    if (m != NULL && grown == NULL) {
        memo_free(m); /* not remembered, then */
        ix->filling = NULL;
    } else if (m != NULL) {
        m->certs = grown;
        m->certs[m->count++] = c;
    }
    return 0;
}

static const struct entry_cert_ops index_ops = {keep_cert, known_chain_text};

/* add_entry_source - one `staples` entry: its source, its certificates indexed. NULL when the
 * entry is unusable (logged). */
static struct source *add_entry_source(const struct staple_entry *e)
{
    char *dirpath = NULL;
    const char *base = NULL;
    struct source *src = NULL;

    if (split_path(e->response, &dirpath, &base) != 0) {
        log_error("%s:%d: response %s: not a file name", SRC.cfg->path, e->line, e->response);
        goto skip;
    }
    struct dir_handle *dir = dir_get(dirpath);
    if (dir == NULL || (src = source_new(e->response, dir, (size_t)(base - e->response))) == NULL)
        goto skip;
    src->entry = e;
    /* Listed only once its certificates are in: a skipped entry leaves nothing behind. */
    struct indexing ix = {src, NULL};
    int rc = entry_index_certs(SRC.cfg->path, e, &src->has_leaf, src->leaf_fp, &index_ops, &ix);
    if (rc == 0)
        memo_commit(&ix);
    else
        memo_free(ix.filling);
    if (rc != 0 || !source_add(src)) {
        source_free(src); /* logged by entry_index_certs, or out of memory */
        src = NULL;
        goto skip;
    }
    free(dirpath);
    return src;
skip:
    log_error("%s:%d: staples entry for %s skipped: nothing will be stapled for it", SRC.cfg->path,
              e->line, e->response);
    free(dirpath);
    return NULL;
}

/* refresh_now - reread the file of `src` if it changed, once per pass; a new version goes to
 * *changed (may be NULL during the initial load, whose loop reads new sources itself). */
static void refresh_now(struct source *src, unsigned pass, struct changes *changed, bool initial)
{
    if (src->pass == pass)
        return;
    src->pass = pass;
    if (source_refresh(src, initial) && changed != NULL)
        changes_add(changed, src);
}

/* add_dir_file - a source for response_dir's file `name`, unless there are too many. */
static struct source *add_dir_file(struct dir_handle *d, const char *name)
{
    char path[PATH_MAX];
    if (SRC.dir_file_count >= RESPONSE_DIR_MAX) {
        if (!SRC.dir_limit_logged)
            log_error("%s: more than %d files; the rest are ignored", d->path, RESPONSE_DIR_MAX);
        SRC.dir_limit_logged = true;
        return NULL;
    }
    int n = snprintf(path, sizeof(path), "%s/%s", d->path, name);
    char *kept = n > 0 && (size_t)n < sizeof(path) ? strdup(path) : NULL;
    struct source *src = kept ? source_new(kept, d, strlen(d->path) + 1) : NULL;
    if (src == NULL || !source_add(src)) {
        source_free(src);
        free(kept);
        return NULL;
    }
    SRC.dir_file_count++;
    return src;
}

/* list_dir - the directory changed (or was never listed): list it. A *.der file of
 * response_dir not seen before becomes a source. Unless `initial` (the first listing of
 * response_dir, whose files the initial load then reads), the sources whose name now stands
 * for another file (a rename over it), that are gone, or that were never read, are refreshed
 * now: so a replacement is seen within a pass without a stat of every file. Caller holds
 * reload_lock, after sources_check_dirs(). */
static void list_dir(struct dir_handle *d, unsigned pass, struct changes *changed, bool initial)
{
    int fd = d->pass_fd >= 0 ? openat(d->pass_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
    if (dh == NULL) {
        if (fd >= 0)
            close(fd);
        d->listed = false;
        return;
    }
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        bool known = false;
        const struct ptrtable *t = &d->names;
        for (size_t i = name_hash(de->d_name) & t->mask; t->slots != NULL && t->slots[i] != NULL;
             i = (i + 1) & t->mask) {
            struct source *src = t->slots[i];
            if (strcmp(src->name, de->d_name) != 0)
                continue;
            known |= src->entry == NULL;
            src->listed = pass;
            if (!initial && (!src->have_seen || src->seen.ino != de->d_ino))
                refresh_now(src, pass, changed, false);
        }
        if (known || d != SRC.response_dir || !is_response_file_name(de->d_name))
            continue;
        struct source *src = add_dir_file(d, de->d_name);
        if (src != NULL) {
            src->listed = pass;
            if (!initial)
                refresh_now(src, pass, changed, true);
        }
    }
    closedir(dh);
    for (size_t i = 0; !initial && d->names.slots != NULL && i <= d->names.mask; i++) {
        struct source *src = d->names.slots[i];
        if (src != NULL && src->listed != pass)
            refresh_now(src, pass, changed, false); /* gone: reported */
    }
}

/* ---- the interface ----------------------------------------------------------------------- */

void sources_setup(const struct config *cfg, leaf_read_fn leaf_read)
{
    struct stat st;
    SRC.cfg = cfg;
    SRC.leaf_read = leaf_read;
    if (stat("/", &st) == 0) {
        SRC.root_dev = st.st_dev;
        SRC.root_ino = st.st_ino;
    }
    if (cfg->response_dir == NULL)
        return;
    SRC.response_dir = dir_get(cfg->response_dir);
    if (SRC.response_dir != NULL && SRC.response_dir->fd >= 0 &&
        fstat(SRC.response_dir->fd, &st) == 0 && (st.st_mode & S_IWOTH)) {
        log_error("%s: response_dir is world-writable, so any local user could choose what is "
                  "stapled; ignored (chmod o-w it)",
                  cfg->response_dir);
        SRC.response_dir = NULL;
    }
}

bool sources_load_more(const struct timespec *deadline, struct changes *changed)
{
    while (SRC.next_entry < SRC.cfg->entry_count) {
        if (past(deadline))
            return false;
        struct source *src = add_entry_source(&SRC.cfg->entries[SRC.next_entry++]);
        if (src == NULL)
            continue;
        SRC.loaded_count += source_refresh(src, true);
        changes_add(changed, src);
    }
    if (!SRC.dir_scanned) {
        SRC.next_dir_source = SRC.source_count; /* response_dir's files come after the entries */
        SRC.dir_scanned = true;
        if (SRC.response_dir != NULL)
            list_dir(SRC.response_dir, 0, NULL, true);
    }
    while (SRC.next_dir_source < SRC.source_count) {
        if (past(deadline))
            return false;
        struct source *src = SRC.sources[SRC.next_dir_source++];
        SRC.loaded_count += source_refresh(src, true);
        changes_add(changed, src);
    }
    return true;
}

void sources_refresh(struct changes *changed)
{
    unsigned pass = ++SRC.pass;
    if (pass == 0)
        pass = ++SRC.pass; /* 0 is the listing of the initial load */
    /* A directory that changed is listed: a file renamed over a source's (the way fetchers
     * replace them) shows as another inode under its name. */
    for (size_t k = 0; k < SRC.dir_count; k++) {
        struct dir_handle *d = SRC.dirs[k];
        struct stat st;
        if (d->pass_fd < 0 || fstat(d->pass_fd, &st) != 0) {
            for (size_t i = 0; d->names.slots != NULL && i <= d->names.mask; i++)
                if (d->names.slots[i] != NULL)
                    refresh_now(d->names.slots[i], pass, changed, false); /* reported */
            continue;
        }
        struct file_id id = file_id_of(&st);
        if (d->listed && same_file(&id, &d->seen))
            continue;
        /* A change within the time stamp tick of this listing would go unseen: list again
         * until the directory has been still for a second. */
        d->seen = id;
        d->listed = settled(&st.st_mtim) && settled(&st.st_ctim);
        list_dir(d, pass, changed, false);
    }
    /* Files written in place keep their inode and leave the directory alone: files still
     * being written are looked at every pass, the others SWEEP_PER_PASS at a time (all of them
     * every pass, up to that many files). */
    for (size_t i = 0; i < SRC.source_count; i++)
        if (SRC.sources[i]->unsettled)
            refresh_now(SRC.sources[i], pass, changed, false);
    size_t sweep = SRC.source_count < SWEEP_PER_PASS ? SRC.source_count : SWEEP_PER_PASS;
    for (size_t k = 0; k < sweep; k++) {
        if (SRC.sweep_cursor >= SRC.source_count)
            SRC.sweep_cursor = 0;
        refresh_now(SRC.sources[SRC.sweep_cursor++], pass, changed, false);
    }
}

void sources_log_expiries(void)
{
    time_t now = time(NULL);
    char when[32];
    for (size_t i = 0; i < SRC.source_count; i++)
        for (int h = 0; h < HISTORY; h++) {
            struct version *v = SRC.sources[i]->history[h];
            if (v == NULL || v->expiry_logged || !atomic_load(&v->usable) || v->next_update == 0 ||
                now < v->next_update)
                continue;
            format_utc(v->next_update, when, sizeof(when));
            log_warning("%s: the response in use expired at %s: no longer stapled; fetch a "
                        "fresh one (ocspstaple fetch)",
                        SRC.sources[i]->path, when);
            v->expiry_logged = true;
        }
}

size_t sources_count(void)
{
    return SRC.source_count;
}

struct source *sources_at(size_t i)
{
    return i < SRC.source_count ? SRC.sources[i] : NULL;
}

size_t sources_loaded(void)
{
    return SRC.loaded_count;
}
