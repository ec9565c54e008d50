/*
 * cert_files.h - the certificate and issuer files of the entries, watched once a second like
 * the response files: a renewal (certbot switching its live/ symlinks to new files in
 * archive/, acme.sh rewriting its files in place) re-indexes the entry, so that the response
 * written for the new certificate is stapled for it, and the old certificate keeps the good
 * response it had while some context still serves it. Part of the store's sources.
 *
 * Not thread-safe: called with the store's reload_lock held.
 */
#ifndef OCSPSTAPLE_CERT_FILES_H
#define OCSPSTAPLE_CERT_FILES_H

#include "entry_index.h"
#include "source.h"
#include "source_hooks.h"

/* cert_files_watch - start watching the files of entry source `src` (just indexed): their
 * directories' handles (kept across a chroot; up to a bound, beyond which files are looked at
 * by path, to spare the host's descriptors) and their state as of now. */
void cert_files_watch(struct source *src);

/* cert_files_pass - after dir_handles_check() in a pass, for the configuration `conf_path`
 * (messages): look at the entries' files (every one
 * in a configuration of up to CERT_FILES_PER_PASS files; else those whose directory changed,
 * and that many more in turn) and re-index the entries whose files changed; those go to
 * *changed. A file that cannot be read is reported once, and the certificates read before
 * stay in use. */
void cert_files_pass(const char *conf_path, const struct sources_hooks *hooks,
                     struct changes *changed);

#endif
