/*
 * config_entry.c - the `staples` list: one group per entry, every setting checked; a problem
 * inside a group drops the whole group, because stapling with half of an entry's intent would
 * be surprising (see config_entry.h).
 */
#include "config_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_pattern.h"
#include "config_setting.h"
#include "libconfig_api.h"
#include "log.h"

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
        config_problem(cfg, s, "sni",
                       "must be an array of names, for example [ \"mail.example.net\" ]");
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
        return config_want_type(cfg, s, "sni", CONFIG_TYPE_ARRAY);
    int n = libconfig.setting_length(s);
    if (n <= 0) {
        config_problem(cfg, s, "sni", "is empty: give at least one name or leave the setting out");
        return 0;
    }
    e->sni = calloc((size_t)n, sizeof(char *));
    if (e->sni == NULL)
        return 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *item = libconfig.setting_get_elem(s, (unsigned)i);
        const char *v = libconfig.setting_get_string(item);
        if (v == NULL || !valid_sni_pattern(v)) {
            config_problem(cfg, item, "sni", "each name must be a host name or *.domain");
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

/* member - the setting of `group` named `name`, or NULL. */
static config_setting_t *member(config_setting_t *group, const char *name)
{
    int n = libconfig.setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = libconfig.setting_get_elem(group, (unsigned)i);
        if (config_setting_name(s) != NULL && strcmp(config_setting_name(s), name) == 0)
            return s;
    }
    return NULL;
}

/* parse_entry - one group of `staples`; 1 when usable, 0 when it must be dropped. */
static int parse_entry(struct config *cfg, config_setting_t *group, struct staple_entry *e)
{
    int ok = 1;

    memset(e, 0, sizeof(*e));
    e->line = (int)config_setting_source_line(group);
    if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
        config_want_type(cfg, group, "staples", CONFIG_TYPE_GROUP);
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
            if (!config_want_type(cfg, s, name, CONFIG_TYPE_STRING) ||
                !(*slot = config_dup_path(cfg, s, name)))
                ok = 0;
        } else if (strcmp(name, "sni") == 0) {
            if (!parse_sni(cfg, s, e))
                ok = 0;
        } else {
            config_problem(
                cfg, s, name,
                "unknown setting in a staples entry (known: response, certificate, issuer, "
                "sni, responder)");
            ok = 0;
        }
    }
    if (ok && e->response == NULL) {
        config_problem(cfg, group, "response",
                       "missing: every staples entry needs a response file");
        ok = 0;
    }
    if (ok && e->responder != NULL && strncmp(e->responder, "http://", 7) != 0) {
        config_problem(cfg, group, "responder", "must be an http:// URL");
        ok = 0;
    }
    if (ok) {
        const char *setting, *why = cert_pattern_entry_problem(e, &setting);
        if (why != NULL) {
            config_setting_t *at = member(group, setting);
            config_problem(cfg, at != NULL ? at : group, setting, why);
            ok = 0;
        }
        e->is_pattern = cert_pattern_is_pattern(e->certificate);
    }
    if (!ok) {
        log_error("%s:%d: staples entry skipped: nothing will be stapled for it", cfg->path,
                  e->line);
        staple_entry_free(e);
    }
    return ok;
}

void config_parse_staples(struct config *cfg, config_setting_t *list)
{
    if (config_setting_type(list) != CONFIG_TYPE_LIST &&
        config_setting_type(list) != CONFIG_TYPE_ARRAY) {
        config_want_type(cfg, list, "staples", CONFIG_TYPE_LIST);
        return;
    }
    int n = libconfig.setting_length(list);
    if (n <= 0)
        return;
    cfg->entries = calloc((size_t)n, sizeof(struct staple_entry));
    if (cfg->entries == NULL) {
        config_problem(cfg, list, "staples", "out of memory");
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
