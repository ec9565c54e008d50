/*
 * install_paths.c - the installation's paths, compiled in from the Makefile's PKGLIBDIR. The
 * Makefile rebuilds this one file whenever PKGLIBDIR changes (its install-paths stamp), so
 * that `make && make install PREFIX=/usr` installs a command that names /usr/lib/ocspstaple,
 * as a package's build does.
 */
#include "install_paths.h"

#ifndef OCSPSTAPLE_PKGLIBDIR
#define OCSPSTAPLE_PKGLIBDIR "/usr/local/lib/ocspstaple"
#endif

const char *install_shim_path(void)
{
    return OCSPSTAPLE_PKGLIBDIR "/libocspstaple.so";
}
