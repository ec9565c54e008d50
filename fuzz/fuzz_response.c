/*
 * fuzz_response.c - libFuzzer target: load and validate one OCSP response, as the shim and
 * `ocspstaple check` do.
 *
 * The input is the content of a response file. It goes through response_file_read (from a
 * memfd, as a file), response_parse, and, when it parses, response_mentions_serial,
 * entry_find_issuer (the issuer from inside the response, as for response_dir) and
 * response_validate against two fixed certificates of the fixture CA, with verify on and off,
 * serve_revoked on and off, at the current time and at the response's own time boundaries;
 * describe_cert, cert_fingerprint, verdict_name and verdict_stapleable on every result.
 * Invariants that must hold whatever the bytes are checked with abort().
 *
 * The certificates are not committed: LLVMFuzzerInitialize loads them from the directory
 * named by $OCSPSTAPLE_FUZZ_FIXTURES (tests/helpers/mkfixtures.sh output; `make fuzz-run`
 * generates it into build/fuzz/fixtures).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "files.h"
#include "log.h"
#include "validate.h"

#include "fuzz_target.h"

/* One leaf and its issuer; `other` issued by another CA (so never the issuer of the leaves). */
static X509 *leaves[2], *ca, *other_ca;
static struct fuzz_file input;

static X509 *load_cert(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (x == NULL) {
        fprintf(stderr,
                "fuzz_response: cannot load %s: set OCSPSTAPLE_FUZZ_FIXTURES to a directory made "
                "by tests/helpers/mkfixtures.sh (make fuzz-run does)\n",
                path);
        exit(1);
    }
    return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("OCSPSTAPLE_FUZZ_FIXTURES");
    if (dir == NULL || dir[0] == '\0')
        dir = "build/fuzz/fixtures";
    leaves[0] = load_cert(dir, "rsa.pem");
    leaves[1] = load_cert(dir, "ec.pem");
    ca = load_cert(dir, "ca.pem");
    other_ca = load_cert(dir, "ca2.pem");
    log_set_capture(fuzz_log_checked, NULL);
    log_configure(LOG_LEVEL_ERROR, LOG_TARGET_STDERR);
    fuzz_file_open(&input, "fuzz_response");
    return 0;
}

static void check_facts(const struct response_facts *f)
{
    CHECK(f->verdict >= VERDICT_GOOD && f->verdict <= VERDICT_UNREADABLE);
    CHECK(memchr(f->reason, '\0', sizeof(f->reason)) != NULL);
    CHECK(strcmp(verdict_name(f->verdict), "invalid") != 0);
}

/* load_as_file - the input through response_file_read, the function the shim and the command
 * read response files with: it must return exactly the bytes written. */
static void load_as_file(const uint8_t *data, size_t size)
{
    char why[256];
    size_t len = 0;

    fuzz_file_write(&input, data, size);
    unsigned char *got = response_file_read(AT_FDCWD, input.path, &len, why, sizeof(why));
    if (size > RESPONSE_MAX_BYTES) {
        CHECK(got == NULL);
        return;
    }
    CHECK(got != NULL);
    CHECK(len == size && (size == 0 || memcmp(got, data, size) == 0));
    OPENSSL_free(got);
}

static void describe_all(OCSP_BASICRESP *basic)
{
    char buf[256];
    unsigned char md[20];
    const STACK_OF(X509) *certs = OCSP_resp_get0_certs(basic);
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        describe_cert(x, buf, sizeof(buf));
        CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
        (void)cert_fingerprint(x, md);
    }
    X509 *signer = NULL;
    STACK_OF(X509) *extra = sk_X509_new_null();
    if (extra != NULL && sk_X509_push(extra, ca) &&
        OCSP_resp_get0_signer(basic, &signer, extra) == 1 && signer != NULL)
        describe_cert(signer, buf, sizeof(buf));
    sk_X509_free(extra);
    describe_cert(NULL, buf, sizeof(buf));
    ERR_clear_error();
}

/* validate_at - response_validate under the four policies at `now`, with the invariants that
 * tie them together. */
static void validate_at(OCSP_BASICRESP *basic, X509 *leaf, X509 *issuer, time_t now, bool mentions)
{
    struct response_facts strict, lax;
    struct validation_policy p = {.verify = true, .skew = 300, .serve_revoked = false};

    enum verdict v = response_validate(basic, leaf, issuer, &p, now, &strict);
    CHECK(v == strict.verdict);
    check_facts(&strict);
    p.verify = false;
    response_validate(basic, leaf, issuer, &p, now, &lax);
    check_facts(&lax);
    p.serve_revoked = true;
    (void)verdict_stapleable(lax.verdict, &p);

    /* Not checking the signature never makes a response less stapleable. */
    if (strict.verdict == VERDICT_GOOD || strict.verdict == VERDICT_REVOKED)
        CHECK(lax.verdict == strict.verdict);
    CHECK(lax.verdict != VERDICT_BAD_SIGNATURE);
    /* A CertID for this certificate names its serial. */
    if (lax.verdict != VERDICT_WRONG_CERTIFICATE && lax.verdict != VERDICT_NO_ISSUER)
        CHECK(mentions);
    /* What is stapleable is inside its window and says good (or revoked). */
    for (int i = 0; i < 2; i++) {
        const struct response_facts *f = i ? &lax : &strict;
        if (f->verdict == VERDICT_GOOD) {
            CHECK(f->cert_status == V_OCSP_CERTSTATUS_GOOD);
            CHECK(f->this_update != 0 && f->this_update <= now + 300);
            CHECK(f->next_update > now && f->next_update >= f->this_update);
        }
        if (f->verdict == VERDICT_REVOKED)
            CHECK(f->cert_status == V_OCSP_CERTSTATUS_REVOKED && f->next_update > now);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct response_facts facts;

    load_as_file(data, size);
    OCSP_BASICRESP *basic = response_parse(data, size, &facts);
    check_facts(&facts);
    if (basic == NULL) {
        CHECK(facts.verdict == VERDICT_MALFORMED || facts.verdict == VERDICT_NOT_SUCCESSFUL);
        CHECK(facts.reason[0] != '\0');
        return 0;
    }
    CHECK(ERR_peek_error() == 0);
    describe_all(basic);

    time_t now = time(NULL);
    for (int i = 0; i < 2; i++) {
        X509 *leaf = leaves[i];
        bool mentions = response_mentions_serial(basic, X509_get0_serialNumber(leaf));

        /* No issuer: always "no issuer", never stapleable. */
        struct validation_policy p = {.verify = true, .skew = 300};
        CHECK(response_validate(basic, leaf, NULL, &p, now, &facts) == VERDICT_NO_ISSUER);

        validate_at(basic, leaf, ca, now, mentions);
        /* At the response's own boundaries: never good at or after nextUpdate. */
        response_validate(basic, leaf, ca, &p, now, &facts);
        time_t this_update = facts.this_update, next_update = facts.next_update;
        if (this_update > 0 && this_update < (time_t)1 << 40)
            validate_at(basic, leaf, ca, this_update, mentions);
        if (next_update > 0 && next_update < (time_t)1 << 40) {
            p.verify = false;
            response_validate(basic, leaf, ca, &p, next_update, &facts);
            CHECK(facts.verdict != VERDICT_GOOD && facts.verdict != VERDICT_REVOKED);
        }

        /* The wrong issuer never validates a response when the signature is checked. */
        p.verify = true;
        response_validate(basic, leaf, other_ca, &p, now, &facts);
        check_facts(&facts);
        CHECK(facts.verdict != VERDICT_GOOD && facts.verdict != VERDICT_REVOKED);

        /* The issuer as found for a response_dir file: among the response's certificates. */
        X509 *issuer = entry_find_issuer(leaf, NULL, NULL, basic);
        if (issuer != NULL)
            validate_at(basic, leaf, issuer, now, mentions);
    }
    OCSP_BASICRESP_free(basic);
    CHECK(ERR_peek_error() == 0);
    return 0;
}
