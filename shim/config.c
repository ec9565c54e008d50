/*
 * config.c - read ocspstaple.conf with libconfig and check every setting.
 *
 * Unknown settings and wrong types are reported with file and line rather than silently
 * ignored: a typo in `sni` or `issuer` must not go unnoticed. A top-level problem drops that
 * one setting (its default stays); a problem inside a `staples` group drops the whole group,
 * because stapling with half of an entry's intent would be surprising.
 */
#include "config.h"

#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/*
 * libconfig's functions, reached through this table. In the shim they come from a private
 * dlopen() of libconfig with RTLD_DEEPBIND, so that libconfig's calls among its own functions
 * cannot bind to a host's symbol of the same name (lighttpd exports config_init), while the
 * rest of the core stays an ordinary object (time() and malloc() interposers such as
 * libfaketime or jemalloc keep working). The command links libconfig directly.
 */
static struct {
    int (*read_file)(config_t *, const char *);
    void (*init)(config_t *);
    void (*destroy)(config_t *);
    long long (*setting_get_int64)(const config_setting_t *);
    int (*setting_get_int)(const config_setting_t *);
    int (*setting_get_bool)(const config_setting_t *);
    const char *(*setting_get_string)(const config_setting_t *);
    int (*setting_length)(const config_setting_t *);
    config_setting_t *(*setting_get_elem)(const config_setting_t *, unsigned int);
} libconfig;

#ifdef OCSPSTAPLE_LIBCONFIG_SONAME
#include <dlfcn.h>

static int bind_libconfig(void)
{
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifndef OCSPSTAPLE_NO_DEEPBIND
    flags |= RTLD_DEEPBIND;
#endif
    void *h = dlopen(OCSPSTAPLE_LIBCONFIG_SONAME, flags);
    if (h == NULL) {
        log_error("cannot load %s: %s; no stapling", OCSPSTAPLE_LIBCONFIG_SONAME, dlerror());
        return -1;
    }
#define BIND(field, name)                                                                          \
    if ((*(void **)&libconfig.field = dlsym(h, name)) == NULL) {                                   \
        log_error("%s lacks %s; no stapling", OCSPSTAPLE_LIBCONFIG_SONAME, name);                  \
        return -1;                                                                                 \
    }
    BIND(read_file, "config_read_file")
    BIND(init, "config_init")
    BIND(destroy, "config_destroy")
    BIND(setting_get_int64, "config_setting_get_int64")
    BIND(setting_get_int, "config_setting_get_int")
    BIND(setting_get_bool, "config_setting_get_bool")
    BIND(setting_get_string, "config_setting_get_string")
    BIND(setting_length, "config_setting_length")
    BIND(setting_get_elem, "config_setting_get_elem")
#undef BIND
    return 0;
}
#else
static int bind_libconfig(void)
{
    libconfig.read_file = config_read_file;
    libconfig.init = config_init;
    libconfig.destroy = config_destroy;
    libconfig.setting_get_int64 = config_setting_get_int64;
    libconfig.setting_get_int = config_setting_get_int;
    libconfig.setting_get_bool = config_setting_get_bool;
    libconfig.setting_get_string = config_setting_get_string;
    libconfig.setting_length = config_setting_length;
    libconfig.setting_get_elem = config_setting_get_elem;
    return 0;
}
#endif

const char *config_path(void)
{
    const char *env = secure_getenv("OCSPSTAPLE_CONF");
    return env != NULL && env[0] != '\0' ? env : OCSPSTAPLE_DEFAULT_CONF;
}

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->log_target = LOG_TARGET_SYSLOG;
    cfg->verify = true;
    cfg->skew = 300;
    cfg->serve_revoked = false;
    cfg->fetch_timeout = 10;
    cfg->fetch_concurrency = 16;
    cfg->fetch_per_responder = 4;
}

static void free_entry(struct staple_entry *e)
{
    free(e->response);
    free(e->certificate);
    free(e->issuer);
    free(e->responder);
    for (size_t i = 0; i < e->sni_count; i++)
        free(e->sni[i]);
    free(e->sni);
    memset(e, 0, sizeof(*e));
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->entry_count; i++)
        free_entry(&cfg->entries[i]);
    free(cfg->entries);
    free(cfg->response_dir);
    free(cfg->path);
    config_defaults(cfg);
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "a value";
    }
}

/* problem - log one configuration problem at error level, naming file, line and setting. */
static void problem(struct config *cfg, const config_setting_t *s, const char *what,
                    const char *reason)
{
    cfg->problems++;
    log_error("%s:%u: setting '%s': %s", cfg->path, s ? config_setting_source_line(s) : 0, what,
              reason);
}

static int want_type(struct config *cfg, const config_setting_t *s, const char *what, int type)
{
    int actual = config_setting_type(s);
    if (actual == type || (type == CONFIG_TYPE_INT && actual == CONFIG_TYPE_INT64))
        return 1;
    char reason[128];
    snprintf(reason, sizeof(reason), "must be %s, not %s; ignored", type_name(type),
             type_name(actual));
    problem(cfg, s, what, reason);
    return 0;
}

/* dup_path - copy a non-empty string setting; NULL (logged) for an empty string or when it is
 * too long to be a path. */
static char *dup_path(struct config *cfg, const config_setting_t *s, const char *what)
{
    const char *v = libconfig.setting_get_string(s);
    if (v == NULL || v[0] == '\0') {
        problem(cfg, s, what, "must not be empty; ignored");
        return NULL;
    }
    if (strlen(v) >= 4096) {
        problem(cfg, s, what, "is longer than a path can be; ignored");
        return NULL;
    }
    char *copy = strdup(v);
    if (copy == NULL)
        problem(cfg, s, what, "out of memory");
    return copy;
}

static int parse_level(const char *v, enum log_level *out)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = (enum log_level)i;
            return 1;
        }
    return 0;
}

/* valid_sni_pattern - a host name, or "*." followed by a host name; letters, digits, '-', '.',
 * '_' only, at most 253 characters. */
static int valid_sni_pattern(const char *p)
{
    size_t len = strlen(p);
    if (len == 0 || len > 253)
        return 0;
    if (p[0] == '*') {
        if (p[1] != '.' || p[2] == '\0')
            return 0;
        p += 2;
    }
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

static int parse_sni(struct config *cfg, config_setting_t *s, struct staple_entry *e)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        problem(cfg, s, "sni", "must be an array of names, for example [ \"mail.example.net\" ]");
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return want_type(cfg, s, "sni", CONFIG_TYPE_ARRAY);
    int n = libconfig.setting_length(s);
    if (n <= 0) {
        problem(cfg, s, "sni", "is empty: give at least one name or leave the setting out");
        return 0;
    }
    e->sni = calloc((size_t)n, sizeof(char *));
    if (e->sni == NULL)
        return 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *item = libconfig.setting_get_elem(s, (unsigned)i);
        const char *v = libconfig.setting_get_string(item);
        if (v == NULL || !valid_sni_pattern(v)) {
            problem(cfg, item, "sni", "each name must be a host name or *.domain");
            return 0;
        }
        if ((e->sni[e->sni_count] = strdup(v)) == NULL)
            return 0;
        for (char *c = e->sni[e->sni_count]; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        e->sni_count++;
    }
    return 1;
}

/* parse_entry - one group of `staples`; 1 when usable, 0 when it must be dropped. */
static int parse_entry(struct config *cfg, config_setting_t *group, struct staple_entry *e)
{
    int ok = 1;

    memset(e, 0, sizeof(*e));
    e->line = (int)config_setting_source_line(group);
    if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
        want_type(cfg, group, "staples", CONFIG_TYPE_GROUP);
        log_error("%s:%d: staples entry skipped: nothing will be stapled for it", cfg->path,
                  e->line);
        return 0;
    }
    int n = libconfig.setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = libconfig.setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        char **slot = NULL;
        if (name == NULL)
            continue;
        if (strcmp(name, "response") == 0)
            slot = &e->response;
        else if (strcmp(name, "certificate") == 0)
            slot = &e->certificate;
        else if (strcmp(name, "issuer") == 0)
            slot = &e->issuer;
        else if (strcmp(name, "responder") == 0)
            slot = &e->responder;
        if (slot != NULL) {
            if (!want_type(cfg, s, name, CONFIG_TYPE_STRING) || !(*slot = dup_path(cfg, s, name)))
                ok = 0;
        } else if (strcmp(name, "sni") == 0) {
            if (!parse_sni(cfg, s, e))
                ok = 0;
        } else {
            problem(cfg, s, name,
                    "unknown setting in a staples entry (known: response, certificate, issuer, "
                    "sni, responder)");
            ok = 0;
        }
    }
    if (ok && e->response == NULL) {
        problem(cfg, group, "response", "missing: every staples entry needs a response file");
        ok = 0;
    }
    if (ok && e->responder != NULL && strncmp(e->responder, "http://", 7) != 0) {
        problem(cfg, group, "responder", "must be an http:// URL");
        ok = 0;
    }
    if (!ok) {
        log_error("%s:%d: staples entry skipped: nothing will be stapled for it", cfg->path,
                  e->line);
        free_entry(e);
    }
    return ok;
}

static void parse_staples(struct config *cfg, config_setting_t *list)
{
    if (config_setting_type(list) != CONFIG_TYPE_LIST &&
        config_setting_type(list) != CONFIG_TYPE_ARRAY) {
        want_type(cfg, list, "staples", CONFIG_TYPE_LIST);
        return;
    }
    int n = libconfig.setting_length(list);
    if (n <= 0)
        return;
    cfg->entries = calloc((size_t)n, sizeof(struct staple_entry));
    if (cfg->entries == NULL) {
        problem(cfg, list, "staples", "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        struct staple_entry *e = &cfg->entries[cfg->entry_count];
        if (parse_entry(cfg, libconfig.setting_get_elem(list, (unsigned)i), e))
            cfg->entry_count++;
        else
            cfg->skipped_entries++;
    }
}

/* parse_seconds - an integer setting (seconds, or a count) within [min, max] into *out; else
 * logged, *out unchanged. */
static void parse_seconds(struct config *cfg, const config_setting_t *s, const char *name,
                          long long min, long long max, const char *range, long *out)
{
    if (!want_type(cfg, s, name, CONFIG_TYPE_INT))
        return;
    long long v = config_setting_type(s) == CONFIG_TYPE_INT ? libconfig.setting_get_int(s)
                                                            : libconfig.setting_get_int64(s);
    if (v < min || v > max)
        problem(cfg, s, name, range);
    else
        *out = (long)v;
}

/* parse_top - one top-level setting. */
static void parse_top(struct config *cfg, config_setting_t *s)
{
    const char *name = config_setting_name(s);

    if (name == NULL)
        return;
    if (strcmp(name, "log_level") == 0) {
        if (want_type(cfg, s, name, CONFIG_TYPE_STRING) &&
            !parse_level(libconfig.setting_get_string(s), &cfg->log_level))
            problem(cfg, s, name, "must be \"error\", \"warning\", \"info\" or \"debug\"");
    } else if (strcmp(name, "log_target") == 0) {
        if (want_type(cfg, s, name, CONFIG_TYPE_STRING)) {
            const char *v = libconfig.setting_get_string(s);
            if (strcmp(v, "syslog") == 0)
                cfg->log_target = LOG_TARGET_SYSLOG;
            else if (strcmp(v, "stderr") == 0)
                cfg->log_target = LOG_TARGET_STDERR;
            else
                problem(cfg, s, name, "must be \"syslog\" or \"stderr\"");
        }
    } else if (strcmp(name, "verify") == 0) {
        if (want_type(cfg, s, name, CONFIG_TYPE_BOOL))
            cfg->verify = libconfig.setting_get_bool(s) != 0;
    } else if (strcmp(name, "serve_revoked") == 0) {
        if (want_type(cfg, s, name, CONFIG_TYPE_BOOL))
            cfg->serve_revoked = libconfig.setting_get_bool(s) != 0;
    } else if (strcmp(name, "skew") == 0) {
        parse_seconds(cfg, s, name, 0, 604800, "must be between 0 and 604800 seconds (7 days)",
                      &cfg->skew);
    } else if (strcmp(name, "fetch_timeout") == 0) {
        parse_seconds(cfg, s, name, 1, 600, "must be between 1 and 600 seconds",
                      &cfg->fetch_timeout);
    } else if (strcmp(name, "fetch_concurrency") == 0) {
        parse_seconds(cfg, s, name, 1, 256, "must be between 1 and 256", &cfg->fetch_concurrency);
    } else if (strcmp(name, "fetch_per_responder") == 0) {
        parse_seconds(cfg, s, name, 1, 64, "must be between 1 and 64", &cfg->fetch_per_responder);
    } else if (strcmp(name, "response_dir") == 0) {
        if (want_type(cfg, s, name, CONFIG_TYPE_STRING))
            cfg->response_dir = dup_path(cfg, s, name);
    } else if (strcmp(name, "staples") == 0) {
        parse_staples(cfg, s);
    } else {
        problem(cfg, s, name,
                "unknown setting (known: log_level, log_target, verify, skew, serve_revoked, "
                "response_dir, fetch_timeout, fetch_concurrency, fetch_per_responder, staples); "
                "ignored");
    }
}

int config_load(const char *path, struct config *cfg)
{
    config_t lc;
    struct stat st;
    int rc = -1;

    config_defaults(cfg);
    cfg->path = strdup(path);
    if (cfg->path == NULL)
        return -1;
    if (libconfig.init == NULL && bind_libconfig() != 0)
        return -1;
    if (stat(path, &st) != 0) {
        log_error("%s: cannot read the configuration: %s; no stapling", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        log_error("%s: the configuration is not a regular file; no stapling", path);
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        log_error("%s: the configuration is world-writable, so any local user could choose what "
                  "is stapled; ignored, no stapling (chmod o-w it)",
                  path);
        return -1;
    }
    libconfig.init(&lc);
    if (libconfig.read_file(&lc, path) != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            log_error("%s: cannot read the configuration: %s; no stapling", path,
                      strerror(errno ? errno : EIO));
        else
            log_error("%s:%d: syntax error in the configuration: %s; no stapling",
                      config_error_file(&lc) ? config_error_file(&lc) : path,
                      config_error_line(&lc), config_error_text(&lc));
        goto out;
    }
    config_setting_t *root = config_root_setting(&lc);
    /* Logging settings first, so that what follows goes where the operator asked. */
    for (int pass = 0; pass < 2; pass++) {
        int n = libconfig.setting_length(root);
        for (int i = 0; i < n; i++) {
            config_setting_t *s = libconfig.setting_get_elem(root, (unsigned)i);
            const char *name = config_setting_name(s);
            int is_log = name && strncmp(name, "log_", 4) == 0;
            if (is_log == (pass == 0))
                parse_top(cfg, s);
        }
        if (pass == 0)
            log_configure(cfg->log_level, cfg->log_target);
    }
    rc = 0;
out:
    libconfig.destroy(&lc);
    return rc;
}
