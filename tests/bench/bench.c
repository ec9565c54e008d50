/*
 * bench.c - the driver of `make bench`: runs the five benchmarks described in
 * tests/bench/README.md and prints one Markdown table.
 *
 * Usage: bench --bindir DIR --shim LIBOCSPSTAPLE.SO --empty EMPTY.SO [--smoke] [--keep]
 *              [--only LIST] [--rounds N] [--cg SHORT,LONG]
 *
 *   --bindir   where bench-gen, bench-hs and bench-load are
 *   --smoke    a few seconds: every program once, functional checks only (staples present
 *              where they must be, absent where they must not), no callgrind, no verdicts
 *   --keep     keep the work directory (fixtures, configurations, logs)
 *   --only     comma-separated benchmark numbers, e.g. --only 1,4
 *   --rounds   alternated rounds of the in-process comparisons of benchmark 1 (default 15)
 *   --cg       callgrind run lengths in handshakes (default 40,120)
 *
 * Every child runs with a watchdog (alarm() survives exec), every server is killed at the end,
 * everything listens on 127.0.0.1 only. The exit status is 1 when a functional check failed (a
 * variant that must staple did not, a program failed), whatever the timings say.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define MAX_ROUNDS 200
#define OUT_MAX    8192
#define WATCHDOG_S 900

static struct {
    const char *bindir, *shim, *empty;
    char work[PATH_MAX], log[PATH_MAX + 16];
    bool smoke, keep;
    int rounds, cg_short, cg_long;
    int failures;
    double t0;
    double churn_rate; /* native handshakes/s of benchmark 5's replaced runs */
    char *rows[6];     /* table rows per benchmark, printed in order */
    size_t rows_len[6];
    pid_t servers[8];
    int server_count;
} G = {.rounds = 15, .cg_short = 40, .cg_long = 120};

/* ---- small helpers ---------------------------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: [%4.0f s] ", G.t0 > 0 ? mono() - G.t0 : 0);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static void fail_check(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_check(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: FAILED: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (logs: %s)\n", G.log);
    va_end(ap);
    G.failures++;
}

static void stop_servers(void)
{
    for (int i = 0; i < G.server_count; i++)
        if (G.servers[i] > 0) {
            kill(-G.servers[i], SIGTERM);
            waitpid(G.servers[i], NULL, 0);
            G.servers[i] = 0;
        }
    G.server_count = 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* cleanup - at exit: servers stopped; the work directory removed, unless asked to keep it or
 * a check failed (its log says why). */
static void cleanup(void)
{
    stop_servers();
    if (G.work[0] == '\0')
        return;
    if (G.keep || G.failures > 0)
        fprintf(stderr, "bench: work directory kept: %s\n", G.work);
    else
        nftw(G.work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void on_signal(int sig)
{
    (void)sig;
    exit(1); /* runs cleanup() through atexit */
}

/* kv - the number after " key=" in a line of key=value pairs; NAN when absent. */
static double kv(const char *out, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = out; (p = strstr(p, key)) != NULL; p += n)
        if ((p == out || isspace((unsigned char)p[-1])) && p[n] == '=')
            return strtod(p + n + 1, NULL);
    return NAN;
}

static void append(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *grown = realloc(*buf, *len + (size_t)n + 1);
    if (grown == NULL)
        die("out of memory");
    *buf = grown;
    va_start(ap, fmt);
    vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

/* row - one line of the table. holds: 1 yes, 0 no, -1 no target (or smoke run). */
static void row(const char *num, const char *what, const char *result, const char *ratio,
                const char *target, int holds)
{
    int b = num[0] - '0';
    if (G.smoke)
        holds = -1;
    if (b < 1 || b > 5)
        die("row %s", num);
    append(&G.rows[b], &G.rows_len[b], "| %s | %s | %s | %s | %s | %s |\n", num, what, result,
           ratio, target,
           holds < 0 ? "–"
           : holds   ? "yes"
                     : "**no**");
}

/* ---- statistics --------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* quantile - of the n values (NANs ignored), linear interpolation; NAN when none. */
static double quantile(const double *v, int n, double q)
{
    double s[MAX_ROUNDS * 4];
    int m = 0;
    for (int i = 0; i < n && m < (int)(sizeof(s) / sizeof(s[0])); i++)
        if (!isnan(v[i]))
            s[m++] = v[i];
    if (m == 0)
        return NAN;
    qsort(s, (size_t)m, sizeof(s[0]), cmp_double);
    double pos = q * (m - 1);
    int lo = (int)pos;
    return lo + 1 < m ? s[lo] + (pos - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

static double median(const double *v, int n)
{
    return quantile(v, n, 0.5);
}

/* fig - "median (min–max)" of n values, with `digits` decimals. */
static char *fig(char *buf, size_t size, const double *v, int n, int digits)
{
    if (n == 1)
        snprintf(buf, size, "%.*f", digits, v[0]);
    else
        snprintf(buf, size, "%.*f (%.*f–%.*f)", digits, median(v, n), digits, quantile(v, n, 0),
                 digits, quantile(v, n, 1));
    return buf;
}

/* ratio_fig - "median [p25–p75]" of paired ratios. */
static char *ratio_fig(char *buf, size_t size, const double *r, int n)
{
    if (n == 1)
        snprintf(buf, size, "%.3f", r[0]);
    else
        snprintf(buf, size, "%.3f [%.3f–%.3f]", median(r, n), quantile(r, n, 0.25),
                 quantile(r, n, 0.75));
    return buf;
}

static char *thousands(char *buf, size_t size, double x)
{
    char raw[64];
    snprintf(raw, sizeof(raw), "%.0f", x);
    size_t len = strlen(raw), j = 0;
    for (size_t i = 0; i < len && j + 2 < size; i++) {
        if (i > 0 && raw[0] != '-' && (len - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = raw[i];
    }
    buf[j] = '\0';
    return buf;
}

/* ---- running programs --------------------------------------------------------------------- */

struct child_opts {
    const char *preload; /* LD_PRELOAD value, or NULL for none */
    const char *conf;    /* OCSPSTAPLE_CONF, or NULL */
    int out_fd;          /* stdout, or -1 for /dev/null */
    bool own_session;
};

/* spawn - fork and exec argv with a clean environment for the shim. An argument "@T0@" is
 * replaced by CLOCK_MONOTONIC in nanoseconds, taken right before exec. */
static pid_t spawn(char *const argv[], const struct child_opts *o)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid > 0)
        return pid;
    unsetenv("LD_PRELOAD");
    unsetenv("OCSPSTAPLE_CONF");
    unsetenv("OCSPSTAPLE_LOG_TARGET");
    if (o->preload != NULL)
        setenv("LD_PRELOAD", o->preload, 1);
    if (o->conf != NULL)
        setenv("OCSPSTAPLE_CONF", o->conf, 1);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log = open(G.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    dup2(devnull, 0);
    dup2(o->out_fd >= 0 ? o->out_fd : devnull, 1);
    dup2(log >= 0 ? log : devnull, 2);
    if (o->own_session)
        setsid();
    alarm(WATCHDOG_S);
    char *args[64];
    char t0[32];
    int i = 0;
    for (; argv[i] != NULL && i < 63; i++) {
        args[i] = argv[i];
        if (strcmp(argv[i], "@T0@") == 0)
            args[i] = t0;
    }
    args[i] = NULL;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(t0, sizeof(t0), "%lld", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    execvp(args[0], args);
    dprintf(2, "bench: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
}

/* run - run to completion, stdout into out; returns the exit status (or -1). */
static int run(char *const argv[], const char *preload, const char *conf, char *out, size_t outsize)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    struct child_opts o = {preload, conf, pfd[1], false};
    pid_t pid = spawn(argv, &o);
    close(pfd[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(pfd[0], out + got, outsize - 1 - got)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && (got += (size_t)n) >= outsize - 1)
            break;
    out[got] = '\0';
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *path_in(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *path_in(char *buf, const char *fmt, ...)
{
    char rel[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    if (snprintf(buf, PATH_MAX, "%s/%s", G.work, rel) >= PATH_MAX)
        die("path too long: %s/%s", G.work, rel);
    return buf;
}

static char *prog(char *buf, const char *name)
{
    if (snprintf(buf, PATH_MAX, "%s/%s", G.bindir, name) >= PATH_MAX)
        die("path too long: %s/%s", G.bindir, name);
    return buf;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* write_conf - a shim configuration: the served ECDSA or RSA certificate with `response`, and
 * `extra` other entries from the scale set, the served one first or (served_last) last. */
static void write_conf_at(const char *conf, const char *key, const char *response, int extra,
                          bool served_last)
{
    char p[PATH_MAX], c[PATH_MAX];
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        die("%s: %s", conf, strerror(errno));
    fprintf(f, "log_target = \"stderr\";\nlog_level = \"warning\";\nstaples = (\n");
    if (!served_last)
        fprintf(f, "  { certificate = \"%s\"; response = \"%s\"; }%s",
                path_in(c, "%s-chain.pem", key), response, extra > 0 ? ",\n" : "");
    for (int i = 0; i < extra; i++)
        fprintf(f, "  { certificate = \"%s\"; response = \"%s\"; }%s",
                path_in(c, "scale/%05d-chain.pem", i), path_in(p, "scale/%05d.der", i),
                i + 1 < extra || served_last ? ",\n" : "");
    if (served_last)
        fprintf(f, "  { certificate = \"%s\"; response = \"%s\"; }",
                path_in(c, "%s-chain.pem", key), response);
    fprintf(f, "\n);\n");
    if (fclose(f) != 0)
        die("%s: %s", conf, strerror(errno));
}

static void write_conf(const char *conf, const char *key, const char *response, int extra)
{
    write_conf_at(conf, key, response, extra, false);
}

/* ---- benchmark 1: handshake cost in process ------------------------------------------------ */

struct hs_variant {
    const char *label;
    char v;      /* a, b or c for bench-hs */
    bool thread; /* --idle-thread */
};

static const struct hs_variant HS_VARIANTS[] = {
    {"a", 'a', false},       {"b", 'b', false},  {"c", 'c', false},
    {"b+thread", 'b', true}, {"b′", 'b', false}, /* control: b against itself, the method's
                                                    resolution */
};
enum { VA, VB, VC, VBT, VB2, NVARIANTS };

struct hs_config {
    const char *name, *key;
    int tls;
};

static const struct hs_config HS_CONFIGS[] = {
    {"ECDSA P-256, TLS 1.3", "ec", 13},
    {"ECDSA P-256, TLS 1.2", "ec", 12},
    {"RSA-2048, TLS 1.3", "rsa", 13},
    {"RSA-2048, TLS 1.2", "rsa", 12},
};
#define NCONFIGS ((int)(sizeof(HS_CONFIGS) / sizeof(HS_CONFIGS[0])))

enum expect { EXPECT_NONE, EXPECT_DER, EXPECT_ANY };

/* run_hs - one bench-hs process; its output line into out. Checks what the client received:
 * nothing (EXPECT_NONE), the --der bytes (EXPECT_DER) or some staple (EXPECT_ANY) in every
 * handshake. `extra` is a space-separated list of more arguments, `last` one more (may hold
 * spaces). */
static bool run_hs(const struct hs_config *cfg, const struct hs_variant *var, const char *conf,
                   const char *der, const char *extra, const char *last, enum expect expect,
                   char *out)
{
    char exe[PATH_MAX], chain[PATH_MAX], key[PATH_MAX], tls[8], v[2] = {var->v, '\0'};
    char words[PATH_MAX * 4], *save = NULL;
    snprintf(tls, sizeof(tls), "%d", cfg->tls);
    char *argv[32] = {prog(exe, "bench-hs"),
                      "--variant",
                      v,
                      "--chain",
                      path_in(chain, "%s-chain.pem", cfg->key),
                      "--key",
                      path_in(key, "%s.key", cfg->key),
                      "--der",
                      (char *)der,
                      "--tls",
                      tls};
    int n = 11;
    if (var->thread)
        argv[n++] = "--idle-thread";
    snprintf(words, sizeof(words), "%s", extra ? extra : "");
    for (char *tok = strtok_r(words, " ", &save); tok != NULL && n < 28;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    if (last != NULL)
        argv[n++] = (char *)last;
    argv[n] = NULL;
    bool c = var->v == 'c';
    int rc = run(argv, c ? G.shim : NULL, c ? conf : NULL, out, OUT_MAX);
    double hs = kv(out, "handshakes"), st = kv(out, "stapled"), any = kv(out, "any_staple");
    if (rc != 0 || isnan(hs) || hs <= 0) {
        fail_check("bench-hs %s TLS %s variant %s exited %d: %s", cfg->key, tls, var->label, rc,
                   out);
        return false;
    }
    double got = expect == EXPECT_DER ? st : any, want = expect == EXPECT_NONE ? 0 : hs;
    if (got != want) {
        fail_check("bench-hs %s TLS %s variant %s: %.0f of %.0f handshakes carried %s "
                   "(expected %s)",
                   cfg->key, tls, var->label, got, hs,
                   expect == EXPECT_DER ? "the configured response" : "a staple",
                   expect == EXPECT_NONE ? "none" : "all");
        return false;
    }
    return true;
}

static void bench1(void)
{
    char conf[PATH_MAX], der[PATH_MAX], out[OUT_MAX], seconds[32];
    int rounds = G.smoke ? 1 : G.rounds;
    snprintf(seconds, sizeof(seconds), "--seconds %s", G.smoke ? "0.1" : "0.3");

    for (int ci = 0; ci < (G.smoke ? 1 : NCONFIGS); ci++) {
        const struct hs_config *cfg = &HS_CONFIGS[ci];
        int nvar = G.smoke ? 3 : ci == 0 ? NVARIANTS : VBT + 1;
        double rate[NVARIANTS][MAX_ROUNDS], p10[NVARIANTS][MAX_ROUNDS];
        path_in(conf, "%s.conf", cfg->key);
        path_in(der, "%s.der", cfg->key);
        write_conf(conf, cfg->key, der, 0);
        progress("1: %s, %d alternated rounds of %d variants", cfg->name, rounds, nvar);
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < nvar; k++) {
                int vi = (k + r) % nvar; /* rotate the order: no variant always runs first */
                rate[vi][r] = p10[vi][r] = NAN;
                const struct hs_variant *var = &HS_VARIANTS[vi];
                if (run_hs(cfg, var, conf, der, seconds, NULL,
                           var->v == 'a' ? EXPECT_NONE : EXPECT_DER, out)) {
                    rate[vi][r] = kv(out, "rate");
                    p10[vi][r] = kv(out, "hs_us_p10");
                }
            }
        char res[1024] = "", rat[1024] = "", f[128], what[256];
        size_t len = 0;
        char *resp = res;
        for (int vi = 0; vi < nvar; vi++) {
            len = strlen(res);
            snprintf(resp + len, sizeof(res) - len, "%s%s %s", vi ? " · " : "",
                     HS_VARIANTS[vi].label, fig(f, sizeof(f), rate[vi], rounds, 0));
        }
        /* Paired ratios of per-handshake time (10th percentile within each run: the cost
         * of an undisturbed handshake), same round, so same machine conditions. */
        double cb[MAX_ROUNDS], ca[MAX_ROUNDS], bt[MAX_ROUNDS], ct[MAX_ROUNDS], bb[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            cb[r] = p10[VC][r] / p10[VB][r];
            ca[r] = p10[VC][r] / p10[VA][r];
            bt[r] = nvar > VBT ? p10[VBT][r] / p10[VB][r] : NAN;
            ct[r] = nvar > VBT ? p10[VC][r] / p10[VBT][r] : NAN;
            bb[r] = nvar > VB2 ? p10[VB2][r] / p10[VB][r] : NAN;
        }
        char r1[64], r2[64], r3[64], r4[64], r5[64];
        snprintf(rat, sizeof(rat), "c/b %s · c/a %s", ratio_fig(r1, sizeof(r1), cb, rounds),
                 ratio_fig(r2, sizeof(r2), ca, rounds));
        if (nvar > VBT) {
            len = strlen(rat);
            snprintf(rat + len, sizeof(rat) - len, " · b+thread/b %s · c/(b+thread) %s",
                     ratio_fig(r3, sizeof(r3), bt, rounds), ratio_fig(r5, sizeof(r5), ct, rounds));
        }
        if (nvar > VB2) {
            len = strlen(rat);
            snprintf(rat + len, sizeof(rat) - len, " · control b′/b %s",
                     ratio_fig(r4, sizeof(r4), bb, rounds));
        }
        snprintf(what, sizeof(what), "%s, in process: handshakes/s; ratios of time per handshake",
                 cfg->name);
        row("1", what, res, rat, "c/b ≤ 1.02", median(cb, rounds) <= 1.02);
    }
}

static double callgrind_total(const char *prefix)
{
    /* Sum of "totals:" over every file callgrind wrote for this prefix (one per process). */
    char dir[PATH_MAX], base[PATH_MAX], line[512], p[PATH_MAX * 2];
    snprintf(dir, sizeof(dir), "%s", prefix);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return NAN;
    snprintf(base, sizeof(base), "%s", slash + 1);
    *slash = '\0';
    DIR *d = opendir(dir);
    double total = 0;
    int files = 0;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        size_t blen = strlen(base);
        if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.' ||
            !isdigit((unsigned char)de->d_name[blen + 1]))
            continue; /* PREFIX.PID only */
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        FILE *f = fopen(p, "r");
        while (f != NULL && fgets(line, sizeof(line), f) != NULL)
            if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0) {
                total += strtod(strchr(line, ':') + 1, NULL);
                files++;
                break;
            }
        if (f != NULL)
            fclose(f);
    }
    if (d != NULL)
        closedir(d);
    return files > 0 ? total : NAN;
}

/* Callgrind runs: collected by the benchmarks, run at the end two at a time (instruction
 * counts do not depend on timing, and the timed measurements are over by then). */
#define MAX_CG_JOBS 48
#define CG_ARGS     40

struct cg_job {
    char *argv[CG_ARGS];
    char str[CG_ARGS][PATH_MAX];
    int argc;
    const char *preload;
    char conf[PATH_MAX];
    char prefix[PATH_MAX];
    char stdout_path[PATH_MAX + 8];
    double result;
};

static struct cg_job CG[MAX_CG_JOBS];
static int cg_count;

/* cg_arg - append a copy of s to the job's command line. */
static void cg_arg(struct cg_job *j, const char *s)
{
    if (j->argc + 1 >= CG_ARGS)
        die("callgrind job: too many arguments");
    size_t n = strlen(s);
    if (n >= PATH_MAX)
        die("callgrind job: argument too long: %s", s);
    memmove(j->str[j->argc], s, n + 1);
    j->argv[j->argc] = j->str[j->argc];
    j->argv[++j->argc] = NULL;
}

/* cg_new - a callgrind run named `name` (its output files: cg/NAME.out.PID), with
 * trace_children for runs that exec other programs. */
static struct cg_job *cg_new(const char *name, const char *preload, const char *conf,
                             bool trace_children)
{
    if (cg_count == MAX_CG_JOBS)
        die("too many callgrind jobs");
    struct cg_job *j = &CG[cg_count++];
    char arg[PATH_MAX + 32], prefix[PATH_MAX];
    path_in(prefix, "cg/%s.out", name);
    memcpy(j->prefix, prefix, sizeof(prefix));
    snprintf(j->stdout_path, sizeof(j->stdout_path), "%s.stdout", prefix);
    snprintf(j->conf, sizeof(j->conf), "%s", conf ? conf : "");
    j->preload = preload;
    j->argc = 0;
    cg_arg(j, "valgrind");
    cg_arg(j, "--tool=callgrind");
    if (trace_children)
        cg_arg(j, "--trace-children=yes");
    snprintf(arg, sizeof(arg), "--callgrind-out-file=%s.%%p", j->prefix);
    cg_arg(j, arg);
    return j;
}

/* cg_hs - a callgrind run of bench-hs. */
static struct cg_job *cg_hs(const char *name, const struct hs_config *cfg,
                            const struct hs_variant *var, const char *conf, const char *der,
                            int count)
{
    char p[PATH_MAX], n[32];
    bool c = var->v == 'c';
    struct cg_job *j = cg_new(name, c ? G.shim : NULL, c ? conf : NULL, false);
    cg_arg(j, prog(p, "bench-hs"));
    cg_arg(j, "--variant");
    cg_arg(j, (char[]){var->v, '\0'});
    cg_arg(j, "--chain");
    cg_arg(j, path_in(p, "%s-chain.pem", cfg->key));
    cg_arg(j, "--key");
    cg_arg(j, path_in(p, "%s.key", cfg->key));
    cg_arg(j, "--der");
    cg_arg(j, der);
    cg_arg(j, "--tls");
    snprintf(n, sizeof(n), "%d", cfg->tls);
    cg_arg(j, n);
    cg_arg(j, "--count");
    snprintf(n, sizeof(n), "%d", count);
    cg_arg(j, n);
    cg_arg(j, "--warmup");
    cg_arg(j, "0");
    if (var->thread)
        cg_arg(j, "--idle-thread");
    return j;
}

static void cg_run_all(void)
{
    pid_t pids[2] = {0, 0};
    int which[2] = {-1, -1}, next = 0, running = 0;
    double t0 = mono();
    progress("callgrind: %d runs, two at a time", cg_count);
    while (next < cg_count || running > 0) {
        for (int s = 0; s < 2 && next < cg_count; s++)
            if (pids[s] == 0) {
                struct cg_job *j = &CG[next];
                int fd = open(j->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                struct child_opts o = {j->preload, j->conf[0] ? j->conf : NULL, fd, false};
                pids[s] = spawn(j->argv, &o);
                if (fd >= 0)
                    close(fd);
                which[s] = next++;
                running++;
            }
        int status;
        pid_t done = wait(&status);
        if (done < 0)
            break;
        for (int s = 0; s < 2; s++)
            if (pids[s] == done) {
                struct cg_job *j = &CG[which[s]];
                j->result = callgrind_total(j->prefix);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || isnan(j->result)) {
                    fail_check("valgrind run %s exited %d", j->prefix,
                               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                    j->result = NAN;
                }
                pids[s] = 0;
                running--;
            }
    }
    progress("callgrind: done in %.0f s", mono() - t0);
}

/* Benchmark 1 under callgrind: b and c for every configuration, a and b+thread for the first
 * (c/a, and what a second thread alone costs); two lengths each. */
static int cg1_idx[NCONFIGS][NVARIANTS][2];

static void bench1_callgrind_prepare(void)
{
    memset(cg1_idx, -1, sizeof(cg1_idx));
    for (int ci = 0; ci < NCONFIGS; ci++)
        for (int vi = 0; vi < VB2; vi++) {
            if (ci > 0 && (vi == VA || vi == VBT))
                continue;
            const struct hs_config *cfg = &HS_CONFIGS[ci];
            const struct hs_variant *var = &HS_VARIANTS[vi];
            char conf[PATH_MAX], der[PATH_MAX], name[64];
            path_in(conf, "%s.conf", cfg->key);
            path_in(der, "%s.der", cfg->key);
            write_conf(conf, cfg->key, der, 0);
            for (int l = 0; l < 2; l++) {
                snprintf(name, sizeof(name), "hs.%s%d.%s.%d", cfg->key, cfg->tls,
                         var->thread ? "bt" : (char[]){var->v, '\0'}, l);
                cg1_idx[ci][vi][l] = cg_count;
                cg_hs(name, cfg, var, conf, der, l ? G.cg_long : G.cg_short);
            }
        }
}

static void bench1_callgrind_report(void)
{
    for (int ci = 0; ci < NCONFIGS; ci++) {
        double m[NVARIANTS];
        char res[512] = "", rat[256], f[64], what[256];
        for (int vi = 0; vi < VB2; vi++) {
            m[vi] = NAN;
            if (cg1_idx[ci][vi][0] < 0)
                continue;
            m[vi] = (CG[cg1_idx[ci][vi][1]].result - CG[cg1_idx[ci][vi][0]].result) /
                    (G.cg_long - G.cg_short);
            size_t len = strlen(res);
            snprintf(res + len, sizeof(res) - len, "%s%s %s", len ? " · " : "",
                     HS_VARIANTS[vi].label, thousands(f, sizeof(f), m[vi]));
        }
        snprintf(rat, sizeof(rat), "c/b %.4f (c−b %s)", m[VC] / m[VB],
                 thousands(f, sizeof(f), m[VC] - m[VB]));
        if (!isnan(m[VA])) {
            size_t len = strlen(rat);
            snprintf(rat + len, sizeof(rat) - len,
                     " · c/a %.4f · b+thread/b %.4f · c/(b+thread) %.5f (c−(b+thread) %s)",
                     m[VC] / m[VA], m[VBT] / m[VB], m[VC] / m[VBT],
                     thousands(f, sizeof(f), m[VC] - m[VBT]));
        }
        snprintf(what, sizeof(what),
                 "%s: instructions per handshake (callgrind, marginal over %d handshakes)",
                 HS_CONFIGS[ci].name, G.cg_long - G.cg_short);
        row("1", what, res, rat, "c/b ≤ 1.01", m[VC] / m[VB] <= 1.01);
    }
}

/* ---- benchmark 2: scale of the configuration ----------------------------------------------- */

/* der_bytes_of_certs - DER size of every certificate in a PEM file. */
static long der_bytes_of_certs(const char *pem)
{
    long total = 0;
    FILE *f = fopen(pem, "r");
    X509 *x;
    while (f != NULL && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        total += i2d_X509(x, NULL);
        X509_free(x);
    }
    if (f != NULL)
        fclose(f);
    return total;
}

/* Benchmark 2's configurations: N entries, the served one first or last. */
struct scale_conf {
    int count;
    bool last;
    const char *label;
};

static void bench2(int nscale)
{
    struct scale_conf confs[5] = {{1, false, "1"},
                                  {100, false, "100, served first"},
                                  {100, true, "100, served last"},
                                  {10000, false, "10000, served first"},
                                  {10000, true, "10000, served last"}};
    int nconfs = 5;
    if (G.smoke) {
        confs[1] = (struct scale_conf){10, true, "10, served last"};
        nconfs = 2;
    }
    int biggest = confs[nconfs - 1].count;
    if (biggest - 1 > nscale)
        die("bench2: not enough generated entries");
    int rounds = G.smoke ? 1 : 5;
    char conf[5][PATH_MAX], der[PATH_MAX], out[OUT_MAX], p[PATH_MAX];
    double rate[5][MAX_ROUNDS], p10[5][MAX_ROUNDS], start[5][MAX_ROUNDS], rss[5][MAX_ROUNDS];
    double hwm[5][MAX_ROUNDS], other[5][MAX_ROUNDS];
    double resp_bytes[5], cert_bytes[5];
    const struct hs_config cfg = {"ECDSA P-256, TLS 1.3", "ec", 13};
    const struct hs_variant var = {"c", 'c', false};

    path_in(der, "ec.der");
    long one_cert = der_bytes_of_certs(path_in(p, "ec-chain.pem"));
    long scale_cert = nscale > 0 ? der_bytes_of_certs(path_in(p, "scale/00000-chain.pem")) : 0;
    for (int k = 0; k < nconfs; k++) {
        path_in(conf[k], "scale-%d-%s.conf", confs[k].count, confs[k].last ? "last" : "first");
        write_conf_at(conf[k], "ec", der, confs[k].count - 1, confs[k].last);
        resp_bytes[k] = (double)file_size(der);
        for (int i = 0; i < confs[k].count - 1; i++)
            resp_bytes[k] += (double)file_size(path_in(p, "scale/%05d.der", i));
        cert_bytes[k] = (double)one_cert + (double)scale_cert * (confs[k].count - 1);
    }
    progress("2: 1/100/10,000 configured responses, served first or last, %d alternated rounds",
             rounds);
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < nconfs; j++) {
            int k = (j + r) % nconfs;
            rate[k][r] = p10[k][r] = start[k][r] = rss[k][r] = hwm[k][r] = other[k][r] = NAN;
            /* --settle: the timed run starts 2 s after the first staple, when a large
             * configuration has been read in the background: it measures the steady state. */
            if (run_hs(&cfg, &var, conf[k], der,
                       G.smoke ? "--seconds 0.1 --settle 0.1 --t0" : "--seconds 2 --settle 2 --t0",
                       "@T0@", EXPECT_DER, out)) {
                rate[k][r] = kv(out, "rate");
                p10[k][r] = kv(out, "hs_us_p10");
                start[k][r] = kv(out, "first_staple_ms");
                rss[k][r] = kv(out, "rss_kb");
                hwm[k][r] = kv(out, "hwm_kb");
                other[k][r] = kv(out, "other_threads_cpu_ms_per_s");
            }
        }
    int last = nconfs - 1; /* the largest count, served last: every file read before it */
    char res[768] = "", f[128], rat[384], what[256];
    double ratio[MAX_ROUNDS];
    for (int k = 0; k < nconfs; k++) {
        if (confs[k].count > 1 && !confs[k].last)
            continue;
        size_t len = strlen(res);
        snprintf(res + len, sizeof(res) - len, "%s%d: %s", len ? " · " : "", confs[k].count,
                 fig(f, sizeof(f), rate[k], rounds, 0));
    }
    for (int k = 0, first = 1; k < nconfs; k++) {
        if (confs[k].count > 1 && !confs[k].last)
            continue;
        size_t len = strlen(res);
        snprintf(res + len, sizeof(res) - len, "%s%d: %.2f",
                 first ? "; reloader thread CPU, ms per s: " : " · ", confs[k].count,
                 median(other[k], rounds));
        first = 0;
    }
    /* Cost of a handshake with N entries against 1: the handshaking thread's time per
     * handshake, times the CPU the reloader takes besides (what a saturated server loses). */
    double comb[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        ratio[r] = p10[last][r] / p10[0][r];
        comb[r] = ratio[r] * (1 + (other[last][r] - other[0][r]) / 1000);
    }
    char f2[128];
    snprintf(rat, sizeof(rat),
             "%d vs 1: time per handshake %s; with the reloader's CPU added (saturated server) "
             "%s",
             confs[last].count, ratio_fig(f, sizeof(f), ratio, rounds),
             ratio_fig(f2, sizeof(f2), comb, rounds));
    row("2",
        "configured responses (served one among them), under the shim, ECDSA TLS 1.3, steady "
        "state: handshakes/s; cost ratio",
        res, rat, "≤ 1.02", median(comb, rounds) <= 1.02);

    res[0] = '\0';
    for (int k = 0; k < nconfs; k++) {
        size_t len = strlen(res);
        snprintf(res + len, sizeof(res) - len, "%s%s: %s ms", k ? " · " : "", confs[k].label,
                 fig(f, sizeof(f), start[k], rounds, 0));
    }
    /* Served last, the first staple comes after every other file was read: the worst case,
     * and the time the whole load takes. */
    double base = median(start[0], rounds), worst = median(start[last], rounds) - base;
    double best = nconfs > 3 ? median(start[last - 1], rounds) - base : worst;
    snprintf(rat, sizeof(rat), "%d adds %.0f ms served first, %.0f ms served last",
             confs[last].count, best, worst);
    row("2", "start-up: exec to the end of the first stapled handshake", res, rat,
        "≤ +100 ms", worst <= 100);

    res[0] = '\0';
    for (int k = 0; k < nconfs; k++) {
        if (confs[k].count > 1 && !confs[k].last)
            continue;
        size_t len = strlen(res);
        snprintf(res + len, sizeof(res) - len, "%s%d: %.1f MB (peak %.1f)", len ? " · " : "",
                 confs[k].count, median(rss[k], rounds) / 1024, median(hwm[k], rounds) / 1024);
    }
    double grow = (median(rss[last], rounds) - median(rss[0], rounds)) * 1024;
    double dresp = resp_bytes[last] - resp_bytes[0], dcert = cert_bytes[last] - cert_bytes[0];
    snprintf(rat, sizeof(rat),
             "+%.1f MB = %.2f× the %.2f MB of DER responses added (%.2f× responses and "
             "certificates, %.2f MB)",
             grow / 1e6, grow / dresp, dresp / 1e6, grow / (dresp + dcert), (dresp + dcert) / 1e6);
    snprintf(what, sizeof(what), "resident memory (VmRSS) after the run");
    row("2", what, res, rat, "≤ 3× DER", grow <= 3 * dresp);
}

/* ---- benchmark 3: openssl s_server over loopback ------------------------------------------- */

static bool port_listening(int port)
{
    char line[512];
    bool found = false;
    FILE *f = fopen("/proc/net/tcp", "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned local_port, state;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &local_port, &state) == 2 &&
            (int)local_port == port && state == 0x0A)
            found = true;
    }
    if (f != NULL)
        fclose(f);
    return found;
}

static bool port_in_use(int port)
{
    char line[512];
    bool found = false;
    FILE *f = fopen("/proc/net/tcp", "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned a, b;
        if (sscanf(line, " %*d: %*x:%x %*x:%x", &a, &b) == 2 && ((int)a == port || (int)b == port))
            found = true;
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* start_s_server - unmodified openssl s_server on 127.0.0.1, with built-in stapling of
 * status_file, or under the shim with conf; under callgrind (output files cg_prefix.PID) and
 * ending after naccept connections when cg_prefix is given. Returns its port, or 0. */
static int start_s_server(const char *key, const char *status_file, const char *conf,
                          const char *cg_prefix, int naccept, pid_t *pid)
{
    char chain[PATH_MAX], keyp[PATH_MAX], accept[64], cgout[PATH_MAX + 32], nacc[16];
    for (int attempt = 0; attempt < 5; attempt++) {
        int port, n = 0;
        do
            port = 20000 + (int)(random() % 12000);
        while (port_in_use(port));
        snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
        char *argv[32];
        if (cg_prefix != NULL) {
            snprintf(cgout, sizeof(cgout), "--callgrind-out-file=%s.%%p", cg_prefix);
            argv[n++] = "valgrind";
            argv[n++] = "--tool=callgrind";
            argv[n++] = cgout;
        }
        argv[n++] = "openssl";
        argv[n++] = "s_server";
        argv[n++] = "-accept";
        argv[n++] = accept;
        argv[n++] = "-www";
        argv[n++] = "-cert";
        argv[n++] = path_in(chain, "%s-chain.pem", key);
        argv[n++] = "-key";
        argv[n++] = path_in(keyp, "%s.key", key);
        argv[n++] = "-num_tickets";
        argv[n++] = "0";
        if (status_file != NULL) {
            argv[n++] = "-status_file";
            argv[n++] = (char *)status_file;
        }
        if (naccept > 0) {
            snprintf(nacc, sizeof(nacc), "%d", naccept);
            argv[n++] = "-naccept";
            argv[n++] = nacc;
        }
        argv[n] = NULL;
        struct child_opts o = {conf ? G.shim : NULL, conf, -1, true};
        *pid = spawn(argv, &o);
        G.servers[G.server_count++] = *pid;
        for (int i = 0; i < 600; i++) { /* up to 60 s: valgrind starts slowly */
            if (port_listening(port))
                return port;
            if (waitpid(*pid, NULL, WNOHANG) == *pid) {
                G.servers[--G.server_count] = 0;
                break;
            }
            usleep(100000);
        }
    }
    return 0;
}

/* wait_server - wait up to `seconds` for a server started above to exit by itself; kill it
 * otherwise. Returns true when it exited with status 0. */
static bool wait_server(pid_t pid, double seconds)
{
    int status = -1;
    bool exited = false;
    for (double t0 = mono(); mono() - t0 < seconds;) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
        usleep(50000);
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    for (int i = 0; i < G.server_count; i++)
        if (G.servers[i] == pid) {
            G.servers[i] = G.servers[--G.server_count];
            G.servers[G.server_count] = 0;
        }
    return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f != NULL)
            fclose(f);
        return NAN;
    }
    fclose(f);
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void bench3(void)
{
    static const struct {
        const char *name, *key;
    } keys[] = {{"RSA-2048", "rsa"}, {"ECDSA P-256", "ec"}};
    int rounds = G.smoke ? 1 : 9;
    const char *secs = G.smoke ? "0.3" : "1.5";
    for (size_t ki = 0; ki < (G.smoke ? 1 : sizeof(keys) / sizeof(keys[0])); ki++) {
        char der[PATH_MAX], conf[PATH_MAX], exe[PATH_MAX], out[OUT_MAX], port_s[2][16];
        pid_t pid[2];
        int port[2];
        path_in(der, "%s.der", keys[ki].key);
        path_in(conf, "%s.conf", keys[ki].key);
        write_conf(conf, keys[ki].key, der, 0);
        port[0] = start_s_server(keys[ki].key, der, NULL, NULL, 0, &pid[0]);  /* built-in */
        port[1] = start_s_server(keys[ki].key, NULL, conf, NULL, 0, &pid[1]); /* shim */
        if (port[0] == 0 || port[1] == 0) {
            fail_check("openssl s_server did not start");
            stop_servers();
            return;
        }
        progress("3: openssl s_server, %s, built-in vs shim, %d alternated rounds of %s s",
                 keys[ki].name, rounds, secs);
        double rate[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS];
        for (int s = 0; s < 2; s++)
            snprintf(port_s[s], sizeof(port_s[s]), "%d", port[s]);
        for (int r = -1; r < rounds; r++) /* round -1: warm-up, not counted */
            for (int j = 0; j < 2; j++) {
                int s = (j + (r < 0 ? 0 : r)) % 2;
                char *argv[] = {prog(exe, "bench-load"),
                                "--port",
                                port_s[s],
                                "--threads",
                                "4",
                                "--seconds",
                                r < 0 ? "0.3" : (char *)secs,
                                "--tls",
                                "13",
                                "--der",
                                der,
                                NULL};
                double c0 = proc_cpu_s(pid[s]);
                int rc = run(argv, NULL, NULL, out, sizeof(out));
                double c1 = proc_cpu_s(pid[s]);
                double hs = kv(out, "handshakes"), st = kv(out, "stapled");
                if (rc != 0 || !(hs > 0) || st != hs) {
                    fail_check("bench-load against s_server %s (%s): exit %d, %s", keys[ki].key,
                               s ? "shim" : "built-in", rc, out);
                    if (r >= 0)
                        rate[s][r] = cpu[s][r] = NAN;
                    continue;
                }
                if (r >= 0) {
                    rate[s][r] = kv(out, "rate");
                    cpu[s][r] = (c1 - c0) / hs * 1e6; /* server CPU µs per handshake */
                }
            }
        stop_servers();
        double ratio[MAX_ROUNDS], cratio[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            ratio[r] = rate[1][r] / rate[0][r];
            cratio[r] = cpu[1][r] / cpu[0][r];
        }
        char res[512], f1[128], f2[128], f3[128], f4[128], rat[256], what[256];
        snprintf(res, sizeof(res),
                 "built-in %s · shim %s; server CPU per handshake: built-in %s µs · shim %s µs",
                 fig(f1, sizeof(f1), rate[0], rounds, 0), fig(f2, sizeof(f2), rate[1], rounds, 0),
                 fig(f3, sizeof(f3), cpu[0], rounds, 0), fig(f4, sizeof(f4), cpu[1], rounds, 0));
        snprintf(rat, sizeof(rat), "shim/built-in rate %s · CPU %s",
                 ratio_fig(f1, sizeof(f1), ratio, rounds),
                 ratio_fig(f2, sizeof(f2), cratio, rounds));
        snprintf(what, sizeof(what),
                 "openssl s_server over loopback, %s, TLS 1.3, 4 parallel connections: "
                 "handshakes/s",
                 keys[ki].name);
        row("3", what, res, rat, "≥ 0.98", median(ratio, rounds) >= 0.98);
    }
}

/* bench3_callgrind - s_server's own instructions per handshake, built-in stapling against the
 * shim: each server under callgrind ends after N connections (-naccept); two lengths, the
 * difference. The two variants run at the same time, each with its own client. */
static void bench3_callgrind(void)
{
    static const char *const keys[2] = {"rsa", "ec"}, *const names[2] = {"RSA-2048", "ECDSA P-256"};
    for (int ki = 0; ki < 2; ki++) {
        char der[PATH_MAX], conf[PATH_MAX];
        double total[2][2] = {{NAN, NAN}, {NAN, NAN}};
        path_in(der, "%s.der", keys[ki]);
        path_in(conf, "%s.conf", keys[ki]);
        write_conf(conf, keys[ki], der, 0);
        progress("3: callgrind, s_server %s, %d and %d handshakes", names[ki], G.cg_short,
                 G.cg_long);
        for (int l = 0; l < 2; l++) {
            int count = l ? G.cg_long : G.cg_short, port[2];
            char prefix[2][PATH_MAX], port_s[2][16], count_s[16], exe[PATH_MAX];
            pid_t pid[2], client[2];
            snprintf(count_s, sizeof(count_s), "%d", count);
            for (int v = 0; v < 2; v++) {
                path_in(prefix[v], "cg/s_server.%s.%s.%d.out", keys[ki], v ? "shim" : "builtin", l);
                port[v] = start_s_server(keys[ki], v ? NULL : der, v ? conf : NULL, prefix[v],
                                         count, &pid[v]);
                snprintf(port_s[v], sizeof(port_s[v]), "%d", port[v]);
            }
            for (int v = 0; v < 2; v++) {
                char *argv[] = {prog(exe, "bench-load"),
                                "--port",
                                port_s[v],
                                "--threads",
                                "1",
                                "--count",
                                count_s,
                                "--seconds",
                                "300",
                                "--tls",
                                "13",
                                "--der",
                                der,
                                NULL};
                struct child_opts o = {NULL, NULL, -1, false};
                client[v] = port[v] ? spawn(argv, &o) : -1;
            }
            for (int v = 0; v < 2; v++) {
                int status = -1;
                if (client[v] > 0)
                    waitpid(client[v], &status, 0);
                bool ok = client[v] > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
                ok = wait_server(pid[v], 120) && ok;
                total[v][l] = ok ? callgrind_total(prefix[v]) : NAN;
                if (isnan(total[v][l]))
                    fail_check("s_server %s (%s) under callgrind, %d connections", keys[ki],
                               v ? "shim" : "built-in", count);
            }
        }
        double m[2];
        for (int v = 0; v < 2; v++)
            m[v] = (total[v][1] - total[v][0]) / (G.cg_long - G.cg_short);
        char res[256], rat[128], f[2][64], what[256];
        snprintf(res, sizeof(res), "built-in %s · shim %s", thousands(f[0], sizeof(f[0]), m[0]),
                 thousands(f[1], sizeof(f[1]), m[1]));
        snprintf(rat, sizeof(rat), "shim/built-in %.4f", m[1] / m[0]);
        snprintf(what, sizeof(what),
                 "openssl s_server, %s, TLS 1.3: server instructions per handshake (callgrind, "
                 "marginal over %d handshakes)",
                 names[ki], G.cg_long - G.cg_short);
        row("3", what, res, rat, "≤ 1.02 (≙ rate ≥ 0.98)", m[1] / m[0] <= 1.0 / 0.98);
    }
}

/* ---- benchmark 4: processes that do not use TLS -------------------------------------------- */

/* bench4 - wall time of processes that never use TLS, plain, under an empty preload object
 * and under the shim (with a valid configuration it would load if TLS were used). */
static void bench4(const char *script)
{
    const char *names[3] = {"plain", "empty preload", "shim"};
    const char *preload[3] = {NULL, G.empty, G.shim};
    struct {
        const char *what;
        char *argv[4];
        int runs;
    } progs[2] = {
        {"/bin/true", {"/bin/true", NULL}, G.smoke ? 3 : 300},
        {"shell script of 100 commands", {"/bin/sh", (char *)script, NULL}, G.smoke ? 1 : 21}};
    char out[OUT_MAX], conf[PATH_MAX];
    path_in(conf, "ec.conf"); /* present and valid: the shim would load it if TLS were used */

    for (int pi = 0; pi < 2; pi++) {
        int n = progs[pi].runs;
        double *t[3];
        for (int k = 0; k < 3; k++)
            t[k] = calloc((size_t)n, sizeof(double));
        progress("4: %s, %d alternated runs of 3 variants", progs[pi].what, n);
        for (int r = 0; r < n; r++)
            for (int j = 0; j < 3; j++) {
                int k = (j + r) % 3;
                double t0 = mono();
                int rc = run(progs[pi].argv, preload[k], conf, out, sizeof(out));
                t[k][r] = (mono() - t0) * 1e3;
                if (rc != 0) {
                    fail_check("%s under %s exited %d", progs[pi].what, names[k], rc);
                    t[k][r] = NAN;
                }
            }
        double ratio[1024], ratio_plain[1024];
        int m = n < 1024 ? n : 1024;
        for (int r = 0; r < m; r++) {
            ratio[r] = t[2][r] / t[1][r];
            ratio_plain[r] = t[1][r] / t[0][r];
        }
        /* quantile() copies at most MAX_ROUNDS*4 values: use a strided subsample if larger. */
        double sub[3][MAX_ROUNDS * 4], rsub[MAX_ROUNDS * 4], psub[MAX_ROUNDS * 4];
        int ns = 0;
        for (int r = 0; r < m && ns < MAX_ROUNDS * 4; r++, ns++) {
            for (int k = 0; k < 3; k++)
                sub[k][ns] = t[k][r];
            rsub[ns] = ratio[r];
            psub[ns] = ratio_plain[r];
        }
        char res[512], f[3][128], rat[256], r1[64], r2[64], what[256];
        snprintf(res, sizeof(res), "plain %s ms · empty preload %s ms · shim %s ms",
                 fig(f[0], sizeof(f[0]), sub[0], ns, 2), fig(f[1], sizeof(f[1]), sub[1], ns, 2),
                 fig(f[2], sizeof(f[2]), sub[2], ns, 2));
        snprintf(rat, sizeof(rat), "shim/empty %s · empty/plain %s",
                 ratio_fig(r1, sizeof(r1), rsub, ns), ratio_fig(r2, sizeof(r2), psub, ns));
        snprintf(what, sizeof(what), "%s: wall time, no TLS", progs[pi].what);
        row("4", what, res, rat, "≤ 1.05", median(rsub, ns) <= 1.05);
        for (int k = 0; k < 3; k++)
            free(t[k]);
    }
}

/* Benchmark 4 under callgrind: every process of the run (the script's children too). */
static const char *const NOTLS_WHAT[2] = {"/bin/true", "shell script of 100 commands"};
static int cg4_first = -1;

static void bench4_callgrind_prepare(const char *script)
{
    const char *preload[3] = {NULL, G.empty, G.shim};
    char conf[PATH_MAX], name[64];
    path_in(conf, "ec.conf");
    cg4_first = cg_count;
    for (int pi = 0; pi < 2; pi++)
        for (int k = 0; k < 3; k++) {
            snprintf(name, sizeof(name), "noTLS.%d.%d", pi, k);
            struct cg_job *j = cg_new(name, preload[k], conf, true);
            if (pi == 0) {
                cg_arg(j, "/bin/true");
            } else {
                cg_arg(j, "/bin/sh");
                cg_arg(j, script);
            }
        }
}

static void bench4_callgrind_report(void)
{
    for (int pi = 0; pi < 2; pi++) {
        const struct cg_job *j = &CG[cg4_first + pi * 3];
        double v[3] = {j[0].result, j[1].result, j[2].result};
        char res[256], rat[128], f[3][64], what[256];
        snprintf(res, sizeof(res), "plain %s · empty preload %s · shim %s",
                 thousands(f[0], sizeof(f[0]), v[0]), thousands(f[1], sizeof(f[1]), v[1]),
                 thousands(f[2], sizeof(f[2]), v[2]));
        snprintf(rat, sizeof(rat), "shim/empty %.3f · empty/plain %.3f", v[2] / v[1], v[1] / v[0]);
        snprintf(what, sizeof(what), "%s: instructions (callgrind, all processes), no TLS",
                 NOTLS_WHAT[pi]);
        row("4", what, res, rat, "≤ 1.05", v[2] / v[1] <= 1.05);
    }
}

/* ---- benchmark 5: reload ------------------------------------------------------------------ */

/* copy_file - dest gets the bytes of src. */
static void copy_file(const char *src, const char *dest)
{
    char buf[65536];
    FILE *in = fopen(src, "rb"), *o = fopen(dest, "wb");
    size_t n = in ? fread(buf, 1, sizeof(buf), in) : 0;
    if (in == NULL || o == NULL || fwrite(buf, 1, n, o) != n || fclose(o) != 0)
        die("cannot copy %s to %s", src, dest);
    fclose(in);
}

/* latency_row - reload latency under load: the live file starts as the oldest response, then
 * `replacements` newer ones replace it (bench-hs --latency). */
static void latency_row(const char *what, const char *conf, const char *live, int replacements)
{
    char exe[PATH_MAX], chain[PATH_MAX], key[PATH_MAX], series[PATH_MAX], p[PATH_MAX];
    char out[OUT_MAX], n_s[16], lat_list[256] = "";
    copy_file(path_in(p, "ec.der"), live);
    path_in(series, "ec-series-");
    snprintf(n_s, sizeof(n_s), "%d", replacements);
    char *argv[] = {prog(exe, "bench-hs"),
                    "--variant",
                    "c",
                    "--chain",
                    path_in(chain, "ec-chain.pem"),
                    "--key",
                    path_in(key, "ec.key"),
                    "--der",
                    (char *)live,
                    "--tls",
                    "13",
                    "--latency",
                    (char *)live,
                    series,
                    n_s,
                    NULL};
    int rc = run(argv, G.shim, conf, out, sizeof(out));
    double lat_max = kv(out, "latency_max_ms");
    const char *l = strstr(out, "latencies_ms=");
    if (rc != 0 || l == NULL || isnan(lat_max))
        fail_check("reload latency run exited %d: %s", rc, out);
    else
        sscanf(l + 13, "%255s", lat_list);
    double lats[64];
    int nl = 0;
    char list_copy[256], *save = NULL, res[512];
    snprintf(list_copy, sizeof(list_copy), "%s", lat_list);
    for (char *tok = strtok_r(list_copy, ",", &save); tok != NULL && nl < 64;
         tok = strtok_r(NULL, ",", &save))
        lats[nl++] = atof(tok);
    snprintf(res, sizeof(res), "median %.0f ms, max %.0f ms over %d replacements (%s ms)",
             nl ? median(lats, nl) : NAN, lat_max, nl, lat_list);
    row("5", what, res, "–", "≤ 2 s", lat_max <= 2000);
}

static void bench5(int nseries, int nscale)
{
    char live[PATH_MAX], decoy[PATH_MAX], conf[PATH_MAX], series[PATH_MAX];
    char out[OUT_MAX], p[PATH_MAX], res[512], rat[256];
    const struct hs_config cfg = {"ECDSA P-256, TLS 1.3", "ec", 13};
    const struct hs_variant var = {"c", 'c', false};
    int replacements = G.smoke ? 1 : 6;

    mkdir(path_in(p, "live"), 0755);
    mkdir(path_in(p, "decoy"), 0755);
    path_in(live, "live/ec.der");
    path_in(decoy, "decoy/ec.der");
    path_in(series, "ec-series-");
    path_in(conf, "live.conf");
    write_conf(conf, "ec", live, 0);
    progress("5: reload latency, %d replacements under load", replacements);
    latency_row("reload: atomic replacement of the response file → first handshake carrying the "
                "new one, handshakes running all the time",
                conf, live, replacements);
    if (!G.smoke && nscale >= 9999) {
        char conf10k[PATH_MAX];
        path_in(conf10k, "live-10000.conf");
        write_conf(conf10k, "ec", live, 9999);
        progress("5: reload latency with 10,000 configured responses, 3 replacements");
        latency_row("same, with 10,000 configured responses (one file replaced)", conf10k, live, 3);
    }
    copy_file(path_in(p, "ec.der"), live);

    /* Rate while one file is replaced every 100 ms, versus the same writes to a file the shim
     * does not watch (so the only difference is the shim reloading). The cost ratio is the
     * handshaking thread's time per handshake times the CPU the reloader takes besides: what a
     * server whose cores are all busy would lose. The wall-clock rate is shown too. */
    int rounds = G.smoke ? 1 : 9;
    double rate[2][MAX_ROUNDS], p10[2][MAX_ROUNDS], other[2][MAX_ROUNDS];
    progress("5: handshake rate with a replacement every 100 ms, %d alternated rounds", rounds);
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < 2; j++) {
            int k = (j + r) % 2;
            rate[k][r] = p10[k][r] = other[k][r] = NAN;
            char extra[PATH_MAX * 3];
            snprintf(extra, sizeof(extra), "--seconds %s --churn %s %s %d", G.smoke ? "0.3" : "1.5",
                     k ? live : decoy, series, nseries);
            if (!run_hs(&cfg, &var, conf, live, extra, NULL, EXPECT_ANY, out))
                continue;
            rate[k][r] = kv(out, "rate");
            p10[k][r] = kv(out, "hs_us_p10");
            other[k][r] = kv(out, "other_threads_cpu_ms_per_s");
        }
    double ratio[MAX_ROUNDS], equiv[MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        ratio[r] = rate[1][r] / rate[0][r];
        equiv[r] = 1 / (p10[1][r] / p10[0][r] * (1 + (other[1][r] - other[0][r]) / 1000));
    }
    G.churn_rate = median(rate[1], rounds);
    char f1[128], f2[128];
    snprintf(res, sizeof(res),
             "replaced %s · not replaced %s; reloader thread CPU, ms per s: replaced %.2f · not "
             "replaced %.2f",
             fig(f1, sizeof(f1), rate[1], rounds, 0), fig(f2, sizeof(f2), rate[0], rounds, 0),
             median(other[1], rounds), median(other[0], rounds));
    snprintf(rat, sizeof(rat),
             "rate-equivalent (time per handshake, reloader CPU added) %s · wall-clock rate %s",
             ratio_fig(f2, sizeof(f2), equiv, rounds), ratio_fig(f1, sizeof(f1), ratio, rounds));
    row("5",
        "handshakes/s while the served response is replaced every 100 ms, vs the same "
        "writes to an unwatched file (ECDSA TLS 1.3, in process)",
        res, rat, "≥ 0.98", median(equiv, rounds) >= 0.98);
}

/* Benchmark 5 under callgrind: instructions per handshake while the served response is
 * replaced every 100 ms (live) and while the same writes go to an unwatched file (decoy), two
 * lengths each. Under callgrind a handshake takes some 50 times longer, so the reloader's work
 * (once a second) weighs some 50 times more per handshake than natively: an upper bound. */
static int cg5_first = -1;

static void bench5_callgrind_prepare(int nseries)
{
    const struct hs_config cfg = {"ECDSA P-256, TLS 1.3", "ec", 13};
    const struct hs_variant var = {"c", 'c', false};
    char conf[PATH_MAX], live[PATH_MAX], decoy[PATH_MAX], series[PATH_MAX], name[64], n[16];
    path_in(conf, "live.conf");
    path_in(live, "live/ec.der");
    path_in(decoy, "decoy/ec.der");
    path_in(series, "ec-series-");
    snprintf(n, sizeof(n), "%d", nseries);
    cg5_first = cg_count;
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 2; l++) {
            snprintf(name, sizeof(name), "churn.%s.%d", k ? "live" : "decoy", l);
            struct cg_job *j = cg_hs(name, &cfg, &var, conf, live, l ? G.cg_long : G.cg_short);
            cg_arg(j, "--churn");
            cg_arg(j, k ? live : decoy);
            cg_arg(j, series);
            cg_arg(j, n);
        }
}

static void bench5_callgrind_report(void)
{
    const struct cg_job *j = &CG[cg5_first];
    double len = G.cg_long - G.cg_short;
    double decoy = (j[1].result - j[0].result) / len, live = (j[3].result - j[2].result) / len;
    /* Reload work comes once a second: per handshake it weighs (rate under callgrind) / (rate
     * natively) of what it weighs under callgrind. */
    double cg_rate = NAN;
    char line[OUT_MAX];
    FILE *f = fopen(j[3].stdout_path, "r");
    if (f != NULL && fgets(line, sizeof(line), f) != NULL)
        cg_rate = kv(line, "rate");
    if (f != NULL)
        fclose(f);
    double native = 1 + (live / decoy - 1) * cg_rate / G.churn_rate;
    char res[256], rat[256], f1[64], f2[64];
    snprintf(res, sizeof(res), "replaced %s · not replaced %s", thousands(f1, sizeof(f1), live),
             thousands(f2, sizeof(f2), decoy));
    snprintf(rat, sizeof(rat),
             "replaced/not %.4f at %.1f handshakes/s under callgrind; scaled to the native %.0f "
             "handshakes/s: %.5f",
             live / decoy, cg_rate, G.churn_rate, native);
    row("5", "same, instructions per handshake (callgrind, marginal)", res, rat,
        "≤ 1.02 (≙ rate ≥ 0.98)", native <= 1.0 / 0.98);
}

/* ---- main --------------------------------------------------------------------------------- */

static void machine(char *buf, size_t size)
{
    char line[512], model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c != NULL) {
                snprintf(model, sizeof(model), "%s", c + 2);
                model[strcspn(model, "\n")] = '\0';
            }
            break;
        }
    if (f != NULL)
        fclose(f);
    struct utsname u;
    uname(&u);
    snprintf(buf, size, "%s, %ld cores, %s, Linux %s", model, sysconf(_SC_NPROCESSORS_ONLN),
             OpenSSL_version(OPENSSL_VERSION), u.release);
}

int main(int argc, char **argv)
{
    const char *only = "1,2,3,4,5";
    for (int i = 1; i < argc; i++) {
        bool more = i + 1 < argc;
        if (strcmp(argv[i], "--bindir") == 0 && more)
            G.bindir = argv[++i];
        else if (strcmp(argv[i], "--shim") == 0 && more)
            G.shim = argv[++i];
        else if (strcmp(argv[i], "--empty") == 0 && more)
            G.empty = argv[++i];
        else if (strcmp(argv[i], "--smoke") == 0)
            G.smoke = true;
        else if (strcmp(argv[i], "--keep") == 0)
            G.keep = true;
        else if (strcmp(argv[i], "--only") == 0 && more)
            only = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0 && more)
            G.rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cg") == 0 && more) {
            if (sscanf(argv[++i], "%d,%d", &G.cg_short, &G.cg_long) != 2)
                die("--cg SHORT,LONG");
        } else
            die("unknown argument %s (see tests/bench/bench.c)", argv[i]);
    }
    if (G.bindir == NULL || G.shim == NULL || G.empty == NULL)
        die("usage: bench --bindir DIR --shim LIBOCSPSTAPLE.SO --empty EMPTY.SO [--smoke]");
    if (G.rounds < 1 || G.rounds > MAX_ROUNDS || G.cg_short < 1 || G.cg_long <= G.cg_short)
        die("bad --rounds or --cg");
    static char shim_abs[PATH_MAX], empty_abs[PATH_MAX], bindir_abs[PATH_MAX];
    if (realpath(G.shim, shim_abs) == NULL || realpath(G.empty, empty_abs) == NULL ||
        realpath(G.bindir, bindir_abs) == NULL)
        die("cannot find the shim, the empty object or the programs: %s", strerror(errno));
    G.shim = shim_abs;
    G.empty = empty_abs;
    G.bindir = bindir_abs;

    const char *tmp = getenv("TMPDIR");
    snprintf(G.work, sizeof(G.work), "%s/ocspstaple-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(G.work) == NULL)
        die("mkdtemp: %s", strerror(errno));
    snprintf(G.log, sizeof(G.log), "%s/log", G.work);
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)getpid());
    char p[PATH_MAX];
    mkdir(path_in(p, "cg"), 0755);

    bool want[6] = {false};
    for (const char *c = only; *c; c++)
        if (*c >= '1' && *c <= '5')
            want[*c - '0'] = true;
    double t_start = G.t0 = mono();
    int nscale = G.smoke ? 9 : want[2] || want[5] ? 9999 : 0, nseries = G.smoke ? 2 : 12;
    {
        char exe[PATH_MAX], ns[16], nr[16], out[OUT_MAX];
        snprintf(ns, sizeof(ns), "%d", nscale);
        snprintf(nr, sizeof(nr), "%d", nseries);
        char *gen[] = {prog(exe, "bench-gen"), G.work, ns, nr, NULL};
        progress("generating a CA, 2 leaves and %d responses in %s", nscale + nseries + 2, G.work);
        if (run(gen, NULL, NULL, out, sizeof(out)) != 0)
            die("bench-gen failed (see %s)", G.log);
    }
    char script[PATH_MAX];
    snprintf(script, sizeof(script), "%s/hundred.sh", G.bindir);
    if (access(script, R_OK) != 0)
        die("%s: %s", script, strerror(errno));

    if (want[1])
        bench1();
    if (want[2])
        bench2(nscale);
    if (want[3])
        bench3();
    if (want[5])
        bench5(nseries, nscale);
    if (want[4])
        bench4(script);
    if (!G.smoke) {
        if (want[1])
            bench1_callgrind_prepare();
        if (want[4])
            bench4_callgrind_prepare(script);
        if (want[5])
            bench5_callgrind_prepare(nseries);
        cg_run_all();
        if (want[3])
            bench3_callgrind();
        if (want[1])
            bench1_callgrind_report();
        if (want[4])
            bench4_callgrind_report();
        if (want[5])
            bench5_callgrind_report();
    }

    char m[512], date[64];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&now));
    machine(m, sizeof(m));
    printf("\nocspstaple benchmarks%s, %s, on %s (%.0f s)\n\n", G.smoke ? " (smoke run)" : "", date,
           m, mono() - t_start);
    printf("| # | measurement | result: median (min–max) | ratio: median [p25–p75] of paired "
           "runs | target | holds |\n| --- | --- | --- | --- | --- | --- |\n");
    for (int b = 1; b <= 5; b++)
        printf("%s", G.rows[b] ? G.rows[b] : "");
    if (G.failures > 0)
        printf("\n%d functional check(s) FAILED (see above)\n", G.failures);
    fflush(stdout);
    return G.failures > 0 ? 1 : 0;
}
