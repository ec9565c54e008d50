/*
 * store.h - the response store of the shim: every configured or discovered OCSP response,
 * kept in memory as immutable snapshots, reloaded in the background, looked up per handshake.
 *
 * Life cycle: store_init() once per process, at its first server context (it reads the
 * configuration, opens the directories it will reload from, and starts reading files);
 * store_start_reloader() then, and whenever a handshake finds no reloader running in this
 * process (after fork()); store_finish_loading() before a chroot; store_staple() from any
 * thread, in the handshake.
 */
#ifndef OCSPSTAPLE_STORE_H
#define OCSPSTAPLE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* store_init - read the configuration, then its files for INLINE_LOAD_MS at most (the reloader
 * reads the rest). Idempotent and thread-safe: later calls return at once. Never fails the
 * caller: problems are logged and leave less to staple. */
void store_init(void);

/* store_start_reloader - make sure this process has its background reloader (one thread that
 * finishes the initial load, then checks the response files once a second). Cheap when it runs
 * already. Returns whether it runs. */
bool store_start_reloader(void);

/* store_finish_loading - read every file the configuration names now, and check what a small
 * configuration names, if not done yet (before a chroot, which hides the certificate files;
 * and where no thread can do it). */
void store_finish_loading(void);

/* store_before_handshake - called at every handshake, before store_staple: nothing when the
 * reloader runs (one atomic load); otherwise (first handshake after a fork, or a process that
 * may not start threads) check the files inline, at most once a second, then try to start it. */
void store_before_handshake(void);

/* store_staple - choose the response for the certificate `leaf` being served on `ssl`
 * (client SNI `servername`, may be NULL) and return a fresh OPENSSL_malloc() copy of its DER
 * bytes in *der (the caller hands it to OpenSSL, which frees it). Returns the length, or 0
 * when there is nothing stapleable (then *der is untouched). Thread-safe; normally a hash
 * lookup and a copy, the first time a certificate is seen after a reload also its check. */
size_t store_staple(SSL *ssl, X509 *leaf, const char *servername, unsigned char **der);

#endif
