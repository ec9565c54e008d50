/*
 * ptrtable.c - open-addressing hash tables of pointers (see ptrtable.h).
 */
#include "ptrtable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ptrtable_put(struct ptrtable *t, void *item, size_t hash)
{
    size_t i = hash & t->mask;
    while (t->slots[i] != NULL)
        i = (i + 1) & t->mask;
    t->slots[i] = item;
    t->used++;
}

bool ptrtable_reserve(struct ptrtable *t, ptrtable_hash_fn hash)
{
    if (t->slots != NULL && 2 * (t->used + 1) <= t->mask + 1)
        return true;
    size_t old_size = t->slots != NULL ? t->mask + 1 : 0, size = old_size ? 2 * old_size : 16;
    void **old = t->slots, **slots = calloc(size, sizeof(void *));
    if (slots == NULL)
        return false;
    t->slots = slots;
    t->mask = size - 1;
    t->used = 0;
    for (size_t i = 0; i < old_size; i++)
        if (old[i] != NULL)
            ptrtable_put(t, old[i], hash(old[i]));
    free(old);
    return true;
}

void ptrtable_filter(struct ptrtable *t, bool (*keep)(const void *item), ptrtable_hash_fn hash)
{
    size_t size = t->slots != NULL ? t->mask + 1 : 0, n = 0;
    /* Compact the kept items to the front, then put them back by their hash. */
    for (size_t i = 0; i < size; i++) {
        void *item = t->slots[i];
        t->slots[i] = NULL;
        if (item != NULL && keep(item))
            t->slots[n++] = item;
    }
    t->used = 0;
    for (size_t k = 0; k < n; k++) {
        void *item = t->slots[k];
        t->slots[k] = NULL;
        ptrtable_put(t, item, hash(item));
    }
}

size_t fingerprint_hash(const unsigned char fp[20])
{
    uint64_t h;
    memcpy(&h, fp, sizeof(h));
    return (size_t)h;
}
