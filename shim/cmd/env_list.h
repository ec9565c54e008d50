/*
 * env_list.h - the environment lists of daemons that rebuild their environment (Postfix's and
 * Dovecot 2.3's import_environment): words separated by white space (or commas, for Postfix),
 * each NAME (import it from the starting process) or NAME=value (set it).
 *
 * Pure string functions; results are owned by the caller.
 */
#ifndef OCSPSTAPLE_ENV_LIST_H
#define OCSPSTAPLE_ENV_LIST_H

#include <stdbool.h>

/* env_list_names - list has a word NAME or NAME=... */
bool env_list_names(const char *list, const char *name);

/* env_list_with - list followed by the words of `add` (space-separated), one space between;
 * list is kept exactly as it was. NULL when out of memory. */
char *env_list_with(const char *list, const char *add);

/* env_list_without - list without the words that are, exactly, words of `drop`; the other
 * words kept in their order, separated by one space. *removed counts the words dropped. NULL
 * when out of memory. */
char *env_list_without(const char *list, const char *drop, int *removed);

#endif
