/*
 * staple_entry.c - releasing and copying a `staples` entry (see staple_entry.h).
 */
#include "staple_entry.h"

#include <stdlib.h>
#include <string.h>

void staple_entry_free(struct staple_entry *e)
{
    free(e->response);
    free(e->certificate);
    free(e->issuer);
    free(e->responder);
    for (size_t i = 0; i < e->sni_count; i++)
        free(e->sni[i]);
    free(e->sni);
    free(e->from_pattern);
    memset(e, 0, sizeof(*e));
}

/* dup_or_null - a copy of `s`, or NULL for NULL; *failed is set when the copy could not be made. */
static char *dup_or_null(const char *s, bool *failed)
{
    if (s == NULL)
        return NULL;
    char *copy = strdup(s);
    if (copy == NULL)
        *failed = true;
    return copy;
}

int staple_entry_copy(const struct staple_entry *src, struct staple_entry *dst)
{
    bool failed = false;

    memset(dst, 0, sizeof(*dst));
    dst->line = src->line;
    dst->is_pattern = src->is_pattern;
    dst->response = dup_or_null(src->response, &failed);
    dst->certificate = dup_or_null(src->certificate, &failed);
    dst->issuer = dup_or_null(src->issuer, &failed);
    dst->responder = dup_or_null(src->responder, &failed);
    dst->from_pattern = dup_or_null(src->from_pattern, &failed);
    if (src->sni_count > 0) {
        dst->sni = calloc(src->sni_count, sizeof(char *));
        if (dst->sni == NULL)
            failed = true;
        for (size_t i = 0; dst->sni != NULL && i < src->sni_count; i++) {
            if ((dst->sni[i] = strdup(src->sni[i])) == NULL) {
                failed = true;
                break;
            }
            dst->sni_count++;
        }
    }
    if (failed) {
        staple_entry_free(dst);
        return -1;
    }
    return 0;
}

/* same_string - both NULL, or equal. */
static bool same_string(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool staple_entry_same(const struct staple_entry *a, const struct staple_entry *b)
{
    if (!same_string(a->response, b->response) || !same_string(a->certificate, b->certificate) ||
        !same_string(a->issuer, b->issuer) || !same_string(a->responder, b->responder) ||
        !same_string(a->from_pattern, b->from_pattern) || a->is_pattern != b->is_pattern ||
        a->sni_count != b->sni_count)
        return false;
    for (size_t i = 0; i < a->sni_count; i++)
        if (!same_string(a->sni[i], b->sni[i]))
            return false;
    return true;
}
