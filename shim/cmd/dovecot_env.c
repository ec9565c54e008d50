/*
 * dovecot_env.c - the conf.d file that gives Dovecot's processes the shim, and doveconf's
 * word on the configuration it goes into.
 */
#include "dovecot_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "subprocess.h"

int dovecot_speaks_24(char *version, size_t vsize, char *why, size_t whylen)
{
    const char *argv[] = {"dovecot", "--version", NULL};
    struct subprocess_result r;
    int rc = -1;
    if (subprocess_run(argv, &r, why, whylen) != 0)
        return -1;
    snprintf(version, vsize, "%.*s", (int)strcspn(r.out, " \n"), r.out);
    if (r.status != 0)
        subprocess_describe(argv, &r, why, whylen);
    else {
        char *end;
        long major = strtol(r.out, &end, 10), minor = -1;
        if (end != r.out && *end == '.')
            minor = strtol(end + 1, &end, 10);
        if (minor < 0)
            snprintf(why, whylen, "`dovecot --version` said '%s', not a version", version);
        else
            rc = major > 2 || (major == 2 && minor >= 4);
    }
    subprocess_result_free(&r);
    return rc;
}

char *dovecot_env_read(const char *conf, char *why, size_t whylen)
{
    const char *argv[] = {"doveconf", "-c", conf, "-h", "import_environment", NULL};
    struct subprocess_result r;
    if (subprocess_run(argv, &r, why, whylen) != 0)
        return NULL;
    if (r.status != 0) {
        subprocess_describe(argv, &r, why, whylen);
        subprocess_result_free(&r);
        return NULL;
    }
    char *value = r.out;
    r.out = NULL;
    subprocess_result_free(&r);
    return value;
}

int dovecot_confd_path(const char *conf, char *path, size_t size, char *why, size_t whylen)
{
    const char *slash = strrchr(conf, '/');
    struct stat st;
    int n = slash == NULL ? snprintf(path, size, "conf.d")
                          : snprintf(path, size, "%.*s/conf.d", (int)(slash - conf), conf);
    if (n < 0 || (size_t)n + sizeof("/99-ocspstaple.conf") > size) {
        snprintf(why, whylen, "%s: path too long", conf);
        return -1;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen,
                 "no directory %s beside %s: add the lines of ocspstaple(8) to dovecot.conf by "
                 "hand",
                 path, conf);
        return -1;
    }
    snprintf(path + n, size - (size_t)n, "/99-ocspstaple.conf");
    return 0;
}

char *dovecot_confd_text(bool v24, const char *service, const char *shim, const char *conf)
{
    char *text = NULL, settings[8400];
    if (v24)
        snprintf(settings, sizeof(settings), "import_environment {\n  LD_PRELOAD = %s\n%s%s%s}\n",
                 shim, conf != NULL ? "  OCSPSTAPLE_CONF = " : "", conf != NULL ? conf : "",
                 conf != NULL ? "\n" : "");
    else
        snprintf(settings, sizeof(settings),
                 "import_environment = $import_environment LD_PRELOAD=%s%s%s\n", shim,
                 conf != NULL ? " OCSPSTAPLE_CONF=" : "", conf != NULL ? conf : "");
    if (asprintf(&text,
                 "# Written by `ocspstaple enable %s`: OCSP stapling through the ocspstaple\n"
                 "# shim, for Dovecot %s. `ocspstaple disable %s` removes it; see\n"
                 "# ocspstaple(8). Dovecot starts its processes with only the variables of\n"
                 "# import_environment: its defaults are kept, the shim is added.\n"
                 "%s",
                 service, v24 ? "2.4" : "2.3", service, settings) < 0)
        return NULL;
    return text;
}
