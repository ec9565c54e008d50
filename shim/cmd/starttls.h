/*
 * starttls.h - the plain-text greetings that come before TLS on mail and FTP ports, as a
 * client speaks them: SMTP (RFC 3207), IMAP (RFC 3501), POP3 (RFC 2595), FTP (RFC 4217).
 * OpenSSL's library has no STARTTLS; these are the few lines of each protocol, nothing more.
 */
#ifndef OCSPSTAPLE_STARTTLS_H
#define OCSPSTAPLE_STARTTLS_H

#include <stddef.h>

#include "net.h"

enum starttls_proto {
    STARTTLS_NONE = 0,
    STARTTLS_SMTP,
    STARTTLS_IMAP,
    STARTTLS_POP3,
    STARTTLS_FTP
};

/* starttls_parse - "smtp", "imap", "pop3" or "ftp" into *out. Returns 0, or -1 when unknown. */
int starttls_parse(const char *name, enum starttls_proto *out);

/* starttls_name - "smtp", ..., or NULL for STARTTLS_NONE. */
const char *starttls_name(enum starttls_proto p);

/* starttls_negotiate - on connected socket `fd`, read the server's greeting, make sure it
 * offers TLS where the protocol says so, ask for it and read the go-ahead, all before
 * `deadline`. Afterwards the next bytes on fd are the server's TLS. Returns 0, or -1 with the
 * reason in `why` (what the server said, or did not say, and when). */
int starttls_negotiate(int fd, enum starttls_proto p, deadline_t deadline, char *why,
                       size_t whylen);

#endif
