/*
 * libconfig_api.c - filling libconfig's table: deep-bound private copy in the shim, direct
 * link in the command (see libconfig_api.h).
 */
#include "libconfig_api.h"

#include "log.h"

struct libconfig_api libconfig;

#ifdef OCSPSTAPLE_LIBCONFIG_SONAME
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define SCOPE_NAME "libocspstaple-libconfig.so"

/* scope_path - libocspstaple-libconfig.so beside the object this code is linked into. */
static int scope_path(char *buf, size_t size)
{
    Dl_info info;
    if (dladdr((void *)scope_path, &info) == 0 || info.dli_fname == NULL)
        return -1;
    const char *slash = strrchr(info.dli_fname, '/');
    int n = slash ? snprintf(buf, size, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname,
                             SCOPE_NAME)
                  : snprintf(buf, size, "%s", SCOPE_NAME);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* bind_now - libconfig through libocspstaple-libconfig.so (see shim/libconfig_scope/forward.c):
 * deep-bound, so that libconfig's calls among its own functions stay inside it whatever the
 * host exports, with the process's own allocator first in its scope. dlsym() on that handle
 * finds libconfig's functions (the object's one dependency). */
static int bind_now(void)
{
    int flags = RTLD_NOW | RTLD_LOCAL;
#ifndef OCSPSTAPLE_NO_DEEPBIND
    flags |= RTLD_DEEPBIND;
#endif
    struct libconfig_api t = {0}; /* published whole, or not at all */
    char path[PATH_MAX];
    if (scope_path(path, sizeof(path)) != 0) {
        log_error("cannot find %s; no stapling", SCOPE_NAME);
        return -1;
    }
    void *h = dlopen(path, flags);
    if (h == NULL) {
        log_error("cannot load %s (for %s): %s; no stapling", path, OCSPSTAPLE_LIBCONFIG_SONAME,
                  dlerror());
        return -1;
    }
#define BIND(field, name)                                                                          \
    if ((*(void **)&t.field = dlsym(h, name)) == NULL) {                                           \
        log_error("%s lacks %s; no stapling", OCSPSTAPLE_LIBCONFIG_SONAME, name);                  \
        return -1;                                                                                 \
    }
    BIND(read_file, "config_read_file")
    BIND(read, "config_read")
    BIND(init, "config_init")
    BIND(destroy, "config_destroy")
    BIND(setting_get_int64, "config_setting_get_int64")
    BIND(setting_get_int, "config_setting_get_int")
    BIND(setting_get_bool, "config_setting_get_bool")
    BIND(setting_get_string, "config_setting_get_string")
    BIND(setting_length, "config_setting_length")
    BIND(setting_get_elem, "config_setting_get_elem")
#undef BIND
    libconfig = t;
    return 0;
}
#else
static int bind_now(void)
{
    libconfig.read_file = config_read_file;
    libconfig.read = config_read;
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

int libconfig_bind(void)
{
    return libconfig.init != NULL ? 0 : bind_now();
}
