/*
 * version.c - the immutable versions of a response file's content (see version.h).
 */
#include "version.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/ocsp.h>

#include "hash.h"

void version_ref(struct version *v)
{
    if (v != NULL)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void version_unref(struct version *v)
{
    if (v == NULL || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    OPENSSL_free(v->der);
    free(v);
}

struct version *version_new(unsigned char *der, size_t len, struct response_facts *facts)
{
    OCSP_BASICRESP *basic = response_parse(der, len, facts);
    if (basic == NULL) {
        OPENSSL_free(der);
        return NULL;
    }
    int n = OCSP_resp_count(basic);
    struct version *v = calloc(1, sizeof(*v) + (size_t)(n > 0 ? n : 0) * sizeof(v->serials[0]));
    if (v == NULL) {
        OCSP_BASICRESP_free(basic);
        OPENSSL_free(der);
        snprintf(facts->reason, sizeof(facts->reason), "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        OCSP_CERTID *cid = (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(OCSP_resp_get0(basic, i));
        ASN1_INTEGER *serial = NULL;
        if (cid != NULL && OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid))
            v->serials[v->serial_count++] = serial_hash(serial);
    }
    atomic_init(&v->refs, 1);
    atomic_flag_clear(&v->verdict_logged);
    atomic_flag_clear(&v->good_logged);
    v->der = der;
    v->len = len;
    response_first_times(basic, NULL, &v->next_update);
    OCSP_BASICRESP_free(basic);
    return v;
}

bool version_mentions(const struct version *v, uint64_t serial)
{
    for (size_t i = 0; i < v->serial_count; i++)
        if (v->serials[i] == serial)
            return true;
    return false;
}
