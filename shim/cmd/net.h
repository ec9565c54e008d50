/*
 * net.h - the plain TCP side of `ocspstaple check --connect`: a HOST:PORT argument, a
 * connection made within a deadline, and the line-by-line talk of STARTTLS greetings
 * (starttls.c). Nothing here waits past the deadline it is given: a server that accepts and
 * never answers costs the caller its timeout, no more.
 *
 * Single-threaded use per connection; errors are returned as a sentence in `why`.
 */
#ifndef OCSPSTAPLE_NET_H
#define OCSPSTAPLE_NET_H

#include <stdbool.h>
#include <stddef.h>

/* A server to probe, as given on the command line. */
struct endpoint {
    char host[256];   /* without the brackets of an IPv6 literal */
    char port[8];     /* decimal */
    char target[272]; /* "host:port" or "[v6]:port", for messages */
    bool host_is_ip;  /* an IPv4 or IPv6 literal: no SNI by default */
};

/* endpoint_parse - "HOST:PORT", "[IPV6]:PORT" or "IPV4:PORT" into *ep. Returns 0, or -1 with
 * the reason in `why`. */
int endpoint_parse(const char *spec, struct endpoint *ep, char *why, size_t whylen);

/* A point in time on the monotonic clock, in milliseconds. */
typedef long long deadline_t;

/* deadline_in - now plus `seconds`. */
deadline_t deadline_in(long seconds);

/* net_wait - wait until fd is ready for `events` (POLLIN, POLLOUT) or the deadline passes.
 * Returns 0 when ready, -1 on timeout or error (why: "no answer within the timeout" or the
 * system's reason). */
int net_wait(int fd, short events, deadline_t deadline, char *why, size_t whylen);

/* net_connect - a non-blocking TCP socket connected to ep (every address its host resolves
 * to, in turn) before the deadline. Returns the descriptor (the caller closes it), or -1 with
 * the reason ("Connection refused", "no answer within the timeout", a resolver error). */
int net_connect(const struct endpoint *ep, deadline_t deadline, char *why, size_t whylen);

/* Reading lines from a connection without reading past what the caller asks for. */
struct line_reader {
    int fd;
    deadline_t deadline;
    char buf[4096];
    size_t len; /* bytes buffered after the last line returned */
};

/* net_read_line - the next line (CRLF or LF stripped) into `line`. Returns 0, or -1 with the
 * reason (timeout, connection closed, a line longer than the buffer). */
int net_read_line(struct line_reader *r, char *line, size_t size, char *why, size_t whylen);

/* net_write_line - `text` followed by CRLF, all of it, before r's deadline. Returns 0 or -1. */
int net_write_line(struct line_reader *r, const char *text, char *why, size_t whylen);

#endif
