/*
 * snapshot.c - building, freeing and the binding table of snapshots (see snapshot.h).
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "ptrtable.h"

static _Atomic bool table_full; /* a binding found no room: the next publish makes more */

static void snapshot_free(struct snapshot *snap)
{
    if (snap == NULL)
        return;
    for (size_t i = 0; i < snap->count; i++) {
        for (int h = 0; h < HISTORY; h++)
            version_unref(snap->items[i].history[h]);
        source_unref((struct source *)snap->items[i].source);
    }
    for (size_t i = 0; snap->table != NULL && i <= snap->mask; i++)
        free(atomic_load_explicit(&snap->table[i], memory_order_relaxed));
    free(snap->table);
    free(snap->items);
    free(snap);
}

struct snapshot *snapshot_build(size_t slots)
{
    struct snapshot *snap = calloc(1, sizeof(*snap));
    size_t count = sources_count();
    if (snap == NULL)
        return NULL;
    snap->mask = slots - 1;
    snap->table = calloc(slots, sizeof(*snap->table));
    snap->items = calloc(count ? count : 1, sizeof(*snap->items));
    if (snap->table == NULL || snap->items == NULL) {
        snapshot_free(snap);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        struct source *src = sources_at(i);
        if (src->history[0] == NULL)
            continue;
        struct snap_item *it = &snap->items[snap->count++];
        it->source = src;
        source_ref(src);
        for (int h = 0; h < HISTORY; h++) {
            it->history[h] = src->history[h];
            version_ref(it->history[h]);
        }
    }
    return snap;
}

void snapshot_release(struct snapshot *snap)
{
    if (snap != NULL && atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(snap);
}

struct binding *snapshot_find(struct snapshot *snap, const unsigned char fp[20])
{
    for (size_t i = fingerprint_hash(fp) & snap->mask, n = 0; n <= snap->mask;
         i = (i + 1) & snap->mask, n++) {
        struct binding *b = atomic_load_explicit(&snap->table[i], memory_order_acquire);
        if (b == NULL)
            return NULL;
        if (memcmp(b->fp, fp, 20) == 0)
            return b;
    }
    return NULL;
}

bool snapshot_insert(struct snapshot *snap, struct binding *b)
{
    if (4 * (snap->used + 1) > 3 * (snap->mask + 1)) {
        atomic_store(&table_full, true);
        return false;
    }
    for (size_t i = fingerprint_hash(b->fp) & snap->mask;; i = (i + 1) & snap->mask) {
        if (atomic_load_explicit(&snap->table[i], memory_order_relaxed) == NULL) {
            atomic_store_explicit(&snap->table[i], b, memory_order_release);
            snap->used++;
            return true;
        }
    }
}

bool snapshot_table_full(void)
{
    return atomic_load(&table_full);
}

void snapshot_table_reset(void)
{
    atomic_store(&table_full, false);
}
