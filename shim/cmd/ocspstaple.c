/*
 * ocspstaple.c - the ocspstaple command: `check` reports what the shim will staple, `fetch`
 * keeps the responses fresh. Both read the shim's configuration with the shim's own code.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "render.h"
#include "config.h"
#include "fetch.h"
#include "log.h"
#include "release.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ocspstaple check [-c FILE] [--format text|json|prometheus] [--warn SECONDS]\n"
            "       ocspstaple fetch [-c FILE] [--force] [--dry-run]\n"
            "       ocspstaple --version\n"
            "\n"
            "  -c, --config FILE  configuration (default: $OCSPSTAPLE_CONF, else %s)\n"
            "check: what the shim would staple, per certificate; exit 0 ok, 1 warning,\n"
            "       2 critical, 3 unknown (monitoring-plugin convention)\n"
            "  --format FORMAT    text (default), json, or prometheus (textfile collector)\n"
            "  --warn SECONDS     warn when a nextUpdate is closer (default: a quarter of\n"
            "                     the response's validity window)\n"
            "fetch: refresh responses from their OCSP responders; exit 0 all fresh, 1 some\n"
            "       fetch failed (responses still stapleable), 2 some certificate has no\n"
            "       stapleable response, 3 configuration unreadable\n"
            "  --force            fetch even when the current response is fresh\n"
            "  --dry-run          ask and check, print what would be written, write nothing\n",
            OCSPSTAPLE_DEFAULT_CONF);
}

static int run_check(const char *conf, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"warn", required_argument, NULL, 'w'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "text";
    long warn = -1;
    int c;
    char *end;

    while ((c = getopt_long(argc, argv, "c:f:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'w':
            warn = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || warn < 0) {
                fprintf(stderr, "ocspstaple: --warn takes a number of seconds\n");
                return 3;
            }
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
    struct check_report report;
    int rc = check_run(conf, warn, &report);
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
    fprintf(stderr, "ocspstaple: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 3;
}
