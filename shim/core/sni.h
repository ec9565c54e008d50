/*
 * sni.h - matching the client's SNI host name against an entry's `sni` patterns.
 */
#ifndef OCSPSTAPLE_SNI_H
#define OCSPSTAPLE_SNI_H

#include <stdbool.h>
#include <stddef.h>

/* sni_matches - whether `servername` (may be NULL: the client sent no SNI) matches one of
 * `patterns` (lower-case host names, or "*.domain" matching exactly one more label).
 * With no patterns at all every handshake matches. Case-insensitive; pure. */
bool sni_matches(char *const *patterns, size_t count, const char *servername);

#endif
