/*
 * hash.c - FNV-1a over bytes, for the store's tables and memos (see hash.h).
 */
#include "hash.h"

#include <string.h>

#define FNV_OFFSET 1469598103934665603ULL

/* fnv1a - FNV-1a over bytes, continuing from `h`. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

uint64_t content_hash(const unsigned char *p, size_t len)
{
    return fnv1a(FNV_OFFSET, p, len) | 1;
}

size_t name_hash(const char *name)
{
    return (size_t)content_hash((const unsigned char *)name, strlen(name));
}

uint64_t serial_hash(const ASN1_INTEGER *serial)
{
    if (serial == NULL)
        return 0;
    unsigned char negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
    uint64_t h = fnv1a(FNV_OFFSET, &negative, 1);
    return fnv1a(h, ASN1_STRING_get0_data(serial), (size_t)ASN1_STRING_length(serial));
}
