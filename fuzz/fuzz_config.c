/*
 * fuzz_config.c - libFuzzer target: read the input as an ocspstaple configuration file with
 * config_load, the parser shared by the shim and the ocspstaple command, then config_free.
 *
 * config_load needs a path: the input is written to a memfd (mode 0600, since world-writable
 * configurations are refused) and loaded as /proc/self/fd/N. Besides the sanitizers, the
 * target checks what config_load promises: a file libconfig cannot parse yields -1 and bare
 * defaults; otherwise every value is in its documented range, every kept entry is complete,
 * every rejected setting was logged exactly once (the problems count agrees with the log),
 * every skipped `staples` group had a problem, and kept + skipped entries add up to the length
 * of the `staples` list as libconfig itself sees it. A kept pattern entry keeps the pattern
 * rules (cert_pattern.h) and makes a concrete entry; a kept plain entry has no `*` where only a
 * pattern may have one; every kept entry copies whole (staple_entry_copy).
 */
#include <fcntl.h>
#include <libconfig.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert_pattern.h"
#include "config.h"
#include "staple_entry.h"
#include "log.h"

#include "fuzz_target.h"

static struct fuzz_file input;

/* What config_load logged for the current input. */
static struct {
    unsigned problems; /* "setting '...'" lines: one per problem() */
    unsigned skipped;  /* "staples entry skipped" lines */
    unsigned other_errors;
} seen;

static void count_log(enum log_level level, const char *text, void *arg)
{
    (void)arg;
    CHECK(text != NULL && memchr(text, '\0', 2048) != NULL);
    if (level != LOG_LEVEL_ERROR)
        return;
    if (strstr(text, ": setting '") != NULL)
        seen.problems++;
    else if (strstr(text, ": staples entry skipped") != NULL)
        seen.skipped++;
    else
        seen.other_errors++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* OCSPSTAPLE_LOG_TARGET would override the target; messages are captured anyway. */
    unsetenv("OCSPSTAPLE_LOG_TARGET");
    log_set_capture(count_log, NULL);
    log_configure(LOG_LEVEL_ERROR, LOG_TARGET_STDERR);
    fuzz_file_open(&input, "fuzz_config");
    return 0;
}

static int valid_sni(const char *p)
{
    size_t len = strlen(p);
    if (len == 0 || len > 253)
        return 0;
    if (p[0] == '*') {
        if (p[1] != '.' || p[2] == '\0')
            return 0;
        p += 2;
    }
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
              *p == '_'))
            return 0; /* kept names are lowercased */
    return 1;
}

static void check_path(const char *s)
{
    CHECK(s != NULL && s[0] != '\0' && strlen(s) < 4096);
}

static size_t stars(const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s; s++)
        n += *s == '*';
    return n;
}

/* check_pattern_rules - what config_load promises about `*` in a kept entry. */
static void check_pattern_rules(const struct staple_entry *e)
{
    struct staple_entry made, copy;
    struct cert_pattern p;
    const char *why;

    CHECK(e->from_pattern == NULL);
    CHECK(e->is_pattern == (stars(e->certificate) > 0));
    if (!e->is_pattern) {
        CHECK(stars(e->response) == 0 && stars(e->issuer) == 0);
    } else {
        CHECK(stars(e->certificate) == 1 && stars(e->response) == 1 && stars(e->issuer) <= 1);
        CHECK(strchr(strchr(e->response, '*'), '/') == NULL);
        CHECK(cert_pattern_parse(e->certificate, &p, &why) == 0);
        CHECK(p.dir[0] != '\0' && p.head[0] != '.' && strchr(p.tail, '/') == NULL);
        cert_pattern_free(&p);
        CHECK(cert_pattern_entry_make(e, "x", &made) == 0);
        CHECK(!made.is_pattern && stars(made.certificate) == 0 && stars(made.response) == 0);
        CHECK(strcmp(made.from_pattern, e->certificate) == 0 && made.line == e->line);
        staple_entry_free(&made);
    }
    CHECK(staple_entry_copy(e, &copy) == 0);
    CHECK(strcmp(copy.response, e->response) == 0 && copy.sni_count == e->sni_count);
    staple_entry_free(&copy);
}

/* staples_length - the number of `staples` groups config_load had to judge, by libconfig
 * itself: -1 when the file does not parse. */
static int staples_length(int *parsed)
{
    config_t lc;
    int n = 0;

    config_init(&lc);
    *parsed = config_read_file(&lc, input.path) == CONFIG_TRUE;
    if (*parsed) {
        config_setting_t *s = config_setting_get_member(config_root_setting(&lc), "staples");
        if (s != NULL && (config_setting_type(s) == CONFIG_TYPE_LIST ||
                          config_setting_type(s) == CONFIG_TYPE_ARRAY))
            n = config_setting_length(s);
    }
    config_destroy(&lc);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;

    fuzz_file_write(&input, data, size);

    memset(&seen, 0, sizeof(seen));
    log_configure(LOG_LEVEL_ERROR, LOG_TARGET_STDERR);
    int rc = config_load(input.path, &cfg);
    int parsed;
    int groups = staples_length(&parsed);

    CHECK(cfg.path != NULL && strcmp(cfg.path, input.path) == 0);
    if (rc != 0) {
        /* Not parsed at all: defaults and no entries, and one error line saying so. */
        CHECK(!parsed);
        CHECK(cfg.entry_count == 0 && cfg.entries == NULL && cfg.response_dir == NULL);
        CHECK(cfg.problems == 0 && cfg.skipped_entries == 0);
        CHECK(cfg.verify && cfg.skew == 300 && !cfg.serve_revoked && cfg.fetch_timeout == 10);
        CHECK(seen.problems == 0 && seen.skipped == 0 && seen.other_errors == 1);
    } else {
        CHECK(parsed);
        CHECK(cfg.log_level >= LOG_LEVEL_ERROR && cfg.log_level <= LOG_LEVEL_DEBUG);
        CHECK(cfg.log_target == LOG_TARGET_SYSLOG || cfg.log_target == LOG_TARGET_STDERR);
        CHECK(cfg.skew >= 0 && cfg.skew <= 604800);
        CHECK(cfg.fetch_timeout >= 1 && cfg.fetch_timeout <= 600);
        if (cfg.response_dir != NULL)
            check_path(cfg.response_dir);
        /* Counts agree with the log, and every skipped entry had at least one problem. */
        CHECK(seen.problems == cfg.problems);
        CHECK(seen.other_errors == 0);
        /* Every skipped group gets its own "staples entry skipped" line. */
        CHECK(seen.skipped == cfg.skipped_entries);
        CHECK(cfg.skipped_entries <= cfg.problems);
        CHECK(cfg.entry_count + cfg.skipped_entries == (size_t)groups);
        CHECK((cfg.entries == NULL) == (groups == 0));
        for (size_t i = 0; i < cfg.entry_count; i++) {
            const struct staple_entry *e = &cfg.entries[i];
            check_path(e->response);
            if (e->certificate)
                check_path(e->certificate);
            if (e->issuer)
                check_path(e->issuer);
            if (e->responder) {
                check_path(e->responder);
                CHECK(strncmp(e->responder, "http://", 7) == 0);
            }
            CHECK((e->sni == NULL) == (e->sni_count == 0));
            for (size_t j = 0; j < e->sni_count; j++)
                CHECK(valid_sni(e->sni[j]));
            CHECK(e->line >= 0);
            check_pattern_rules(e);
        }
    }
    config_free(&cfg);
    CHECK(cfg.path == NULL && cfg.entries == NULL && cfg.entry_count == 0 && cfg.problems == 0);
    return 0;
}
