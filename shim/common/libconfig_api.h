/*
 * libconfig_api.h - libconfig's functions, reached through one table (`libconfig`).
 *
 * In the shim they come from a private dlopen() of libconfig with RTLD_DEEPBIND, so that
 * libconfig's calls among its own functions cannot bind to a host's symbol of the same name
 * (lighttpd exports config_init), while the rest of the core stays an ordinary object (time()
 * and malloc() interposers such as libfaketime or jemalloc keep working). The command links
 * libconfig directly. libconfig's accessor macros (config_setting_type, _name, _source_line,
 * config_root_setting, config_error_*) read its structs and need no table entry.
 */
#ifndef OCSPSTAPLE_LIBCONFIG_API_H
#define OCSPSTAPLE_LIBCONFIG_API_H

#include <stdio.h>

#include <libconfig.h>

struct libconfig_api {
    int (*read_file)(config_t *, const char *);
    int (*read)(config_t *, FILE *);
    void (*init)(config_t *);
    void (*destroy)(config_t *);
    long long (*setting_get_int64)(const config_setting_t *);
    int (*setting_get_int)(const config_setting_t *);
    int (*setting_get_bool)(const config_setting_t *);
    const char *(*setting_get_string)(const config_setting_t *);
    int (*setting_length)(const config_setting_t *);
    config_setting_t *(*setting_get_elem)(const config_setting_t *, unsigned int);
};

/* libconfig - the table; filled by libconfig_bind(). */
extern struct libconfig_api libconfig;

/* libconfig_bind - fill the table, once (later calls return at once). Returns 0, or -1 when
 * libconfig cannot be loaded (logged: no stapling). Not thread-safe with itself. */
int libconfig_bind(void);

#endif
