/*
 * hash.h - the store's non-cryptographic hashes (FNV-1a): of file contents and messages, to
 * recognise one seen before; of file names, for the directories' tables; of certificate serial
 * numbers, to tell cheaply which responses may be about a certificate. Pure functions.
 */
#ifndef OCSPSTAPLE_HASH_H
#define OCSPSTAPLE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>

/* content_hash - of bytes; never 0, which callers use for "nothing recorded". */
uint64_t content_hash(const unsigned char *p, size_t len);

/* name_hash - of a NUL-terminated file name, for a ptrtable. */
size_t name_hash(const char *name);

/* serial_hash - of a certificate serial number (its sign and magnitude): equal serials give
 * equal hashes; a collision only costs a check that then fails. 0 for NULL. */
uint64_t serial_hash(const ASN1_INTEGER *serial);

#endif
