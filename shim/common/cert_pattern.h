/*
 * cert_pattern.h - `staples` entries that cover many certificates: a `certificate` with one
 * `*`, and a `response` (and optionally an `issuer`) in which the text the `*` matched replaces
 * the `*`: certbot's live directory, every NAME/fullchain.pem of it with NAME as the `*`, and
 * one response file per NAME beside the others, NAME.der (see ocspstaple.conf(5), "Patterns";
 * the examples are not written out here because a C comment cannot hold a slash before a star).
 *
 * The rules: the `*` lies in one path component of `certificate` (the whole of it, or a part
 * between a fixed head and tail); the directory before that component, the fixed directory,
 * has no `*`. The `*` matches one or more characters of a name in the fixed directory's
 * listing, never a name starting with '.' (hidden files, where tools keep temporaries), never
 * a captured text starting with '.' or holding a control character (it becomes part of file
 * names and of log lines). A world-writable fixed directory is refused: any local user could
 * add certificates to it and choose response file names. A name that fits is a certificate only
 * when the path made from it (the name, then the rest of the pattern after the component) is a
 * regular file, symbolic links followed: certbot's live/README is not one.
 *
 * Pure functions over strings and directory descriptors: no logging, no global state, all
 * thread-safe. Shared by the configuration parser (config_entry.c: the rules), the ocspstaple
 * command (which lists by path) and the shim's core (which lists through descriptors opened
 * before a chroot), so that all of them match exactly the same files.
 */
#ifndef OCSPSTAPLE_CERT_PATTERN_H
#define OCSPSTAPLE_CERT_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "config_data.h"

/* A certificate pattern taken apart: DIR "/" HEAD "*" TAIL REST. Strings are owned. */
struct cert_pattern {
    char *dir;  /* the fixed directory: "/" for the root, "." when the pattern is relative */
    char *head; /* fixed text before the `*` in its component; may be "" */
    char *tail; /* fixed text after the `*` in its component; may be "" */
    char *rest; /* what follows that component, starting with '/' ("/fullchain.pem"), or "" */
};

/* cert_pattern_is_pattern - whether a `certificate` setting is a pattern (holds a `*`). */
bool cert_pattern_is_pattern(const char *certificate);

/* cert_pattern_parse - take `certificate` apart into *p. Returns 0, or -1 with *why (a static
 * string, for "setting 'certificate': WHY") when it breaks a rule or memory runs out; *p then
 * holds nothing. The caller releases *p with cert_pattern_free. */
int cert_pattern_parse(const char *certificate, struct cert_pattern *p, const char **why);

/* cert_pattern_free - release what *p owns; *p is zeroed (freeing twice is harmless). */
void cert_pattern_free(struct cert_pattern *p);

/* cert_pattern_entry_problem - the rules of a `staples` entry about `*`, for any entry (pattern
 * or not): NULL when it keeps them, else the reason (a static string), with *setting the name
 * of the setting at fault ("certificate", "response" or "issuer"). */
const char *cert_pattern_entry_problem(const struct staple_entry *e, const char **setting);

/* cert_pattern_match - whether directory entry `name` fits the pattern's component (the rest of
 * the path is not looked at: cert_pattern_list does that). On a match, *captured and
 * *captured_len (both may be NULL) give the text the `*` matched, inside `name`. */
bool cert_pattern_match(const struct cert_pattern *p, const char *name, const char **captured,
                        size_t *captured_len);

/* cert_pattern_substitute - `template` with its `*` replaced by `captured` (a template without
 * `*` is copied as it is). Returns a malloc'ed string the caller frees, or NULL when out of
 * memory. */
char *cert_pattern_substitute(const char *template, const char *captured);

/* cert_pattern_fn - called by cert_pattern_list for one certificate: `captured`, the text the
 * `*` matched, and `relpath`, the certificate's path relative to the listed directory ("NAME"
 * followed by the pattern's rest), both borrowed for the call. Returns 0 to go on, nonzero to
 * stop the listing. */
typedef int (*cert_pattern_fn)(const char *captured, const char *relpath, void *arg);

/* cert_pattern_list - the certificates of pattern `p` in `dirfd`, a descriptor of the pattern's
 * fixed directory (the caller keeps it; it may be an O_PATH one: the listing is made through a
 * descriptor opened anew from it, openat(dirfd, "."), so that no offset is shared with the
 * caller or another thread, and it works after a chroot): `fn` is called for each, in the
 * order of their captured texts (strcmp), so that results are the same from run to run. Names that
 * fit but do not lead to a regular file are left out. Returns the number of certificates handed to
 * `fn`, or -1 with the reason in `why` when the directory cannot be read or is world-writable,
 * memory runs out, or `fn` asked to stop. */
int cert_pattern_list(int dirfd, const struct cert_pattern *p, cert_pattern_fn fn, void *arg,
                      char *why, size_t whylen);

/* cert_pattern_entry_make - *out, the concrete entry that pattern entry `pe` makes for the
 * captured text `captured`: `certificate` the matched path, `response` and `issuer` its
 * templates with `captured` substituted, `sni`, `responder` and `line` copied, is_pattern
 * false and from_pattern a copy of pe->certificate. Deep: *out owns every string (release it
 * with staple_entry_free). Returns 0, or -1 when pe's certificate is not a valid pattern or
 * memory runs out (*out then holds nothing). */
int cert_pattern_entry_make(const struct staple_entry *pe, const char *captured,
                            struct staple_entry *out);

/* cert_pattern_expand - the concrete entries of pattern entry `pe` found in `dirfd`, a
 * descriptor of its fixed directory (kept by the caller): *out (malloc'ed, each element
 * released with staple_entry_free and the array with free; NULL when none) and *count, in the
 * order of cert_pattern_list. Returns 0, or -1 with the reason in `why` (nothing is returned
 * then). */
int cert_pattern_expand(int dirfd, const struct staple_entry *pe, struct staple_entry **out,
                        size_t *count, char *why, size_t whylen);

#endif
