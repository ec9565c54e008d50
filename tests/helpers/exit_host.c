/*
 * exit_host.c - a host that leaves soon after its first server context, the ways real servers
 * do: nginx's launcher forks the master and exits, a server refusing its configuration exits,
 * an init script execs. For the exit storm tests: its exit status must be its own, every time.
 *
 *   exit_host MODE MICROSECONDS
 *     exit   make a server context, wait, exit(0)
 *     fork   make a server context, fork: the parent waits and exits 0 (as a launcher does),
 *            the child waits as long again, then exits 0
 *     exec   make a server context, wait, exec /bin/true
 *     thread make a server context, wait, exit(0) from a second thread
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static long delay_us;

static void pause_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

static void *exit_from_thread(void *arg)
{
    (void)arg;
    pause_us(delay_us);
    exit(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: exit_host exit|fork|exec|thread MICROSECONDS\n");
        return 2;
    }
    delay_us = atol(argv[2]);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return 3;
    if (strcmp(argv[1], "exit") == 0) {
        pause_us(delay_us);
        exit(0);
    }
    if (strcmp(argv[1], "fork") == 0) {
        pid_t pid = fork();
        if (pid < 0)
            return 4;
        pause_us(delay_us);
        exit(0); /* parent and child alike, as a launcher and its daemon that gives up */
    }
    if (strcmp(argv[1], "exec") == 0) {
        pause_us(delay_us);
        execl("/bin/true", "true", (char *)NULL);
        return 5;
    }
    if (strcmp(argv[1], "thread") == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, exit_from_thread, NULL) != 0)
            return 6;
        pause(); /* the other thread exits the process */
    }
    return 2;
}
