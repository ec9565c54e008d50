/*
 * enable_record.c - the record of `ocspstaple enable`, a small text file of "key value"
 * lines (values are paths and words, never holding a newline: enable refuses those).
 */
#include "enable_record.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "textfile.h"

int enable_record_dir(const char *root, const char *unit, char *dir, size_t size)
{
    char rel[512];
    int n = snprintf(rel, sizeof(rel), "/var/lib/ocspstaple/enabled/%s", unit);
    if (n < 0 || (size_t)n >= sizeof(rel))
        return -1;
    return textfile_under_root(root, rel, dir, size);
}

int enable_record_file(const char *dir, const char *name, char *path, size_t size)
{
    int n = snprintf(path, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool enable_record_exists(const char *dir)
{
    char path[ENABLE_RECORD_PATH + 16];
    return enable_record_file(dir, "record", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
}

int enable_record_save(const char *dir, const struct enable_record *rec, char *why, size_t whylen)
{
    char path[ENABLE_RECORD_PATH + 16];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL || enable_record_file(dir, "record", path, sizeof(path)) != 0) {
        if (f != NULL)
            fclose(f);
        free(text);
        snprintf(why, whylen, "%s: cannot make the record", dir);
        return -1;
    }
    fprintf(f, "# What `ocspstaple enable %s` changed; `ocspstaple disable %s` undoes it.\n",
            rec->service, rec->service);
    fprintf(f, "service %s\nunit %s\n", rec->service, rec->unit);
    for (int i = 0; i < rec->ndirs; i++)
        fprintf(f, "dir %s\n", rec->dirs[i]);
    for (int i = 0; i < rec->nfiles; i++)
        fprintf(f, "file %s\n", rec->files[i]);
    if (rec->postfix_dir[0] != '\0')
        fprintf(f, "postfix %s\npostfix-added %s\n", rec->postfix_dir, rec->postfix_added);
    if (fclose(f) != 0) {
        free(text);
        snprintf(why, whylen, "%s: cannot make the record", dir);
        return -1;
    }
    int rc = textfile_write(path, text, len, 0600, why, whylen);
    free(text);
    return rc;
}

/* copy_value - value into dst (size bytes); -1 when it does not fit. */
static int copy_value(char *dst, size_t size, const char *value)
{
    int n = snprintf(dst, size, "%s", value);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* record_line - one "key value" line into rec; -1 when the line is not one of ours. */
static int record_line(struct enable_record *rec, char *line)
{
    char *sp = strchr(line, ' ');
    if (sp == NULL)
        return -1;
    *sp = '\0';
    const char *key = line, *value = sp + 1;
    if (strcmp(key, "service") == 0)
        return copy_value(rec->service, sizeof(rec->service), value);
    if (strcmp(key, "unit") == 0)
        return copy_value(rec->unit, sizeof(rec->unit), value);
    if (strcmp(key, "dir") == 0 && rec->ndirs < ENABLE_RECORD_MAX)
        return copy_value(rec->dirs[rec->ndirs++], ENABLE_RECORD_PATH, value);
    if (strcmp(key, "file") == 0 && rec->nfiles < ENABLE_RECORD_MAX)
        return copy_value(rec->files[rec->nfiles++], ENABLE_RECORD_PATH, value);
    if (strcmp(key, "postfix") == 0)
        return copy_value(rec->postfix_dir, sizeof(rec->postfix_dir), value);
    if (strcmp(key, "postfix-added") == 0)
        return copy_value(rec->postfix_added, sizeof(rec->postfix_added), value);
    return -1;
}

int enable_record_load(const char *dir, struct enable_record *rec, char *why, size_t whylen)
{
    char path[ENABLE_RECORD_PATH + 16];
    size_t len;
    memset(rec, 0, sizeof(*rec));
    if (enable_record_file(dir, "record", path, sizeof(path)) != 0) {
        snprintf(why, whylen, "%s: path too long", dir);
        return -1;
    }
    char *text = textfile_read(path, &len, NULL, why, whylen);
    if (text == NULL)
        return -1;
    int rc = 0;
    for (char *line = text; line != NULL && *line != '\0' && rc == 0;) {
        char *end = strchr(line, '\n');
        if (end != NULL)
            *end = '\0';
        if (line[0] != '#' && line[0] != '\0' && record_line(rec, line) != 0) {
            snprintf(why, whylen, "%s: a line this version does not know: %.80s", path, line);
            rc = -1;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    free(text);
    if (rc == 0 && rec->unit[0] == '\0') {
        snprintf(why, whylen, "%s: names no unit", path);
        rc = -1;
    }
    return rc;
}

int enable_record_remove(const char *dir, char *why, size_t whylen)
{
    char path[ENABLE_RECORD_PATH + 300];
    if (enable_record_file(dir, "record", path, sizeof(path)) == 0 && unlink(path) != 0 &&
        errno != ENOENT) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d == NULL) {
        snprintf(why, whylen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (enable_record_file(dir, de->d_name, path, sizeof(path)) == 0)
            (void)unlink(path);
    }
    closedir(d);
    if (rmdir(dir) != 0) {
        snprintf(why, whylen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}
