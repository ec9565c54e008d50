/*
 * staple_entry.h - the memory of one `staples` entry (struct staple_entry, config_data.h):
 * releasing it and copying it whole. Shared by the configuration parser, the pattern expansion
 * (cert_pattern.c) and the shim's core, which keeps entries beyond the configuration they came
 * from.
 */
#ifndef OCSPSTAPLE_STAPLE_ENTRY_H
#define OCSPSTAPLE_STAPLE_ENTRY_H

#include <stdbool.h>

#include "config_data.h"

/* staple_entry_free - release what an entry owns; the entry is zeroed (freeing twice is
 * harmless). */
void staple_entry_free(struct staple_entry *e);

/* staple_entry_copy - *dst, a deep copy of *src: every string and the sni array are copies
 * owned by *dst (release it with staple_entry_free); line, is_pattern and from_pattern are kept.
 * Returns 0, or -1 when out of memory (*dst then holds nothing). Thread-safe. */
int staple_entry_copy(const struct staple_entry *src, struct staple_entry *dst);

/* staple_entry_same - whether two entries ask for the same stapling (every setting equal;
 * the line may differ): a reloaded configuration keeps what such an entry has loaded. */
bool staple_entry_same(const struct staple_entry *a, const struct staple_entry *b);

#endif
