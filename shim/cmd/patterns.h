/*
 * patterns.h - the command's side of pattern entries (cert_pattern.h): before `fetch` and
 * `check` look at a configuration's entries, each pattern entry is replaced by the concrete
 * entries of the certificates it matches now, so that both treat them exactly as entries
 * written out one by one.
 */
#ifndef OCSPSTAPLE_PATTERNS_H
#define OCSPSTAPLE_PATTERNS_H

#include "config_data.h"

/* patterns_expand - replace every pattern entry of cfg->entries, in place and in order, by its
 * concrete entries (sorted by the text the `*` matched), listing each pattern's fixed directory
 * by path. A pattern that matches nothing (its directory missing included) is logged at
 * warning level, "CONF:LINE: pattern P matches no certificate"; one whose directory cannot be
 * listed is logged at error level and counted in cfg->skipped_entries, as an entry that yields
 * nothing. Afterwards no entry has is_pattern set. Not thread-safe with other users of cfg. */
void patterns_expand(struct config *cfg);

#endif
