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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->entry_count; i++)
        staple_entry_free(&cfg->entries[i]);
    free(cfg->entries);
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

/* parse_top - one top-level setting. */
static void parse_top(struct config *cfg, config_setting_t *s)
{
    const char *name = config_setting_name(s);

    if (name == NULL)
        return;
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
    config_t lc;
    struct stat st;
    int rc = -1;

    config_defaults(cfg);
    cfg->path = strdup(path);
    if (cfg->path == NULL)
        return -1;
    if (libconfig_bind() != 0)
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
