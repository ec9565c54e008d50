/*
 * config_setting.c - checking one setting of the configuration: its type, a path string, and
 * the problem logged with file, line and setting when it is wrong (see config_setting.h).
 */
#include "config_setting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libconfig_api.h"
#include "log.h"

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

/* config_problem - log one configuration problem at error level, naming file, line and setting. */
void config_problem(struct config *cfg, const config_setting_t *s, const char *what,
                    const char *reason)
{
    cfg->problems++;
    log_error("%s:%u: setting '%s': %s", cfg->path, s ? config_setting_source_line(s) : 0, what,
              reason);
}

int config_want_type(struct config *cfg, const config_setting_t *s, const char *what, int type)
{
    int actual = config_setting_type(s);
    if (actual == type || (type == CONFIG_TYPE_INT && actual == CONFIG_TYPE_INT64))
        return 1;
    char reason[128];
    snprintf(reason, sizeof(reason), "must be %s, not %s; ignored", type_name(type),
             type_name(actual));
    config_problem(cfg, s, what, reason);
    return 0;
}

/* config_dup_path - copy a non-empty string setting; NULL (logged) for an empty string or when it
 * is too long to be a path. */
char *config_dup_path(struct config *cfg, const config_setting_t *s, const char *what)
{
    const char *v = libconfig.setting_get_string(s);
    if (v == NULL || v[0] == '\0') {
        config_problem(cfg, s, what, "must not be empty; ignored");
        return NULL;
    }
    if (strlen(v) >= 4096) {
        config_problem(cfg, s, what, "is longer than a path can be; ignored");
        return NULL;
    }
    char *copy = strdup(v);
    if (copy == NULL)
        config_problem(cfg, s, what, "out of memory");
    return copy;
}
