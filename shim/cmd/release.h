/*
 * release.h - the version of ocspstaple, for `ocspstaple --version` and the User-Agent of its
 * requests. The build may set OCSPSTAPLE_VERSION.
 */
#ifndef OCSPSTAPLE_RELEASE_H
#define OCSPSTAPLE_RELEASE_H

#ifndef OCSPSTAPLE_VERSION
#define OCSPSTAPLE_VERSION "0.1"
#endif

#endif
