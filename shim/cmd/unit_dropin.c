/*
 * unit_dropin.c - systemd units for `ocspstaple enable`, looked up in the unit directories
 * as systemd would (an instance falls back on its template), and the drop-in it writes.
 * Nothing here runs systemctl: the files are the truth, under any root.
 */
#include "unit_dropin.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "textfile.h"

/* Where unit files live, in systemd's order of precedence. */
static const char *const unit_dirs[] = {
    "/etc/systemd/system",         "/run/systemd/system",
    "/run/systemd/generator",      "/usr/local/lib/systemd/system",
    "/lib/systemd/system",         "/usr/lib/systemd/system",
    "/run/systemd/generator.late", NULL,
};

int unit_name_for(const char *service, char *unit, size_t size, char *why, size_t whylen)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789:-_.\\@";
    if (service[0] == '\0' || strspn(service, allowed) != strlen(service)) {
        snprintf(why, whylen, "'%s' is not a systemd unit name", service);
        return -1;
    }
    if (strcmp(service, "postfix") == 0)
        service = "postfix@-";
    const char *dot = strrchr(service, '.');
    int n;
    if (dot != NULL && strcmp(dot, ".service") == 0) {
        n = snprintf(unit, size, "%s", service);
    } else if (dot != NULL && strchr(dot, '@') == NULL &&
               (strcmp(dot, ".socket") == 0 || strcmp(dot, ".timer") == 0 ||
                strcmp(dot, ".target") == 0 || strcmp(dot, ".mount") == 0 ||
                strcmp(dot, ".path") == 0 || strcmp(dot, ".slice") == 0 ||
                strcmp(dot, ".scope") == 0 || strcmp(dot, ".device") == 0 ||
                strcmp(dot, ".swap") == 0 || strcmp(dot, ".automount") == 0)) {
        snprintf(why, whylen,
                 "%s is not a service: only a service's processes get an Environment=", service);
        return -1;
    } else {
        n = snprintf(unit, size, "%s.service", service);
    }
    if (n < 0 || (size_t)n >= size) {
        snprintf(why, whylen, "'%s': name too long", service);
        return -1;
    }
    size_t at = strcspn(unit, "@");
    if (unit[at] == '@' && strcmp(unit + at, "@.service") == 0) {
        snprintf(why, whylen,
                 "%s is a template: name an instance (%.*s@NAME), or write the template's "
                 "drop-in by hand",
                 unit, (int)at, unit);
        return -1;
    }
    return 0;
}

/* template_of - "name@.service" for "name@inst.service"; false when unit is no instance. */
static bool template_of(const char *unit, char *buf, size_t size)
{
    const char *at = strchr(unit, '@');
    if (at == NULL || at[1] == '.')
        return false;
    const char *dot = strrchr(unit, '.');
    int n = snprintf(buf, size, "%.*s@%s", (int)(at - unit), unit, dot);
    return n > 0 && (size_t)n < size;
}

/* is_masked - path is a symlink to /dev/null (or an empty file in /etc or /run). */
static bool is_masked(const char *path)
{
    char target[64];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n > 0) {
        target[n] = '\0';
        return strcmp(target, "/dev/null") == 0;
    }
    return false;
}

int unit_find(const char *root, const char *unit, char *path, size_t size, char *why, size_t whylen)
{
    char template[256];
    const char *names[2] = {unit, template_of(unit, template, sizeof(template)) ? template : NULL};
    for (int k = 0; k < 2 && names[k] != NULL; k++) {
        for (int i = 0; unit_dirs[i] != NULL; i++) {
            char rel[512];
            struct stat st;
            snprintf(rel, sizeof(rel), "%s/%s", unit_dirs[i], names[k]);
            if (textfile_under_root(root, rel, path, size) != 0 || lstat(path, &st) != 0)
                continue;
            if (is_masked(path)) {
                snprintf(why, whylen, "%s is masked (%s points to /dev/null)", unit, path);
                return -1;
            }
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        }
    }
    char where[512];
    if (textfile_under_root(root, "/etc/systemd/system", where, sizeof(where)) != 0)
        snprintf(where, sizeof(where), "%s", root);
    snprintf(why, whylen,
             "no unit %s: no unit file for it%s%s in %s, /lib/systemd/system or the other "
             "unit directories%s%s",
             unit, names[1] != NULL ? " or for " : "", names[1] != NULL ? names[1] : "", where,
             strcmp(root, "/") == 0 ? "" : " under ", strcmp(root, "/") == 0 ? "" : root);
    return -1;
}

/* file_names_preload - the regular file at path holds "LD_PRELOAD" outside comments. */
static bool file_names_preload(const char *path)
{
    char why[64];
    size_t len;
    char *text = textfile_read(path, &len, NULL, why, sizeof(why));
    bool found = false;
    for (char *line = text; line != NULL && *line != '\0' && !found;) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        line += strspn(line, " \t");
        found = line[0] != '#' && line[0] != ';' && strstr(line, "LD_PRELOAD") != NULL;
        line = end != NULL ? end + 1 : NULL;
    }
    free(text);
    return found;
}

/* dropins_name_preload - a .conf file of dir other than ours names LD_PRELOAD: its path in
 * where. */
static bool dropins_name_preload(const char *dir, const char *ours, char *where, size_t size)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool found = false;
    if (d == NULL)
        return false;
    while (!found && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
            continue;
        snprintf(where, size, "%s/%s", dir, de->d_name);
        found = strcmp(where, ours) != 0 && file_names_preload(where);
    }
    closedir(d);
    return found;
}

bool unit_sets_preload(const char *root, const char *unit, const char *ours, char *where,
                       size_t size)
{
    char template[256];
    const char *names[2] = {unit, template_of(unit, template, sizeof(template)) ? template : NULL};
    for (int k = 0; k < 2 && names[k] != NULL; k++) {
        for (int i = 0; unit_dirs[i] != NULL; i++) {
            char rel[512], path[4096];
            snprintf(rel, sizeof(rel), "%s/%s", unit_dirs[i], names[k]);
            if (textfile_under_root(root, rel, path, sizeof(path)) != 0)
                continue;
            if (file_names_preload(path)) {
                snprintf(where, size, "%s", path);
                return true;
            }
            snprintf(rel, sizeof(rel), "%s/%s.d", unit_dirs[i], names[k]);
            if (textfile_under_root(root, rel, path, sizeof(path)) == 0 &&
                dropins_name_preload(path, ours, where, size))
                return true;
        }
    }
    return false;
}

int unit_dropin_path(const char *root, const char *unit, char *path, size_t size)
{
    char rel[512];
    int n = snprintf(rel, sizeof(rel), "/etc/systemd/system/%s.d/ocspstaple.conf", unit);
    if (n < 0 || (size_t)n >= sizeof(rel))
        return -1;
    return textfile_under_root(root, rel, path, size);
}

char *unit_dropin_text(const char *service, const char *unit, const char *shim, const char *conf)
{
    char *text = NULL;
    char confline[4200] = "";
    if (conf != NULL)
        snprintf(confline, sizeof(confline), "Environment=OCSPSTAPLE_CONF=%s\n", conf);
    if (asprintf(&text,
                 "# Written by `ocspstaple enable %s`: OCSP stapling through the ocspstaple\n"
                 "# shim. `ocspstaple disable %s` removes it; see ocspstaple(8).\n"
                 "# Applied by: systemctl daemon-reload && systemctl restart %s\n"
                 "[Service]\n"
                 "Environment=LD_PRELOAD=%s\n"
                 "%s",
                 service, service, unit, shim, confline) < 0)
        return NULL;
    return text;
}
