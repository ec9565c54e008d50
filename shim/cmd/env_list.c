/*
 * env_list.c - words of an import_environment list.
 */
#include "env_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char separators[] = " \t\r\n,";

/* next_word - the next word of *p (its length in *len), advancing *p past it; NULL at the end. */
static const char *next_word(const char **p, size_t *len)
{
    *p += strspn(*p, separators);
    if (**p == '\0')
        return NULL;
    const char *w = *p;
    *len = strcspn(w, separators);
    *p += *len;
    return w;
}

/* has_word - list (space-separated) holds exactly the word w of length len. */
static bool has_word(const char *list, const char *w, size_t len)
{
    const char *p = list, *x;
    size_t xlen;
    while ((x = next_word(&p, &xlen)) != NULL)
        if (xlen == len && memcmp(x, w, len) == 0)
            return true;
    return false;
}

bool env_list_names(const char *list, const char *name)
{
    const char *p = list, *w;
    size_t len, nlen = strlen(name);
    while ((w = next_word(&p, &len)) != NULL)
        if (len >= nlen && memcmp(w, name, nlen) == 0 && (len == nlen || w[nlen] == '='))
            return true;
    return false;
}

char *env_list_with(const char *list, const char *add)
{
    char *out = NULL;
    size_t len = strlen(list);
    while (len > 0 && strchr(" \t\r\n", list[len - 1]) != NULL)
        len--;
    if (asprintf(&out, "%.*s%s%s", (int)len, list, len > 0 ? " " : "", add) < 0)
        return NULL;
    return out;
}

char *env_list_without(const char *list, const char *drop, int *removed)
{
    char *out = malloc(strlen(list) + 1);
    const char *p = list, *w;
    size_t len, used = 0;
    *removed = 0;
    if (out == NULL)
        return NULL;
    while ((w = next_word(&p, &len)) != NULL) {
        if (has_word(drop, w, len)) {
            (*removed)++;
            continue;
        }
        if (used > 0)
            out[used++] = ' ';
        memcpy(out + used, w, len);
        used += len;
    }
    out[used] = '\0';
    return out;
}
