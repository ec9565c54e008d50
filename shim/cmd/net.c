/*
 * net.c - TCP connections and line I/O within a deadline, for check --connect (see net.h).
 *
 * The socket stays non-blocking throughout, and every wait is a poll() bounded by the
 * deadline: neither connect() nor a silent server can hold the command longer than asked.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int endpoint_parse(const char *spec, struct endpoint *ep, char *why, size_t whylen)
{
    const char *colon, *host = spec;
    size_t hostlen;

    memset(ep, 0, sizeof(*ep));
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(why, whylen, "'%s': an IPv6 address is written [ADDRESS]:PORT", spec);
            return -1;
        }
        host = spec + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL) {
            snprintf(why, whylen, "'%s': give HOST:PORT (an IPv6 address as [ADDRESS]:PORT)", spec);
            return -1;
        }
        hostlen = (size_t)(colon - spec);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (hostlen == 0 || hostlen >= sizeof(ep->host) || colon[1] == '\0' || *end != '\0' ||
        port < 1 || port > 65535) {
        snprintf(why, whylen, "'%s': give HOST:PORT, with a port from 1 to 65535", spec);
        return -1;
    }
    memcpy(ep->host, host, hostlen);
    snprintf(ep->port, sizeof(ep->port), "%ld", port);
    unsigned char addr[16];
    ep->host_is_ip =
        inet_pton(AF_INET, ep->host, addr) == 1 || inet_pton(AF_INET6, ep->host, addr) == 1;
    bool v6 = strchr(ep->host, ':') != NULL;
    snprintf(ep->target, sizeof(ep->target), "%s%s%s:%s", v6 ? "[" : "", ep->host, v6 ? "]" : "",
             ep->port);
    return 0;
}

static deadline_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (deadline_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

deadline_t deadline_in(long seconds)
{
    return now_ms() + (deadline_t)seconds * 1000;
}

int net_wait(int fd, short events, deadline_t deadline, char *why, size_t whylen)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        deadline_t left = deadline - now_ms();
        if (left <= 0) {
            snprintf(why, whylen, "no answer within the timeout");
            return -1;
        }
        int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 0; /* ready, or an error the next read or write reports */
        if (n < 0 && errno != EINTR) {
            snprintf(why, whylen, "poll: %s", strerror(errno));
            return -1;
        }
    }
}

/* connect_one - one address; 0 with *fd set, or -1 with the reason. */
static int connect_one(const struct addrinfo *ai, deadline_t deadline, int *fd, char *why,
                       size_t whylen)
{
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    int err = 0;
    socklen_t len = sizeof(err);

    if (s < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0)
        goto done;
    if (errno != EINPROGRESS) {
        snprintf(why, whylen, "%s", strerror(errno));
        goto fail;
    }
    if (net_wait(s, POLLOUT, deadline, why, whylen) != 0)
        goto fail;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        snprintf(why, whylen, "%s", strerror(err));
        goto fail;
    }
done:
    *fd = s;
    return 0;
fail:
    close(s);
    return -1;
}

int net_connect(const struct endpoint *ep, deadline_t deadline, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int fd = -1;

    int rc = getaddrinfo(ep->host, ep->port, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve %s: %s", ep->host, gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
        if (connect_one(ai, deadline, &fd, why, whylen) != 0)
            fd = -1;
    freeaddrinfo(res);
    return fd;
}

int net_read_line(struct line_reader *r, char *line, size_t size, char *why, size_t whylen)
{
    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - r->buf);
            size_t keep = n > 0 && r->buf[n - 1] == '\r' ? n - 1 : n;
            snprintf(line, size, "%.*s", (int)keep, r->buf);
            r->len -= n + 1;
            memmove(r->buf, nl + 1, r->len);
            return 0;
        }
        if (r->len == sizeof(r->buf)) {
            snprintf(why, whylen, "a line longer than %zu bytes", sizeof(r->buf));
            return -1;
        }
        ssize_t got = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
        if (got > 0) {
            r->len += (size_t)got;
            continue;
        }
        if (got == 0) {
            snprintf(why, whylen, "the server closed the connection");
            return -1;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(why, whylen, "%s", strerror(errno));
            return -1;
        }
        if (net_wait(r->fd, POLLIN, r->deadline, why, whylen) != 0)
            return -1;
    }
}

int net_write_line(struct line_reader *r, const char *text, char *why, size_t whylen)
{
    char out[600];
    int n = snprintf(out, sizeof(out), "%s\r\n", text);
    size_t done = 0;

    if (n < 0 || (size_t)n >= sizeof(out)) {
        snprintf(why, whylen, "command too long");
        return -1;
    }
    while (done < (size_t)n) {
        ssize_t put = send(r->fd, out + done, (size_t)n - done, MSG_NOSIGNAL);
        if (put > 0) {
            done += (size_t)put;
            continue;
        }
        if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(why, whylen, "%s", strerror(errno));
            return -1;
        }
        if (net_wait(r->fd, POLLOUT, r->deadline, why, whylen) != 0)
            return -1;
    }
    return 0;
}
