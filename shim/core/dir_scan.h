/*
 * dir_scan.h - finding what changed in the directories, once a pass after the initial load:
 * a directory whose status changed is listed (a file renamed over a source's, the way fetchers
 * replace them, shows as another inode under its name; a new *.der file of response_dir
 * becomes a source), and files rewritten in place, which leave their directory alone, are
 * found by a sweep of SWEEP_PER_PASS files a pass (every file, every pass, in configurations
 * of up to that many; within N/SWEEP_PER_PASS seconds beyond).
 *
 * Not thread-safe: called with the store's reload_lock held, after dir_handles_check().
 */
#ifndef OCSPSTAPLE_DIR_SCAN_H
#define OCSPSTAPLE_DIR_SCAN_H

#include "dir_handle.h"
#include "source.h"

/* dir_scan_setup - the directory whose *.der files are sources of their own (response_dir;
 * NULL when there is none): before the first listing, and again when a reloaded configuration
 * names another (the caller has retired the old one's sources; the new one's are taken at the
 * next pass). */
void dir_scan_setup(struct dir_handle *response_dir);

/* dir_scan_first_listing - list response_dir for the initial load: its files become sources
 * (read by the caller, in order), nothing is refreshed. */
void dir_scan_first_listing(void);

/* dir_scan_pass - one pass after the initial load: list the directories that changed, refresh
 * what they show changed, gone or new, the files still being written, and the next files of
 * the sweep. The sources with a new version go to *changed. */
void dir_scan_pass(struct changes *changed);

/* dir_scan_any_changed - whether some directory's status differs from its last listing, or it
 * was never listed (one fstat of its handle each; no dir_handles_check needed). */
bool dir_scan_any_changed(void);

#endif
