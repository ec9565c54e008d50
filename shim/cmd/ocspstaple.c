/*
 * ocspstaple.c - the ocspstaple command: `check` reports what the shim will staple (or, with
 * --connect, what a running server staples), `fetch` keeps the responses fresh. Both read the
 * shim's configuration with the shim's own code. `enable` and `disable` give a systemd
 * service the shim, or take it away (enable.c).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_connect.h"
#include "render.h"
#include "config.h"
#include "enable.h"
#include "fetch.h"
#include "install_paths.h"
#include "log.h"
#include "net.h"
#include "release.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ocspstaple check [-c FILE] [--format text|json|prometheus] [--warn SECONDS]\n"
            "       ocspstaple check --connect HOST:PORT [--starttls smtp|imap|pop3|ftp]\n"
            "                        [--servername NAME] [--timeout SECONDS] [-c FILE]\n"
            "                        [--format text|json|prometheus] [--warn SECONDS]\n"
            "       ocspstaple fetch [-c FILE] [--force] [--dry-run]\n"
            "       ocspstaple enable|disable SERVICE [--dry-run] [-c FILE] [--shim PATH]\n"
            "                        [--root DIR] [--postfix-config DIR]\n"
            "                        [--dovecot-config FILE]\n"
            "       ocspstaple --version\n"
            "\n"
            "  -c, --config FILE  configuration (default: $OCSPSTAPLE_CONF, else %s)\n"
            "check: what the shim would staple, per certificate; exit 0 ok, 1 warning,\n"
            "       2 critical, 3 unknown (monitoring-plugin convention)\n"
            "  --format FORMAT    text (default), json, or prometheus (textfile collector)\n"
            "  --warn SECONDS     warn when a nextUpdate is closer (default: a quarter of\n"
            "                     the response's validity window)\n"
            "  --connect HOST:PORT  probe a running server instead ([ADDRESS]:PORT for IPv6):\n"
            "                     handshake asking for status, judge its staple for the\n"
            "                     certificate served; no staple, or no connection, is critical\n"
            "  --starttls PROTO   smtp, imap, pop3 or ftp (AUTH TLS) before the handshake\n"
            "  --servername NAME  SNI to send (default: HOST, unless it is an address)\n"
            "  --timeout SECONDS  for the whole probe (default: fetch_timeout, 10)\n"
            "                     (the configuration is optional with --connect: its verify,\n"
            "                     skew and issuers apply when there is one)\n"
            "fetch: refresh responses from their OCSP responders; exit 0 all fresh, 1 some\n"
            "       fetch failed (responses still stapleable), 2 some certificate has no\n"
            "       stapleable response, 3 configuration unreadable\n"
            "  --force            fetch even when the current response is fresh\n"
            "  --dry-run          ask and check, print what would be written, write nothing\n"
            "enable: give SERVICE (postfix, dovecot, stunnel@NAME, nginx, any systemd\n"
            "       service) the shim: a drop-in for its unit, and for Postfix and Dovecot\n"
            "       the shim added to their import_environment; prints each change and the\n"
            "       command that applies it. disable undoes exactly that. Exit 0 done (or\n"
            "       nothing to do), 1 refused (nothing changed)\n"
            "  --dry-run          print what would change, change nothing\n"
            "  -c FILE            the configuration the service's shim reads (named in the\n"
            "                     service's environment unless it is %s)\n"
            "  --shim PATH        the shim to preload (default: %s)\n"
            "  --root DIR         where /etc, /lib and /var/lib are (default: /)\n"
            "  --postfix-config DIR   main.cf's directory (default: ROOT/etc/postfix)\n"
            "  --dovecot-config FILE  dovecot.conf (default: ROOT/etc/dovecot/dovecot.conf)\n",
            OCSPSTAPLE_DEFAULT_CONF, OCSPSTAPLE_DEFAULT_CONF, install_shim_path());
}

/* seconds_arg - a non-negative number of seconds, or -1 (said on stderr). */
static long seconds_arg(const char *option, const char *arg)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "ocspstaple: %s takes a number of seconds\n", option);
        return -1;
    }
    return v;
}

static int run_check(const char *conf, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"warn", required_argument, NULL, 'w'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"connect", required_argument, NULL, 'C'},
                                         {"starttls", required_argument, NULL, 'S'},
                                         {"servername", required_argument, NULL, 'N'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "text";
    struct connect_options probe = {.timeout = -1};
    long warn = -1;
    int c;

    while ((c = getopt_long(argc, argv, "c:f:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            probe.config_required = true;
            break;
        case 'C':
            probe.target = optarg;
            break;
        case 'S':
            if (starttls_parse(optarg, &probe.starttls) != 0) {
                fprintf(stderr, "ocspstaple: --starttls must be smtp, imap, pop3 or ftp\n");
                return 3;
            }
            break;
        case 'N':
            probe.servername = optarg;
            break;
        case 'T':
            if ((probe.timeout = seconds_arg("--timeout", optarg)) < 0)
                return 3;
            if (probe.timeout == 0) {
                fprintf(stderr, "ocspstaple: --timeout takes at least 1 second\n");
                return 3;
            }
            break;
        case 'f':
            format = optarg;
            break;
        case 'w':
            if ((warn = seconds_arg("--warn", optarg)) < 0)
                return 3;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 3;
        }
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
        strcmp(format, "prometheus") != 0) {
        fprintf(stderr, "ocspstaple: --format must be text, json or prometheus\n");
        return 3;
    }
    if (optind < argc) {
        fprintf(stderr, "ocspstaple: unexpected argument '%s'\n", argv[optind]);
        return 3;
    }
    if (probe.target == NULL &&
        (probe.starttls != STARTTLS_NONE || probe.servername != NULL || probe.timeout >= 0)) {
        fprintf(stderr, "ocspstaple: --starttls, --servername and --timeout go with --connect\n");
        return 3;
    }
    struct check_report report;
    struct endpoint ep;
    char why[300];
    int rc;
    if (probe.target != NULL) {
        if (endpoint_parse(probe.target, &ep, why, sizeof(why)) != 0) {
            fprintf(stderr, "ocspstaple: --connect %s\n", why);
            return 3;
        }
        probe.config_path = conf;
        probe.warn_seconds = warn;
        rc = check_connect_run(&probe, &report);
    } else {
        rc = check_run(conf, warn, &report);
    }
    if (strcmp(format, "json") == 0)
        report_json(&report, stdout);
    else if (strcmp(format, "prometheus") == 0)
        report_prometheus(&report, stdout);
    else
        report_text(&report, stdout);
    report_free(&report);
    if (fflush(stdout) != 0)
        return 3;
    return rc;
}

static int run_fetch(const char *conf, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'F'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct fetch_options opt = {false, false};
    int c;

    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 'F':
            opt.force = true;
            break;
        case 'n':
            opt.dry_run = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 3;
        }
    }
    return fetch_run(conf, &opt);
}

static int run_enable(const char *conf, bool disable, int argc, char **argv)
{
    static const struct option opts[] = {{"dry-run", no_argument, NULL, 'n'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"shim", required_argument, NULL, 's'},
                                         {"root", required_argument, NULL, 'r'},
                                         {"postfix-config", required_argument, NULL, 'P'},
                                         {"dovecot-config", required_argument, NULL, 'D'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct enable_options opt = {.root = "/", .shim = install_shim_path(), .config = conf};
    int c;

    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            opt.dry_run = true;
            break;
        case 'c':
            opt.config = optarg;
            break;
        case 's':
            opt.shim = optarg;
            break;
        case 'r':
            opt.root = optarg;
            break;
        case 'P':
            opt.postfix_config = optarg;
            break;
        case 'D':
            opt.dovecot_config = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 3;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "ocspstaple: %s takes one SERVICE\n", disable ? "disable" : "enable");
        return 3;
    }
    if (opt.root[0] != '/') {
        fprintf(stderr, "ocspstaple: --root takes an absolute path\n");
        return 3;
    }
    opt.service = argv[optind];
    int rc = disable ? disable_run(&opt) : enable_run(&opt);
    if (fflush(stdout) != 0)
        return 1;
    return rc;
}

int main(int argc, char **argv)
{
    /* Messages go to stderr unless the environment asks for syslog (a timer unit's journal
     * gets stderr anyway). */
    setenv("OCSPSTAPLE_LOG_TARGET", "stderr", 0);
    log_configure(LOG_LEVEL_INFO, LOG_TARGET_STDERR);
    if (argc < 2) {
        usage(stderr);
        return 3;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ocspstaple %s\n", OCSPSTAPLE_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    const char *conf = config_path();
    if (strcmp(argv[1], "check") == 0)
        return run_check(conf, argc - 1, argv + 1);
    if (strcmp(argv[1], "fetch") == 0)
        return run_fetch(conf, argc - 1, argv + 1);
    if (strcmp(argv[1], "enable") == 0 || strcmp(argv[1], "disable") == 0)
        return run_enable(conf, argv[1][0] == 'd', argc - 1, argv + 1);
    fprintf(stderr, "ocspstaple: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 3;
}
