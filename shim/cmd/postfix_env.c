/*
 * postfix_env.c - import_environment through postconf. postconf is strict where it matters:
 * it exits non-zero on a main.cf line without '=', and warns (exit 0) on others; both count
 * as a configuration we do not touch.
 */
#include "postfix_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subprocess.h"

char *postfix_env_read(const char *config_dir, char *why, size_t whylen)
{
    const char *argv[] = {"postconf", "-c", config_dir, "-h", "import_environment", NULL};
    struct subprocess_result r;
    if (subprocess_run(argv, &r, why, whylen) != 0)
        return NULL;
    if (r.status != 0 || r.err[0] != '\0') {
        subprocess_describe(argv, &r, why, whylen);
        subprocess_result_free(&r);
        return NULL;
    }
    size_t len = strlen(r.out);
    while (len > 0 && (r.out[len - 1] == '\n' || r.out[len - 1] == ' '))
        r.out[--len] = '\0';
    char *value = r.out;
    r.out = NULL;
    subprocess_result_free(&r);
    return value;
}

int postfix_env_write(const char *config_dir, const char *value, char *why, size_t whylen)
{
    char *setting = NULL;
    if (asprintf(&setting, "import_environment=%s", value) < 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    const char *argv[] = {"postconf", "-c", config_dir, "-e", setting, NULL};
    struct subprocess_result r;
    int rc = subprocess_run(argv, &r, why, whylen);
    if (rc == 0) {
        if (r.status != 0) {
            subprocess_describe(argv, &r, why, whylen);
            rc = -1;
        }
        subprocess_result_free(&r);
    }
    free(setting);
    if (rc != 0)
        return -1;
    char *now = postfix_env_read(config_dir, why, whylen);
    if (now == NULL)
        return -1;
    rc = strcmp(now, value) == 0 ? 0 : -1;
    if (rc != 0)
        snprintf(why, whylen, "postconf -e did not take: import_environment reads '%s'", now);
    free(now);
    return rc;
}
