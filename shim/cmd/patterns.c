/*
 * patterns.c - pattern entries expanded for the command (see patterns.h). The matching and
 * the making of entries are cert_pattern.c's, shared with the shim's core; only the opening of
 * the directory by path, and what is said about the result, are the command's.
 */
#include "patterns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert_pattern.h"
#include "log.h"
#include "staple_entry.h"

/* expand_one - the concrete entries of pattern entry `e` into *out (*count of them); logged. */
static void expand_one(struct config *cfg, const struct staple_entry *e, struct staple_entry **out,
                       size_t *count)
{
    struct cert_pattern p;
    const char *rule;
    char why[512];

    *out = NULL;
    *count = 0;
    if (cert_pattern_parse(e->certificate, &p, &rule) != 0) {
        log_error("%s:%d: pattern %s: %s", cfg->path, e->line, e->certificate, rule);
        cfg->skipped_entries++;
        return;
    }
    int fd = open(p.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        log_warning("%s:%d: pattern %s matches no certificate (%s does not exist)", cfg->path,
                    e->line, e->certificate, p.dir);
    } else if (fd < 0) {
        log_error("%s:%d: pattern %s: cannot list %s: %s", cfg->path, e->line, e->certificate,
                  p.dir, strerror(errno));
        cfg->skipped_entries++;
    } else if (cert_pattern_expand(fd, e, out, count, why, sizeof(why)) != 0) {
        log_error("%s:%d: pattern %s: %s", cfg->path, e->line, e->certificate, why);
        cfg->skipped_entries++;
    } else if (*count == 0) {
        log_warning("%s:%d: pattern %s matches no certificate", cfg->path, e->line, e->certificate);
    } else {
        log_debug("%s:%d: pattern %s matches %zu certificate(s)", cfg->path, e->line,
                  e->certificate, *count);
    }
    if (fd >= 0)
        close(fd);
    cert_pattern_free(&p);
}

void patterns_expand(struct config *cfg)
{
    struct staple_entry *all = NULL;
    size_t n = 0;

    for (size_t i = 0; i < cfg->entry_count; i++) {
        struct staple_entry *e = &cfg->entries[i], *made = e;
        size_t count = 1;
        if (e->is_pattern)
            expand_one(cfg, e, &made, &count);
        struct staple_entry *grown = NULL;
        if (count > 0 && (grown = realloc(all, (n + count) * sizeof(*grown))) == NULL) {
            log_error("%s:%d: out of memory; entry skipped", cfg->path, e->line);
            cfg->skipped_entries++;
            for (size_t k = 0; k < count; k++)
                staple_entry_free(&made[k]);
        } else if (count > 0) {
            all = grown;
            memcpy(&all[n], made, count * sizeof(*made)); /* the strings move with the structs */
            n += count;
        }
        if (made != e) {
            free(made);
            staple_entry_free(e);
        } else {
            memset(e, 0, sizeof(*e)); /* moved into `all`, or freed above */
        }
    }
    free(cfg->entries);
    cfg->entries = all;
    cfg->entry_count = n;
}
