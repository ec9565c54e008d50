/*
 * sni.c - host name patterns, as TLS servers match certificate names (RFC 6125 style): a
 * wildcard stands for exactly one leftmost label, never for a dot.
 */
#include "sni.h"

#include <strings.h>
#include <string.h>

static bool one_matches(const char *pattern, const char *name)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(name, '.');
        /* "*.example.net" matches "a.example.net", not "example.net" nor "a.b.example.net". */
        return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

bool sni_matches(char *const *patterns, size_t count, const char *servername)
{
    if (count == 0)
        return true;
    if (servername == NULL || servername[0] == '\0')
        return false;
    size_t len = strlen(servername);
    char name[256];
    if (len >= sizeof(name))
        return false;
    memcpy(name, servername, len + 1);
    if (len > 0 && name[len - 1] == '.') /* a fully qualified name with its root dot */
        name[len - 1] = '\0';
    for (size_t i = 0; i < count; i++)
        if (one_matches(patterns[i], name))
            return true;
    return false;
}
