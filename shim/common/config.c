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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_entry.h"
#include "config_setting.h"
#include "libconfig_api.h"

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

void config_drop_entries(struct config *cfg)
{
    for (size_t i = 0; i < cfg->entry_count; i++)
        staple_entry_free(&cfg->entries[i]);
    free(cfg->entries);
    cfg->entries = NULL;
    cfg->entry_count = 0;
}

void config_free(struct config *cfg)
{
    config_drop_entries(cfg);
    free(cfg->response_dir);
    free(cfg->path);
    config_defaults(cfg);
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

/* parse_seconds - an integer setting (seconds, or a count) within [min, max] into *out; else
 * logged, *out unchanged. */
static void parse_seconds(struct config *cfg, const config_setting_t *s, const char *name,
                          long long min, long long max, const char *range, long *out)
{
    if (!config_want_type(cfg, s, name, CONFIG_TYPE_INT))
        return;
    long long v = config_setting_type(s) == CONFIG_TYPE_INT ? libconfig.setting_get_int(s)
                                                            : libconfig.setting_get_int64(s);
    if (v < min || v > max)
        config_problem(cfg, s, name, range);
    else
        *out = (long)v;
}

/* The top-level settings a problem can be recorded for (config_setting_bad), by bit. */
static const char *const tracked_settings[] = {"log_level", "log_target",    "verify",
                                               "skew",      "serve_revoked", "response_dir"};

/* setting_bit - the bit of tracked setting `name`, or 0. */
static unsigned setting_bit(const char *name)
{
    for (size_t i = 0; i < sizeof(tracked_settings) / sizeof(tracked_settings[0]); i++)
        if (strcmp(name, tracked_settings[i]) == 0)
            return 1U << i;
    return 0;
}

bool config_setting_bad(const struct config *cfg, const char *name)
{
    return (cfg->bad_settings & setting_bit(name)) != 0;
}

static void parse_top_setting(struct config *cfg, config_setting_t *s, const char *name);

/* parse_top - one top-level setting; a problem with it is recorded (config_setting_bad). */
static void parse_top(struct config *cfg, config_setting_t *s)
{
    const char *name = config_setting_name(s);
    unsigned before = cfg->problems;

    if (name == NULL)
        return;
    parse_top_setting(cfg, s, name);
    if (cfg->problems != before && strcmp(name, "staples") != 0)
        cfg->bad_settings |= setting_bit(name);
}

/* parse_top_setting - one top-level setting `name`. */
static void parse_top_setting(struct config *cfg, config_setting_t *s, const char *name)
{
    if (strcmp(name, "log_level") == 0) {
        if (config_want_type(cfg, s, name, CONFIG_TYPE_STRING) &&
            !parse_level(libconfig.setting_get_string(s), &cfg->log_level))
            config_problem(cfg, s, name, "must be \"error\", \"warning\", \"info\" or \"debug\"");
    } else if (strcmp(name, "log_target") == 0) {
        if (config_want_type(cfg, s, name, CONFIG_TYPE_STRING)) {
            const char *v = libconfig.setting_get_string(s);
            if (strcmp(v, "syslog") == 0)
                cfg->log_target = LOG_TARGET_SYSLOG;
            else if (strcmp(v, "stderr") == 0)
                cfg->log_target = LOG_TARGET_STDERR;
            else
                config_problem(cfg, s, name, "must be \"syslog\" or \"stderr\"");
        }
    } else if (strcmp(name, "verify") == 0) {
        if (config_want_type(cfg, s, name, CONFIG_TYPE_BOOL))
            cfg->verify = libconfig.setting_get_bool(s) != 0;
    } else if (strcmp(name, "serve_revoked") == 0) {
        if (config_want_type(cfg, s, name, CONFIG_TYPE_BOOL))
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
        if (config_want_type(cfg, s, name, CONFIG_TYPE_STRING))
            cfg->response_dir = config_dup_path(cfg, s, name);
    } else if (strcmp(name, "staples") == 0) {
        config_parse_staples(cfg, s);
    } else {
        config_problem(
            cfg, s, name,
            "unknown setting (known: log_level, log_target, verify, skew, serve_revoked, "
            "response_dir, fetch_timeout, staples); ignored");
    }
}

int config_load(const char *path, struct config *cfg)
{
    return config_load_at(path, AT_FDCWD, path, "no stapling", cfg);
}

/* read_config_at - libconfig's parse of `name` in `dirfd` into lc, opened without following a
 * FIFO or a device. CONFIG_TRUE or CONFIG_FALSE (errno or lc's error says why). */
static int read_config_at(config_t *lc, int dirfd, const char *name)
{
    if (dirfd == AT_FDCWD)
        return libconfig.read_file(lc, name);
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        errno = saved;
        lc->error_type = CONFIG_ERR_FILE_IO;
        return CONFIG_FALSE;
    }
    int rc = libconfig.read(lc, f);
    fclose(f);
    return rc;
}

int config_load_at(const char *path, int dirfd, const char *name, const char *failure,
                   struct config *cfg)
{
    config_t lc;
    struct stat st;
    int rc = -1;

    config_defaults(cfg);
    cfg->path = strdup(path);
    if (cfg->path == NULL)
        return -1;
    if (libconfig_bind() != 0)
        return -1;
    if (fstatat(dirfd, name, &st, 0) != 0) {
        log_error("%s: cannot read the configuration: %s; %s", path, strerror(errno), failure);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        log_error("%s: the configuration is not a regular file; %s", path, failure);
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        log_error("%s: the configuration is world-writable, so any local user could choose what "
                  "is stapled; ignored, %s (chmod o-w it)",
                  path, failure);
        return -1;
    }
    libconfig.init(&lc);
    errno = 0;
    if (read_config_at(&lc, dirfd, name) != CONFIG_TRUE) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            log_error("%s: cannot read the configuration: %s; %s", path,
                      strerror(errno ? errno : EIO), failure);
        else
            log_error("%s:%d: syntax error in the configuration: %s; %s",
                      config_error_file(&lc) ? config_error_file(&lc) : path,
                      config_error_line(&lc), config_error_text(&lc), failure);
        goto out;
    }
    config_setting_t *root = config_root_setting(&lc);
    /* Logging settings first, so that what follows goes where the operator asked. */
    for (int pass = 0; pass < 2; pass++) {
        int n = libconfig.setting_length(root);
        for (int i = 0; i < n; i++) {
            config_setting_t *s = libconfig.setting_get_elem(root, (unsigned)i);
            const char *setting = config_setting_name(s);
            int is_log = setting && strncmp(setting, "log_", 4) == 0;
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
