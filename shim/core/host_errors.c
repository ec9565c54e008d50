/*
 * host_errors.c - keeping the host's OpenSSL error queue across the core's work (see
 * host_errors.h).
 */
#include "host_errors.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

void host_errors_save(struct host_errors *saved)
{
    const char *file = NULL, *func = NULL, *data = NULL;
    int line = 0, flags = 0;
    unsigned long code;

    saved->count = 0;
    if (ERR_peek_error() == 0)
        return;
    while ((code = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
        if (saved->count == HOST_ERRORS_MAX)
            continue; /* more than the queue holds: cannot happen, kept bounded anyway */
        struct saved_error *e = &saved->e[saved->count++];
        e->code = code;
        e->line = line;
        snprintf(e->file, sizeof(e->file), "%s", file ? file : "");
        snprintf(e->func, sizeof(e->func), "%s", func ? func : "");
        e->has_data = data != NULL && (flags & ERR_TXT_STRING) != 0;
        snprintf(e->data, sizeof(e->data), "%s", e->has_data ? data : "");
    }
}

void host_errors_restore(const struct host_errors *saved)
{
    ERR_clear_error();
    for (size_t i = 0; i < saved->count; i++) {
        const struct saved_error *e = &saved->e[i];
        ERR_new();
        ERR_set_debug(e->file[0] ? e->file : NULL, e->line, e->func[0] ? e->func : NULL);
        if (e->has_data)
            ERR_set_error(ERR_GET_LIB(e->code), ERR_GET_REASON(e->code), "%s", e->data);
        else
            ERR_set_error(ERR_GET_LIB(e->code), ERR_GET_REASON(e->code), NULL);
    }
}
