/*
 * signal_host.c - a host whose signals must stay its own: process-directed signals are taken
 * by any thread that does not block them, so a thread the shim starts (its reloader) must
 * block them all, or the host's handlers would run there, in the middle of the shim's work.
 *
 *   signal_host COUNT - make a server context (the shim loads and starts its reloader), wait
 *   for the reloader to run, then, as daemons that take their signals synchronously do, block
 *   SIGUSR1, SIGHUP and SIGCHLD in the main thread and send this process COUNT of them, each
 *   taken with sigtimedwait(). Exit 0 when the main thread took every one and no handler ran
 *   (a thread that did not block them would have taken them: the handler would have run there,
 *   or without a handler the process would have died); 1 otherwise.
 */

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

static pid_t main_tid;
static atomic_long handled, elsewhere;

static void handler(int sig)
{
    (void)sig;
    if ((pid_t)syscall(SYS_gettid) != main_tid)
        atomic_fetch_add(&elsewhere, 1);
    atomic_fetch_add(&handled, 1);
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 1000;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    main_tid = (pid_t)syscall(SYS_gettid);
    if (sigaction(SIGUSR1, &sa, NULL) != 0 || sigaction(SIGHUP, &sa, NULL) != 0 ||
        sigaction(SIGCHLD, &sa, NULL) != 0)
        return 2;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return 3;
    struct timespec settle = {0, 300 * 1000000L}; /* the reloader is up and in its passes */
    nanosleep(&settle, NULL);
    const int sigs[] = {SIGUSR1, SIGHUP, SIGCHLD};
    sigset_t set;
    sigemptyset(&set);
    for (int k = 0; k < 3; k++)
        sigaddset(&set, sigs[k]);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return 2;
    long taken = 0;
    for (long i = 0; i < count; i++) {
        struct timespec wait = {1, 0}, aside = {0, 200000L};
        kill(getpid(), sigs[i % 3]);
        nanosleep(&aside, NULL); /* pending: any thread that does not block it takes it now */
        if (sigtimedwait(&set, NULL, &wait) == sigs[i % 3])
            taken++;
    }
    printf("%ld of %ld signals taken by the main thread; handlers ran %ld times (%ld outside it)\n",
           taken, count, atomic_load(&handled), atomic_load(&elsewhere));
    SSL_CTX_free(ctx);
    return taken == count && atomic_load(&handled) == 0 ? 0 : 1;
}
