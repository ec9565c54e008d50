/*
 * enable_record.h - what `ocspstaple enable` changed, kept so that `ocspstaple disable` undoes
 * exactly that: the files it created (with a copy of each, to see whether they were edited
 * since), the directories it created, and for Postfix main.cf as it was before and after.
 *
 * One directory per unit, ROOT/var/lib/ocspstaple/enabled/UNIT/: `record` (one "key value"
 * line per change), file.N (the copies), main.cf.before and main.cf.after. The record file is
 * written last: its presence means "enabled". Single-threaded use.
 */
#ifndef OCSPSTAPLE_ENABLE_RECORD_H
#define OCSPSTAPLE_ENABLE_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#define ENABLE_RECORD_MAX  8
#define ENABLE_RECORD_PATH 4096

struct enable_record {
    char service[256]; /* as given to enable */
    char unit[256];    /* the systemd unit */
    int nfiles;        /* files created; copy in DIR/file.N */
    char files[ENABLE_RECORD_MAX][ENABLE_RECORD_PATH];
    int ndirs; /* directories created, outermost first */
    char dirs[ENABLE_RECORD_MAX][ENABLE_RECORD_PATH];
    char postfix_dir[ENABLE_RECORD_PATH];       /* main.cf's directory, "" when untouched */
    char postfix_added[2 * ENABLE_RECORD_PATH]; /* the words added to import_environment */
};

/* enable_record_dir - ROOT/var/lib/ocspstaple/enabled/UNIT into dir. Returns 0, or -1 when it
 * does not fit. */
int enable_record_dir(const char *root, const char *unit, char *dir, size_t size);

/* enable_record_file - DIR/NAME into path (NAME: "record", "file.N", "main.cf.before"...).
 * Returns 0, or -1 when it does not fit. */
int enable_record_file(const char *dir, const char *name, char *path, size_t size);

/* enable_record_exists - DIR/record exists. */
bool enable_record_exists(const char *dir);

/* enable_record_save - write DIR/record (mode 0600) from rec. Returns 0, or -1 with why. */
int enable_record_save(const char *dir, const struct enable_record *rec, char *why, size_t whylen);

/* enable_record_load - read DIR/record into rec. Returns 0, or -1 with why (missing, or a
 * line it does not know: a record of another version is not guessed at). */
int enable_record_load(const char *dir, struct enable_record *rec, char *why, size_t whylen);

/* enable_record_remove - remove DIR's files and DIR itself (the record last goes first, so
 * that a half-removed directory does not read as enabled). Returns 0, or -1 with why. */
int enable_record_remove(const char *dir, char *why, size_t whylen);

#endif
