/*
 * subprocess.c - fork, exec and collect both output streams with poll(), so that a program
 * writing much to one stream while we read the other cannot deadlock us.
 */
#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUBPROCESS_MAX_OUTPUT ((size_t)1024 * 1024)

struct stream {
    int fd;
    char *buf;
    size_t len;
};

/* stream_read - one read from s into its buffer; returns 0 at end of stream, 1 otherwise. */
static int stream_read(struct stream *s)
{
    char chunk[4096];
    ssize_t n = read(s->fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0)
        return 0;
    if (s->len + (size_t)n > SUBPROCESS_MAX_OUTPUT)
        return 1;
    char *grown = realloc(s->buf, s->len + (size_t)n + 1);
    if (grown == NULL)
        return 1;
    s->buf = grown;
    memcpy(s->buf + s->len, chunk, (size_t)n);
    s->len += (size_t)n;
    s->buf[s->len] = '\0';
    return 1;
}

/* child_exec - in the child: standard streams onto the pipes, exec; never returns. */
static void child_exec(const char *const argv[], int out_fd, int err_fd)
{
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        (void)dup2(null, STDIN_FILENO);
    (void)dup2(out_fd, STDOUT_FILENO);
    (void)dup2(err_fd, STDERR_FILENO);
    execvp(argv[0], (char *const *)argv);
    dprintf(STDERR_FILENO, "cannot run %s: %s", argv[0], strerror(errno));
    _exit(127);
}

int subprocess_run(const char *const argv[], struct subprocess_result *r, char *why, size_t whylen)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    memset(r, 0, sizeof(*r));
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        goto fail;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_exec(argv, out_pipe[1], err_pipe[1]);
    close(out_pipe[1]);
    close(err_pipe[1]);

    struct stream s[2] = {{out_pipe[0], NULL, 0}, {err_pipe[0], NULL, 0}};
    int open_streams = 2;
    while (open_streams > 0) {
        struct pollfd p[2];
        nfds_t n = 0;
        for (int i = 0; i < 2; i++)
            if (s[i].fd >= 0)
                p[n++] = (struct pollfd){.fd = s[i].fd, .events = POLLIN};
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (nfds_t k = 0; k < n; k++) {
            if (p[k].revents == 0)
                continue;
            for (int i = 0; i < 2; i++) {
                if (s[i].fd == p[k].fd && stream_read(&s[i]) == 0) {
                    close(s[i].fd);
                    s[i].fd = -1;
                    open_streams--;
                }
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (s[i].fd >= 0)
            close(s[i].fd);

    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    r->out = s[0].buf != NULL ? s[0].buf : strdup("");
    r->err = s[1].buf != NULL ? s[1].buf : strdup("");
    if (r->out == NULL || r->err == NULL) {
        subprocess_result_free(r);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    size_t len = strlen(r->err);
    while (len > 0 && r->err[len - 1] == '\n')
        r->err[--len] = '\0';
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    return -1;
}

void subprocess_result_free(struct subprocess_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void subprocess_describe(const char *const argv[], const struct subprocess_result *r, char *buf,
                         size_t size)
{
    char cmd[512] = "";
    size_t used = 0;
    for (int i = 0; argv[i] != NULL && used < sizeof(cmd); i++) {
        int n = snprintf(cmd + used, sizeof(cmd) - used, "%s%s", i > 0 ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    /* The first line of stderr says it (postconf: fatal: ...); the rest repeats. */
    const char *err = r->err;
    size_t errlen = strcspn(err, "\n");
    char how[32];
    if (r->status == 0)
        snprintf(how, sizeof(how), "warned");
    else
        snprintf(how, sizeof(how), "failed (exit %d)", r->status);
    snprintf(buf, size, "`%s` %s%s%.*s", cmd, how, errlen > 0 ? ": " : "", (int)errlen, err);
}
