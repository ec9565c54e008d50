/*
 * unit_dropin.h - the systemd side of `ocspstaple enable`: which unit runs a service, whether
 * that unit exists (found from the unit files themselves, so that it works under a test root
 * and without a running systemd), whether something already sets LD_PRELOAD for it, and the
 * drop-in that gives it the shim.
 *
 * Paths are under `root` ("/" for the system). Single-threaded use.
 */
#ifndef OCSPSTAPLE_UNIT_DROPIN_H
#define OCSPSTAPLE_UNIT_DROPIN_H

#include <stdbool.h>
#include <stddef.h>

/* unit_name_for - the unit of a service name: "postfix" is Debian's "postfix@-.service" (the
 * default instance: postfix.service is a oneshot /bin/true), "NAME" is "NAME.service",
 * "NAME.service" stays. Returns 0, or -1 with the reason (another unit type, a character
 * systemd does not allow in unit names). */
int unit_name_for(const char *service, char *unit, size_t size, char *why, size_t whylen);

/* unit_find - the file that defines unit under root: the first of /etc/systemd/system,
 * /run/systemd/system, the generators' directories, /usr/local/lib/systemd/system,
 * /lib/systemd/system and /usr/lib/systemd/system holding it, or for an instance
 * ("name@inst.service") its template. Returns 0 with the path, or -1 with the reason (no such
 * unit, or masked). */
int unit_find(const char *root, const char *unit, char *path, size_t size, char *why,
              size_t whylen);

/* unit_sets_preload - whether the unit file or a drop-in of the unit (or of its template),
 * other than the file `ours`, already names LD_PRELOAD: then its path is in `where`. */
bool unit_sets_preload(const char *root, const char *unit, const char *ours, char *where,
                       size_t size);

/* unit_dropin_path - ROOT/etc/systemd/system/UNIT.d/ocspstaple.conf into path. Returns 0, or
 * -1 when it does not fit. */
int unit_dropin_path(const char *root, const char *unit, char *path, size_t size);

/* unit_dropin_text - the drop-in for service: Environment=LD_PRELOAD=shim, and
 * Environment=OCSPSTAPLE_CONF=conf when conf is not NULL. Owned by the caller; NULL when out
 * of memory. */
char *unit_dropin_text(const char *service, const char *unit, const char *shim, const char *conf);

#endif
