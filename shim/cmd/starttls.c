/*
 * starttls.c - the greetings of SMTP, IMAP, POP3 and FTP up to TLS (see starttls.h).
 *
 * Strict where a client must be: the server has to offer STARTTLS (SMTP's EHLO, IMAP's
 * capabilities, POP3's CAPA when it answers it) and to accept it, and nothing may follow its
 * go-ahead before the TLS handshake: bytes buffered there would be a command injection
 * (CVE-2011-0411 and its kin), which a careful client refuses.
 */
#include "starttls.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EHLO_NAME "ocspstaple.invalid"

static const char *const names[] = {NULL, "smtp", "imap", "pop3", "ftp"};

int starttls_parse(const char *name, enum starttls_proto *out)
{
    for (int i = STARTTLS_SMTP; i <= STARTTLS_FTP; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum starttls_proto)i;
            return 0;
        }
    return -1;
}

const char *starttls_name(enum starttls_proto p)
{
    return p <= STARTTLS_FTP ? names[p] : NULL;
}

/* fail - the reason, naming the step; always -1. */
static int fail(char *why, size_t whylen, const char *step, const char *detail)
{
    snprintf(why, whylen, "%s: %.200s", step, detail);
    return -1;
}

/* reply - a numbered reply (SMTP, FTP), multi-line ("250-...") up to its last line ("250 ...").
 * *code gets the number; `offered` (may be NULL) is set when a line's text is `keyword`. The
 * last line goes into `last`. */
static int reply(struct line_reader *r, int *code, const char *keyword, bool *offered, char *last,
                 size_t lastlen, char *why, size_t whylen)
{
    char line[1024];

    *code = 0;
    for (;;) {
        if (net_read_line(r, line, sizeof(line), why, whylen) != 0)
            return -1;
        bool numbered = strlen(line) >= 3 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
                        line[1] <= '9' && line[2] >= '0' && line[2] <= '9';
        int n = numbered ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
        if (*code == 0) {
            if (!numbered)
                return fail(why, whylen, "not a reply", line);
            *code = n;
        }
        size_t len = strlen(line), klen = keyword ? strlen(keyword) : 0;
        if (offered != NULL && numbered && n == *code && len >= 4 + klen &&
            (line[3] == '-' || line[3] == ' ') && strncasecmp(line + 4, keyword, klen) == 0 &&
            (line[4 + klen] == '\0' || line[4 + klen] == ' '))
            *offered = true;
        if (numbered && n == *code && (line[3] == ' ' || line[3] == '\0')) {
            snprintf(last, lastlen, "%s", line);
            return 0;
        }
    }
}

/* expect - a numbered reply with code `want`; the step names what it answered. */
static int expect(struct line_reader *r, int want, const char *step, const char *keyword,
                  bool *offered, char *why, size_t whylen)
{
    char last[1024], err[512];
    int code;

    if (reply(r, &code, keyword, offered, last, sizeof(last), err, sizeof(err)) != 0)
        return fail(why, whylen, step, err);
    if (code != want)
        return fail(why, whylen, step, last);
    return 0;
}

static int smtp(struct line_reader *r, char *why, size_t whylen)
{
    bool offered = false;
    char err[300];

    if (expect(r, 220, "SMTP greeting", NULL, NULL, why, whylen) != 0)
        return -1;
    if (net_write_line(r, "EHLO " EHLO_NAME, err, sizeof(err)) != 0)
        return fail(why, whylen, "EHLO", err);
    if (expect(r, 250, "SMTP answer to EHLO", "STARTTLS", &offered, why, whylen) != 0)
        return -1;
    if (!offered) {
        snprintf(why, whylen, "the server did not offer STARTTLS (not in its answer to EHLO)");
        return -1;
    }
    if (net_write_line(r, "STARTTLS", err, sizeof(err)) != 0)
        return fail(why, whylen, "STARTTLS", err);
    return expect(r, 220, "SMTP answer to STARTTLS", NULL, NULL, why, whylen);
}

static int ftp(struct line_reader *r, char *why, size_t whylen)
{
    char err[300];

    if (expect(r, 220, "FTP greeting", NULL, NULL, why, whylen) != 0)
        return -1;
    if (net_write_line(r, "AUTH TLS", err, sizeof(err)) != 0)
        return fail(why, whylen, "AUTH TLS", err);
    if (expect(r, 234, "FTP answer to AUTH TLS", NULL, NULL, why, whylen) != 0) {
        char said[400];
        snprintf(said, sizeof(said), "%s", why);
        snprintf(why, whylen, "the server did not offer STARTTLS (AUTH TLS refused: %s)", said);
        return -1;
    }
    return 0;
}

/* has_word - whether `text` holds `word` as a whole, space- or bracket-delimited word. */
static bool has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strcasestr(p, word)) != NULL; p += n) {
        bool before = p == text || p[-1] == ' ' || p[-1] == '[';
        bool after = p[n] == '\0' || p[n] == ' ' || p[n] == ']';
        if (before && after)
            return true;
    }
    return false;
}

static int imap(struct line_reader *r, char *why, size_t whylen)
{
    char line[1024], err[300];
    bool offered = false;

    if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
        return fail(why, whylen, "IMAP greeting", err);
    if (strncasecmp(line, "* OK", 4) != 0)
        return fail(why, whylen, "IMAP greeting", line);
    if (strcasestr(line, "[CAPABILITY ") != NULL) {
        offered = has_word(line, "STARTTLS");
    } else {
        if (net_write_line(r, "a CAPABILITY", err, sizeof(err)) != 0)
            return fail(why, whylen, "CAPABILITY", err);
        for (;;) {
            if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
                return fail(why, whylen, "IMAP answer to CAPABILITY", err);
            if (strncasecmp(line, "* CAPABILITY ", 13) == 0)
                offered |= has_word(line, "STARTTLS");
            else if (strncmp(line, "a ", 2) == 0)
                break;
        }
    }
    if (!offered) {
        snprintf(why, whylen, "the server did not offer STARTTLS (not among its capabilities)");
        return -1;
    }
    if (net_write_line(r, "b STARTTLS", err, sizeof(err)) != 0)
        return fail(why, whylen, "STARTTLS", err);
    for (;;) {
        if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
            return fail(why, whylen, "IMAP answer to STARTTLS", err);
        if (strncmp(line, "b ", 2) == 0)
            break;
    }
    if (strncasecmp(line, "b OK", 4) != 0)
        return fail(why, whylen, "IMAP answer to STARTTLS", line);
    return 0;
}

static int pop3(struct line_reader *r, char *why, size_t whylen)
{
    char line[1024], err[300];
    bool offered = false;

    if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
        return fail(why, whylen, "POP3 greeting", err);
    if (strncmp(line, "+OK", 3) != 0)
        return fail(why, whylen, "POP3 greeting", line);
    if (net_write_line(r, "CAPA", err, sizeof(err)) != 0)
        return fail(why, whylen, "CAPA", err);
    if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
        return fail(why, whylen, "POP3 answer to CAPA", err);
    if (strncmp(line, "+OK", 3) == 0) {
        for (;;) {
            if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
                return fail(why, whylen, "POP3 answer to CAPA", err);
            if (strcmp(line, ".") == 0)
                break;
            offered |= strcasecmp(line, "STLS") == 0;
        }
        if (!offered) {
            snprintf(why, whylen, "the server did not offer STARTTLS (no STLS in its CAPA)");
            return -1;
        }
    }
    if (net_write_line(r, "STLS", err, sizeof(err)) != 0)
        return fail(why, whylen, "STLS", err);
    if (net_read_line(r, line, sizeof(line), err, sizeof(err)) != 0)
        return fail(why, whylen, "POP3 answer to STLS", err);
    if (strncmp(line, "+OK", 3) != 0) {
        snprintf(why, whylen, "the server did not offer STARTTLS (STLS refused: %.300s)", line);
        return -1;
    }
    return 0;
}

int starttls_negotiate(int fd, enum starttls_proto p, deadline_t deadline, char *why, size_t whylen)
{
    static struct line_reader r; /* 4 KiB; one probe per process */
    int rc = 0;

    memset(&r, 0, sizeof(r));
    r.fd = fd;
    r.deadline = deadline;
    switch (p) {
    case STARTTLS_SMTP:
        rc = smtp(&r, why, whylen);
        break;
    case STARTTLS_IMAP:
        rc = imap(&r, why, whylen);
        break;
    case STARTTLS_POP3:
        rc = pop3(&r, why, whylen);
        break;
    case STARTTLS_FTP:
        rc = ftp(&r, why, whylen);
        break;
    case STARTTLS_NONE:
        return 0;
    }
    if (rc == 0 && r.len > 0) {
        snprintf(why, whylen,
                 "the server sent %zu bytes after accepting STARTTLS, before the TLS handshake "
                 "(refused, as command injection)",
                 r.len);
        return -1;
    }
    return rc;
}
