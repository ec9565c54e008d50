/*
 * enable.c - `ocspstaple enable` and `disable`. A run is a plan, made of checks that touch
 * nothing (the unit exists, nothing else sets LD_PRELOAD for it, the daemon's own tools accept
 * its configuration), then, unless --dry-run, the changes in order, each undone when a later
 * one fails, and the record last. What is (or would be) changed is printed on stdout, one line
 * per file and setting; refusals go to stderr.
 */
#include "enable.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dovecot_env.h"
#include "enable_record.h"
#include "env_list.h"
#include "postfix_env.h"
#include "textfile.h"
#include "unit_dropin.h"

#define PATH_SIZE ENABLE_RECORD_PATH
#define WHY_SIZE  (3 * PATH_SIZE)

/* What an enable run will do, worked out before anything is written. */
struct plan {
    struct enable_record rec; /* filled as the changes are made */
    char record_dir[PATH_SIZE];
    char dropin[PATH_SIZE];
    char *dropin_text;
    bool postfix;
    char postfix_dir[PATH_SIZE];
    char main_cf[PATH_SIZE];
    char *env_before; /* import_environment as Postfix reads it now */
    char *env_after;
    char added[2 * PATH_SIZE]; /* the words added to a daemon's list */
    bool dovecot;
    char dovecot_conf[PATH_SIZE];
    char confd_file[PATH_SIZE];
    char *confd_text;
};

static void plan_free(struct plan *p)
{
    free(p->dropin_text);
    free(p->env_before);
    free(p->env_after);
    free(p->confd_text);
}

/* refuse - the reason on stderr, exit status 1. */
__attribute__((format(printf, 2, 3))) static int refuse(const char *service, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ocspstaple: %s: ", service);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* plain_path - an absolute path that needs no quoting in a systemd Environment= line nor in
 * a daemon's white-space separated list (no space, quote, backslash, '$' or '%'). */
static bool plain_path(const char *path)
{
    return path[0] == '/' && strpbrk(path, " \t\r\n\"'\\$%;,") == NULL &&
           strlen(path) < PATH_SIZE / 2;
}

/* postfix_instance - for a Postfix unit (postfix@INST.service), INST; NULL otherwise. */
static const char *postfix_instance(const char *unit, char *buf, size_t size)
{
    if (strncmp(unit, "postfix@", 8) != 0)
        return NULL;
    snprintf(buf, size, "%.*s", (int)(strlen(unit) - 8 - strlen(".service")), unit + 8);
    return buf;
}

/* apply_command - the command that makes the unit start with (or without) the shim. */
static void print_apply(const char *unit, const char *root, bool done)
{
    printf("%s: systemctl daemon-reload && systemctl restart %s\n",
           done ? "apply with" : "would apply with", unit);
    printf("  (a restart: the new environment reaches the daemon's processes only when they are "
           "started afresh; a reload does not do it)\n");
    if (strcmp(root, "/") != 0)
        printf("  (the files are under %s)\n", root);
}

/* plan_postfix - the Postfix half of the plan: main.cf's import_environment plus the shim. */
static int plan_postfix(const struct enable_options *o, const char *unit, struct plan *p)
{
    char inst[256], why[1024];
    postfix_instance(unit, inst, sizeof(inst));
    if (o->postfix_config != NULL)
        snprintf(p->postfix_dir, sizeof(p->postfix_dir), "%s", o->postfix_config);
    else if (strcmp(inst, "-") == 0)
        textfile_under_root(o->root, "/etc/postfix", p->postfix_dir, sizeof(p->postfix_dir));
    else {
        char rel[300];
        snprintf(rel, sizeof(rel), "/etc/postfix-%s", inst);
        textfile_under_root(o->root, rel, p->postfix_dir, sizeof(p->postfix_dir));
    }
    if (!plain_path(p->postfix_dir))
        return refuse(o->service, "%s: not an absolute path without blanks", p->postfix_dir);
    snprintf(p->main_cf, sizeof(p->main_cf), "%s/main.cf", p->postfix_dir);
    if (access(p->main_cf, F_OK) != 0)
        return refuse(o->service, "no %s: %s (--postfix-config DIR names another)", p->main_cf,
                      strerror(errno));
    p->env_before = postfix_env_read(p->postfix_dir, why, sizeof(why));
    if (p->env_before == NULL)
        return refuse(o->service, "cannot read Postfix's configuration: %s", why);
    if (env_list_names(p->env_before, "LD_PRELOAD"))
        return refuse(o->service,
                      "%s: import_environment already names LD_PRELOAD (set up by hand?): "
                      "leave it, or remove it and run enable again",
                      p->main_cf);
    p->env_after = env_list_with(p->env_before, p->added);
    p->postfix = p->env_after != NULL;
    return p->postfix ? 0 : refuse(o->service, "out of memory");
}

/* plan_dovecot - the Dovecot half: a conf.d file adding the shim to import_environment. */
static int plan_dovecot(const struct enable_options *o, const char *shim, const char *conf,
                        struct plan *p)
{
    char why[WHY_SIZE], version[64];
    if (o->dovecot_config != NULL)
        snprintf(p->dovecot_conf, sizeof(p->dovecot_conf), "%s", o->dovecot_config);
    else
        textfile_under_root(o->root, "/etc/dovecot/dovecot.conf", p->dovecot_conf,
                            sizeof(p->dovecot_conf));
    int v24 = dovecot_speaks_24(version, sizeof(version), why, sizeof(why));
    if (v24 < 0)
        return refuse(o->service, "cannot tell Dovecot's version: %s", why);
    char *env = dovecot_env_read(p->dovecot_conf, why, sizeof(why));
    if (env == NULL)
        return refuse(o->service, "doveconf rejects %s: %s", p->dovecot_conf, why);
    bool named = strstr(env, "LD_PRELOAD") != NULL;
    free(env);
    if (named)
        return refuse(o->service,
                      "%s: import_environment already names LD_PRELOAD (set up by hand?): "
                      "leave it, or remove it and run enable again",
                      p->dovecot_conf);
    if (dovecot_confd_path(p->dovecot_conf, p->confd_file, sizeof(p->confd_file), why,
                           sizeof(why)) != 0)
        return refuse(o->service, "%s", why);
    if (access(p->confd_file, F_OK) == 0)
        return refuse(o->service, "%s exists (installed by hand?): remove it, or leave it",
                      p->confd_file);
    p->confd_text = dovecot_confd_text(v24 == 1, o->service, shim, conf);
    p->dovecot = p->confd_text != NULL;
    return p->dovecot ? 0 : refuse(o->service, "out of memory");
}

/* print_plan - one line per file and setting. */
static void print_plan(const struct plan *p, bool done)
{
    printf("%s %s:\n", done ? "created" : "would create", p->dropin);
    fputs(strstr(p->dropin_text, "[Service]"), stdout);
    if (p->postfix) {
        printf("%s %s: import_environment\n", done ? "changed" : "would change", p->main_cf);
        printf("  was: %s\n  now: %s\n", p->env_before, p->env_after);
    }
    if (p->dovecot) {
        printf("%s %s:\n", done ? "created" : "would create", p->confd_file);
        const char *settings = strstr(p->confd_text, "\nimport_environment");
        fputs(settings != NULL ? settings + 1 : p->confd_text, stdout);
    }
}

/* undo_created - remove the files and directories made so far (a later step failed). */
static void undo_created(const struct plan *p)
{
    for (int i = p->rec.nfiles - 1; i >= 0; i--)
        (void)unlink(p->rec.files[i]);
    for (int i = p->rec.ndirs - 1; i >= 0; i--)
        (void)rmdir(p->rec.dirs[i]);
}

/* remove_created_dirs - rmdir the newline-separated directories, innermost first. */
static void remove_created_dirs(char *created)
{
    for (char *nl; created != NULL && (nl = strrchr(created, '\n')) != NULL;) {
        *nl = '\0';
        char *start = strrchr(created, '\n');
        (void)rmdir(start != NULL ? start + 1 : created);
        if (start == NULL)
            break;
    }
}

/* note_dirs - the newline-separated directories textfile_make_dirs created, into the record. */
static void note_dirs(struct enable_record *rec, const char *created)
{
    for (const char *line = created; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (rec->ndirs < ENABLE_RECORD_MAX)
            snprintf(rec->dirs[rec->ndirs++], ENABLE_RECORD_PATH, "%.*s", (int)(end - line), line);
        line = end + 1;
    }
}

/* create_file - write a new file of the plan and its copy in the record directory. */
static int create_file(struct plan *p, const char *path, const char *text, char *why, size_t whylen)
{
    char copy[PATH_SIZE + 16], name[16];
    snprintf(name, sizeof(name), "file.%d", p->rec.nfiles);
    if (p->rec.nfiles >= ENABLE_RECORD_MAX ||
        enable_record_file(p->record_dir, name, copy, sizeof(copy)) != 0 ||
        textfile_write(copy, text, strlen(text), 0600, why, whylen) != 0)
        return -1;
    if (textfile_write(path, text, strlen(text), 0644, why, whylen) != 0)
        return -1;
    snprintf(p->rec.files[p->rec.nfiles++], ENABLE_RECORD_PATH, "%s", path);
    return 0;
}

/* save_main_cf - main.cf's bytes into the record directory as NAME. */
static int save_main_cf(const struct plan *p, const char *name, char *why, size_t whylen)
{
    char copy[PATH_SIZE + 32];
    size_t len;
    char *text = textfile_read(p->main_cf, &len, NULL, why, whylen);
    if (text == NULL)
        return -1;
    int rc = enable_record_file(p->record_dir, name, copy, sizeof(copy)) == 0 &&
                     textfile_write(copy, text, len, 0600, why, whylen) == 0
                 ? 0
                 : -1;
    free(text);
    return rc;
}

/* apply_plan - make the changes, in order, undoing the earlier ones when one fails. */
static int apply_plan(const struct enable_options *o, struct plan *p)
{
    char why[WHY_SIZE], *created = NULL, *state_created = NULL, dir[PATH_SIZE];
    bool postfix_changed = false;

    /* The record's directories stay (they are state, not configuration) unless this fails. */
    if (textfile_make_dirs(p->record_dir, &state_created, why, sizeof(why)) != 0)
        goto fail;
    snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(p->dropin, '/') - p->dropin), p->dropin);
    int made = textfile_make_dirs(dir, &created, why, sizeof(why));
    note_dirs(&p->rec, created);
    free(created);
    if (made != 0 || create_file(p, p->dropin, p->dropin_text, why, sizeof(why)) != 0)
        goto fail;
    if (p->postfix) {
        if (save_main_cf(p, "main.cf.before", why, sizeof(why)) != 0)
            goto fail;
        postfix_changed = true;
        if (postfix_env_write(p->postfix_dir, p->env_after, why, sizeof(why)) != 0 ||
            save_main_cf(p, "main.cf.after", why, sizeof(why)) != 0)
            goto fail;
        snprintf(p->rec.postfix_dir, sizeof(p->rec.postfix_dir), "%s", p->postfix_dir);
        snprintf(p->rec.postfix_added, sizeof(p->rec.postfix_added), "%s", p->added);
    }
    if (p->dovecot) {
        if (create_file(p, p->confd_file, p->confd_text, why, sizeof(why)) != 0)
            goto fail;
        char *env = dovecot_env_read(p->dovecot_conf, why, sizeof(why));
        bool taken = env != NULL && strstr(env, o->shim) != NULL;
        free(env);
        if (!taken) {
            snprintf(why, sizeof(why),
                     "Dovecot does not take %s (doveconf -c %s shows no LD_PRELOAD after it): "
                     "does dovecot.conf include conf.d/*.conf, and set no import_environment "
                     "after it?",
                     p->confd_file, p->dovecot_conf);
            goto fail;
        }
    }
    if (enable_record_save(p->record_dir, &p->rec, why, sizeof(why)) != 0)
        goto fail;
    free(state_created);
    return 0;

fail:
    if (postfix_changed) {
        char copy[PATH_SIZE + 32], why2[512] = "the saved copy is missing";
        size_t len = 0;
        char *before = NULL;
        if (enable_record_file(p->record_dir, "main.cf.before", copy, sizeof(copy)) == 0)
            before = textfile_read(copy, &len, NULL, why2, sizeof(why2));
        if (before == NULL || textfile_write(p->main_cf, before, len, 0644, why2, sizeof(why2)))
            fprintf(stderr, "ocspstaple: %s: could not restore %s: %s\n", o->service, p->main_cf,
                    why2);
        free(before);
    }
    undo_created(p);
    char why3[512];
    (void)enable_record_remove(p->record_dir, why3, sizeof(why3));
    remove_created_dirs(state_created);
    free(state_created);
    return refuse(o->service, "%s; nothing changed", why);
}

int enable_run(const struct enable_options *o)
{
    struct plan *p = calloc(1, sizeof(*p));
    char unit[256], why[1024], unit_file[PATH_SIZE], where[PATH_SIZE], inst[256];
    const char *conf = strcmp(o->config, OCSPSTAPLE_DEFAULT_CONF) == 0 ? NULL : o->config;
    int rc = 1;

    if (p == NULL)
        return refuse(o->service, "out of memory");
    if (unit_name_for(o->service, unit, sizeof(unit), why, sizeof(why)) != 0) {
        rc = refuse(o->service, "%s", why);
        goto done;
    }
    if (!plain_path(o->shim) || (conf != NULL && !plain_path(conf))) {
        rc = refuse(o->service, "%s: not an absolute path without blanks, quotes, '$' or '%%'",
                    plain_path(o->shim) ? conf : o->shim);
        goto done;
    }
    if (access(o->shim, R_OK) != 0) {
        rc = refuse(o->service, "the shim %s: %s (--shim PATH names another)", o->shim,
                    strerror(errno));
        goto done;
    }
    if (enable_record_dir(o->root, unit, p->record_dir, sizeof(p->record_dir)) != 0 ||
        unit_dropin_path(o->root, unit, p->dropin, sizeof(p->dropin)) != 0) {
        rc = refuse(o->service, "path too long");
        goto done;
    }
    if (enable_record_exists(p->record_dir)) {
        printf("%s: already enabled (recorded in %s); nothing changed\n", o->service,
               p->record_dir);
        rc = 0;
        goto done;
    }
    if (access(o->config, R_OK) != 0)
        fprintf(stderr,
                "ocspstaple: warning: the configuration %s: %s (the shim will staple "
                "nothing until it exists)\n",
                o->config, strerror(errno));
    if (unit_find(o->root, unit, unit_file, sizeof(unit_file), why, sizeof(why)) != 0) {
        rc = refuse(o->service, "%s", why);
        goto done;
    }
    if (access(p->dropin, F_OK) == 0) {
        rc =
            refuse(o->service, "%s exists (installed by hand?): remove it, or leave it", p->dropin);
        goto done;
    }
    if (unit_sets_preload(o->root, unit, p->dropin, where, sizeof(where))) {
        rc = refuse(o->service,
                    "%s already sets LD_PRELOAD for %s: combine the two by hand (LD_PRELOAD "
                    "takes a list)",
                    where, unit);
        goto done;
    }
    snprintf(p->added, sizeof(p->added), "LD_PRELOAD=%s%s%s", o->shim,
             conf != NULL ? " OCSPSTAPLE_CONF=" : "", conf != NULL ? conf : "");
    if (postfix_instance(unit, inst, sizeof(inst)) != NULL && plan_postfix(o, unit, p) != 0)
        goto done;
    if (strcmp(unit, "dovecot.service") == 0 && plan_dovecot(o, o->shim, conf, p) != 0)
        goto done;
    p->dropin_text = unit_dropin_text(o->service, unit, o->shim, conf);
    if (p->dropin_text == NULL) {
        rc = refuse(o->service, "out of memory");
        goto done;
    }
    snprintf(p->rec.service, sizeof(p->rec.service), "%s", o->service);
    snprintf(p->rec.unit, sizeof(p->rec.unit), "%s", unit);

    printf("ocspstaple enable %s: unit %s (%s)%s\n", o->service, unit, unit_file,
           o->dry_run ? ", dry run" : "");
    if (o->dry_run) {
        print_plan(p, false);
        printf("nothing changed (--dry-run)\n");
        print_apply(unit, o->root, false);
        rc = 0;
        goto done;
    }
    if (apply_plan(o, p) != 0)
        goto done;
    print_plan(p, true);
    printf("recorded in %s (`ocspstaple disable %s` undoes it)\n", p->record_dir, o->service);
    print_apply(unit, o->root, true);
    rc = 0;
done:
    plan_free(p);
    free(p);
    return rc;
}

/* --- disable ------------------------------------------------------------------------------ */

/* What disable finds: per created file, whether it is still as enable wrote it. */
struct undo {
    bool file_present[ENABLE_RECORD_MAX];
    char *main_cf_before; /* NULL unless main.cf is byte for byte as enable left it */
    size_t main_cf_before_len;
    char *env_now; /* otherwise: import_environment now, and without our words */
    char *env_without;
    int removed;
    char main_cf[PATH_SIZE + 16];
};

/* check_undo - everything disable will do is possible and touches only what enable made.
 * Returns 0, or 1 (refused, the reason said). */
static int check_undo(const struct enable_options *o, const char *record_dir,
                      const struct enable_record *rec, struct undo *u)
{
    char why[WHY_SIZE], copy[PATH_SIZE + 16], name[16];
    for (int i = 0; i < rec->nfiles; i++) {
        size_t len;
        bool missing;
        snprintf(name, sizeof(name), "file.%d", i);
        enable_record_file(record_dir, name, copy, sizeof(copy));
        char *ours = textfile_read(copy, &len, NULL, why, sizeof(why));
        if (ours == NULL)
            return refuse(o->service, "the record is incomplete: %s", why);
        char *now = textfile_read(rec->files[i], &len, &missing, why, sizeof(why));
        bool same = now != NULL && strlen(ours) == len && memcmp(ours, now, len) == 0;
        free(ours);
        free(now);
        if (now == NULL && !missing)
            return refuse(o->service, "%s", why);
        if (now != NULL && !same)
            return refuse(o->service,
                          "%s was changed since `ocspstaple enable`: remove it by hand (or put "
                          "it back as it was), then run disable again; nothing changed",
                          rec->files[i]);
        u->file_present[i] = now != NULL;
    }
    if (rec->postfix_dir[0] == '\0')
        return 0;
    snprintf(u->main_cf, sizeof(u->main_cf), "%s/main.cf", rec->postfix_dir);
    size_t after_len, now_len;
    enable_record_file(record_dir, "main.cf.after", copy, sizeof(copy));
    char *after = textfile_read(copy, &after_len, NULL, why, sizeof(why));
    enable_record_file(record_dir, "main.cf.before", copy, sizeof(copy));
    char *before = textfile_read(copy, &u->main_cf_before_len, NULL, why, sizeof(why));
    char *now = textfile_read(u->main_cf, &now_len, NULL, why, sizeof(why));
    bool untouched =
        after != NULL && now != NULL && after_len == now_len && memcmp(after, now, now_len) == 0;
    free(after);
    free(now);
    if (before == NULL) {
        free(before);
        return refuse(o->service, "the record is incomplete: %s", why);
    }
    if (untouched) {
        u->main_cf_before = before;
        return 0;
    }
    free(before);
    u->env_now = postfix_env_read(rec->postfix_dir, why, sizeof(why));
    if (u->env_now == NULL)
        return refuse(o->service, "cannot read Postfix's configuration: %s", why);
    u->env_without = env_list_without(u->env_now, rec->postfix_added, &u->removed);
    return u->env_without != NULL ? 0 : refuse(o->service, "out of memory");
}

/* print_undo - one line per file and setting. */
static void print_undo(const struct enable_record *rec, const struct undo *u, bool done)
{
    for (int i = 0; i < rec->nfiles; i++)
        printf("%s %s%s\n", done ? "removed" : "would remove", rec->files[i],
               u->file_present[i] ? "" : " (already gone)");
    if (rec->postfix_dir[0] != '\0') {
        if (u->main_cf_before != NULL)
            printf("%s %s as it was before `ocspstaple enable`\n",
                   done ? "restored" : "would restore", u->main_cf);
        else if (u->removed > 0)
            printf("%s %s: import_environment (changed since enable: only the shim's words "
                   "taken out)\n  was: %s\n  now: %s\n",
                   done ? "changed" : "would change", u->main_cf, u->env_now, u->env_without);
        else
            printf("%s: import_environment no longer names %s; left as it is\n", u->main_cf,
                   rec->postfix_added);
    }
    for (int i = rec->ndirs - 1; i >= 0 && !done; i--)
        printf("would remove %s (if empty)\n", rec->dirs[i]);
}

/* remove_dirs - the directories enable created, innermost first, those that are empty; and
 * the record's own parent, when no other unit's record is left in it. */
static void remove_dirs(const struct enable_record *rec, const char *record_dir)
{
    for (int i = rec->ndirs - 1; i >= 0; i--)
        if (rmdir(rec->dirs[i]) == 0)
            printf("removed %s (empty)\n", rec->dirs[i]);
    char parent[PATH_SIZE];
    snprintf(parent, sizeof(parent), "%.*s", (int)(strrchr(record_dir, '/') - record_dir),
             record_dir);
    (void)rmdir(parent);
}

int disable_run(const struct enable_options *o)
{
    struct enable_record *rec = calloc(1, sizeof(*rec));
    struct undo *u = calloc(1, sizeof(*u));
    char unit[256], why[1024], record_dir[PATH_SIZE];
    int rc = 1;

    if (rec == NULL || u == NULL) {
        rc = refuse(o->service, "out of memory");
        goto done;
    }
    if (unit_name_for(o->service, unit, sizeof(unit), why, sizeof(why)) != 0) {
        rc = refuse(o->service, "%s", why);
        goto done;
    }
    if (enable_record_dir(o->root, unit, record_dir, sizeof(record_dir)) != 0) {
        rc = refuse(o->service, "path too long");
        goto done;
    }
    if (!enable_record_exists(record_dir)) {
        printf("%s: not enabled by `ocspstaple enable` (no record in %s); nothing changed\n",
               o->service, record_dir);
        rc = 0;
        goto done;
    }
    if (enable_record_load(record_dir, rec, why, sizeof(why)) != 0) {
        rc = refuse(o->service, "%s", why);
        goto done;
    }
    if (check_undo(o, record_dir, rec, u) != 0)
        goto done;
    printf("ocspstaple disable %s: unit %s%s\n", o->service, unit, o->dry_run ? ", dry run" : "");
    if (o->dry_run) {
        print_undo(rec, u, false);
        printf("nothing changed (--dry-run)\n");
        print_apply(unit, o->root, false);
        rc = 0;
        goto done;
    }
    if (u->main_cf_before != NULL &&
        textfile_write(u->main_cf, u->main_cf_before, u->main_cf_before_len, 0644, why,
                       sizeof(why)) != 0) {
        rc = refuse(o->service, "%s; nothing changed", why);
        goto done;
    }
    if (u->main_cf_before == NULL && u->removed > 0 &&
        postfix_env_write(rec->postfix_dir, u->env_without, why, sizeof(why)) != 0) {
        rc = refuse(o->service, "%s; nothing changed", why);
        goto done;
    }
    for (int i = 0; i < rec->nfiles; i++)
        if (u->file_present[i] && unlink(rec->files[i]) != 0)
            fprintf(stderr, "ocspstaple: %s: %s: %s\n", o->service, rec->files[i], strerror(errno));
    print_undo(rec, u, true);
    if (enable_record_remove(record_dir, why, sizeof(why)) != 0) {
        rc = refuse(o->service, "undone, but the record stays: %s", why);
        goto done;
    }
    remove_dirs(rec, record_dir);
    print_apply(unit, o->root, true);
    rc = 0;
done:
    if (u != NULL) {
        free(u->main_cf_before);
        free(u->env_now);
        free(u->env_without);
    }
    free(u);
    free(rec);
    return rc;
}
