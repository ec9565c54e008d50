/*
 * file_state.c - file identities and settling (see file_state.h).
 */
#include "file_state.h"

struct file_id file_id_of(const struct stat *st)
{
    struct file_id id = {st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim};
    return id;
}

bool same_file(const struct file_id *a, const struct file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

uint64_t file_id_hash(const struct file_id *id)
{
    /* FNV-1a over the fields, each widened to 64 bits. */
    const uint64_t fields[] = {(uint64_t)id->dev,           (uint64_t)id->ino,
                               (uint64_t)id->size,          (uint64_t)id->mtime.tv_sec,
                               (uint64_t)id->mtime.tv_nsec, (uint64_t)id->ctime.tv_sec,
                               (uint64_t)id->ctime.tv_nsec};
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        for (int b = 0; b < 8; b++) {
            h ^= (fields[i] >> (8 * b)) & 0xff;
            h *= 1099511628211ULL;
        }
    return h;
}

bool settled(const struct timespec *mtime)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec - mtime->tv_sec > 1 ||
           (now.tv_sec - mtime->tv_sec == 1 && now.tv_nsec >= mtime->tv_nsec);
}
