/*
 * install_paths.h - where the installation put the shim, for `ocspstaple enable` (which writes
 * that path into the services' environment) and the usage text.
 */
#ifndef OCSPSTAPLE_INSTALL_PATHS_H
#define OCSPSTAPLE_INSTALL_PATHS_H

/* install_shim_path - PKGLIBDIR/libocspstaple.so as the build was configured (a static
 * string). */
const char *install_shim_path(void);

#endif
